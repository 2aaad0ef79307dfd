package org.deepkern.backend;

import org.deepkern.Library;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.bindings.DeepKern;
import org.deepkern.ops.MatmulSpec;
import org.deepkern.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

class BackendSelectionTest {
    @Test
    void allFourBackendsAreDiscovered() {
        assertEquals(List.of("java", "native", "onednn", "cuda"), Backends.all().stream().map(Backend::name).toList());
        assertTrue(Backends.get("java").isAvailable());
        assertTrue(Backends.get("native").isAvailable(), Backends.get("native").availability().describe());
        assertTrue(Backends.get("onednn").isAvailable(), Backends.get("onednn").availability().describe());
        Availability cuda = Backends.get("cuda").availability();
        if (!cuda.available()) assertFalse(cuda.reason().isBlank(), "an unavailable backend says why");
    }

    @Test
    void defaultComesFromTheSystemProperty() {
        String saved = System.getProperty(Backends.PROPERTY);
        try {
            System.clearProperty(Backends.PROPERTY);
            assertEquals("native", Backends.defaultBackend().name());
            System.setProperty(Backends.PROPERTY, "onednn");
            assertEquals("onednn", Backends.current().name());
            System.setProperty(Backends.PROPERTY, "nope");
            assertThrows(IllegalArgumentException.class, Backends::current);
        } finally {
            if (saved == null) System.clearProperty(Backends.PROPERTY);
            else System.setProperty(Backends.PROPERTY, saved);
        }
    }

    @Test
    void perThreadSelectionNestsAndIsRestored() throws Exception {
        Backend before = Backends.current();
        try (Backends.Selection outer = Backends.use("java")) {
            assertEquals("java", Backends.current().name());
            try (Backends.Selection inner = Backends.use("onednn")) {
                assertEquals("onednn", Backends.current().name());
                // other threads are not affected
                ExecutorService ex = Executors.newSingleThreadExecutor();
                assertEquals(before.name(), ex.submit(() -> Backends.current().name()).get());
                ex.shutdown();
            }
            assertEquals("java", Backends.current().name());
        }
        assertEquals(before, Backends.current());
    }

    @Test
    void perCallAndPerThreadSelectionRunTheChosenImplementation() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.rand(1, 8, 8), b = Tensor.rand(2, 8, 8), c = Tensor.zeros(8, 8);
            assertEquals("onednn", Backends.get("onednn").matmulImplementation(MatmulSpec.of(Backends.get("onednn"), c, a, b, 1, 0)));
            // native runs the hand-written GEMM's microkernel for this CPU, e.g. sgemm_avx512_12x32
            assertEquals("sgemm_" + org.deepkern.Library.cpuIsa() + "_",
                    Backends.get("native").matmulImplementation(MatmulSpec.of(Backends.get("native"), c, a, b, 1, 0))
                            .replaceAll("[0-9]+x[0-9]+$", ""));
            try (Backends.Selection s = Backends.use("java")) {
                assertArrayEquals(Ops.matmul(a, b, Backends.get("native")).toArray(), Ops.matmul(a, b).toArray(), 1e-5f);
            }
        }
    }

    @Test
    void threadBudgetIsValidatedAndSharedByConcurrentCallers() throws Exception {
        int saved = Library.threads();
        assertTrue(saved >= 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Library.setThreads(0));
        assertTrue(e.getMessage().contains("threads must be >= 1"), e.getMessage());
        try {
            Library.setThreads(2);
            DeepKern.dk_reset_peak_threads_in_use();
            ExecutorService pool = Executors.newFixedThreadPool(6);
            List<Future<float[]>> results = new ArrayList<>();
            for (int t = 0; t < 12; ++t) {
                String backend = t % 2 == 0 ? "native" : "onednn";
                results.add(pool.submit(() -> {
                    try (TensorScope scope = TensorScope.open()) {
                        Tensor a = Tensor.zeros(96, 96).fill(1), b = Tensor.zeros(96, 96).fill(1);
                        float[] last = null;
                        for (int r = 0; r < 10; ++r) last = Ops.matmul(a, b, Backends.get(backend)).toArray();
                        return last;
                    }
                }));
            }
            for (Future<float[]> f : results) assertEquals(96.0f, f.get()[96 * 96 - 1]);
            pool.shutdown();
            int peak = DeepKern.dk_peak_threads_in_use();
            assertTrue(peak >= 1 && peak <= 2, "peak worker threads " + peak + " must stay within the budget of 2");
        } finally {
            Library.setThreads(saved);
        }
    }
}
