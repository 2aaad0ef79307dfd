package org.deepkern.ops;

import org.bytedeco.javacpp.FloatPointer;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.BackendUnavailableException;
import org.deepkern.backend.Backends;
import org.deepkern.backend.NativeLib;
import org.deepkern.bindings.DeepKern;
import org.deepkern.bindings.DeepKern.MatmulDesc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Bad input gives an exception that names the problem — through the Java API and straight
 * through the native entry point, whose own validation is what protects memory — and the
 * library keeps working after each.
 */
class MatmulBadInputTest {
    private static <T extends Throwable> void rejects(Class<T> type, String fragment, Executable call) {
        T e = assertThrows(type, call);
        assertNotNull(e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }

    @AfterEach
    void libraryStillWorks() {
        for (String name : new String[] {"java", "native", "onednn"}) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), b = Tensor.of(new float[] {1, 0, 0, 1}, 2, 2);
                assertArrayEquals(new float[] {1, 2, 3, 4}, Ops.matmul(a, b, Backends.get(name)).toArray(), name);
            }
        }
    }

    // ---- through the Java API ----

    @ParameterizedTest
    @ValueSource(strings = {"java", "native", "onednn"})
    void mismatchedInnerDimension(String backend) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.zeros(3, 4), b = Tensor.zeros(5, 2);
            rejects(IllegalArgumentException.class, "inner dimensions differ", () -> Ops.matmul(a, b, Backends.get(backend)));
            Tensor c = Tensor.zeros(3, 3);
            rejects(IllegalArgumentException.class, "c is [3, 3] but a @ b is [3, 2]",
                    () -> Ops.gemm(c, a, Tensor.zeros(4, 2), 1, 0, Backends.get(backend)));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java", "native", "onednn"})
    void closedAndNullTensors(String backend) {
        Backend be = Backends.get(backend);
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.zeros(2, 2), b = Tensor.zeros(2, 2);
            b.close();
            rejects(IllegalStateException.class, "b is closed", () -> Ops.matmul(a, b, be));
            rejects(NullPointerException.class, "a", () -> Ops.matmul(null, a, be));
            rejects(NullPointerException.class, "b", () -> Ops.matmul(a, null, be));
            rejects(IllegalArgumentException.class, "must be a matrix", () -> Ops.matmul(Tensor.zeros(2), a, be));
            rejects(IllegalArgumentException.class, "alpha must be finite",
                    () -> Ops.gemm(Tensor.zeros(2, 2), a, a, Float.NaN, 0, be));
        }
    }

    @Test
    void tensorOnTheWrongDevice() {
        Backend cuda = Backends.get("cuda");
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.zeros(2, 2);
            rejects(IllegalArgumentException.class, "a is on cpu but backend cuda computes on cuda:0", () -> Ops.matmul(a, a, cuda));
        }
        if (!cuda.isAvailable())
            rejects(BackendUnavailableException.class, "backend cuda is unavailable: ", cuda::requireAvailable);
    }

    @Test
    void badDimensionsAtTensorCreation() {
        rejects(IllegalArgumentException.class, "must be >= 0", () -> Tensor.empty(-3, 4));
        rejects(IllegalArgumentException.class, "64-bit", () -> Tensor.empty(1L << 32, 1L << 32));
    }

    @Test
    void unknownBackend() {
        rejects(IllegalArgumentException.class, "unknown backend 'blas'; known: java, native, onednn, cuda",
                () -> Backends.get("blas"));
    }

    // ---- straight through the native entry point (what a caller of the bindings sees) ----

    @ParameterizedTest
    @ValueSource(ints = {DeepKern.DK_BACKEND_NATIVE, DeepKern.DK_BACKEND_ONEDNN})
    void nativeValidationNamesTheArgument(int backend) {
        NativeLib.load();
        float[] ones = new float[64];
        java.util.Arrays.fill(ones, 1.0f);
        try (FloatPointer a = new FloatPointer(ones); FloatPointer b = new FloatPointer(ones);
             FloatPointer c = new FloatPointer(64)) {
            rejects(IllegalArgumentException.class, "m must be >= 0, got -1",
                    () -> call(backend, d -> d.m(-1), c, a, b));
            rejects(IllegalArgumentException.class, "k must be >= 0, got -7",
                    () -> call(backend, d -> d.k(-7), c, a, b));
            rejects(IllegalArgumentException.class, "overflow a 64-bit size",
                    () -> call(backend, d -> d.m(1L << 40).n(1L << 40).ldb(1L << 40).ldc(1L << 40), c, a, b));
            rejects(IllegalArgumentException.class, "lda (2) must be >= 4",
                    () -> call(backend, d -> d.lda(2), c, a, b));
            rejects(IllegalArgumentException.class, "ldc (1) must be >= 4",
                    () -> call(backend, d -> d.ldc(1), c, a, b));
            rejects(IllegalArgumentException.class, "a needs 79 floats",
                    () -> call(backend, d -> d.m(4).lda(25).k(4), c, a, b));
            rejects(NullPointerException.class, "b must not be null", () -> call(backend, d -> d, c, a, null));
            rejects(IllegalArgumentException.class, "c must not overlap a", () -> call(backend, d -> d, a, a, b));
            // and the same descriptor, corrected, works
            call(backend, d -> d, c, a, b);
            assertEquals(4.0f, c.get(15));
        }
    }

    private interface Edit {
        MatmulDesc apply(MatmulDesc d);
    }

    /** A 4x4x4 product with the edit applied, through dk_matmul and NativeLib.check. */
    private static void call(int backend, Edit edit, FloatPointer c, FloatPointer a, FloatPointer b) {
        try (MatmulDesc d = new MatmulDesc().m(4).n(4).k(4).lda(4).ldb(4).ldc(4).alpha(1).beta(0)) {
            edit.apply(d);
            NativeLib.check(DeepKern.dk_matmul(backend, d, c, c == null ? 0 : 64, a, 64, b, b == null ? 0 : 64));
        }
    }
}
