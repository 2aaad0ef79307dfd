package org.deepkern;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class TensorTest {
    @Test
    void ofKeepsRowMajorOrderAndShape() {
        try (Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)) {
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertArrayEquals(new long[] {3, 1}, t.strides());
            assertEquals(6, t.get(1, 2));
            assertTrue(t.isContiguous());
            assertEquals(Device.cpu(), t.device());
        }
    }

    @Test
    void transposeIsAViewSharingMemory() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor tt = t.t();
            assertArrayEquals(new long[] {3, 2}, tt.shape());
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, tt.toArray());
            assertFalse(tt.isContiguous());
            tt.set(42, 2, 1);
            assertEquals(42, t.get(1, 2));
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 42}, tt.contiguousCopy().toArray());
        }
    }

    @Test
    void asStridedChecksBounds() {
        try (Tensor t = Tensor.zeros(10)) {
            try (Tensor v = t.asStrided(new long[] {3, 2}, new long[] {3, 1}, 2)) {
                v.set(7, 2, 1); // storage element 2 + 2*3 + 1 = 9
                assertEquals(7, t.get(9));
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> t.asStrided(new long[] {3, 2}, new long[] {4, 1}, 2));
            assertTrue(e.getMessage().contains("reaches element 11"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.asStrided(new long[] {2}, new long[] {-1}, 5));
        }
    }

    @Test
    void scopeFreesEverythingCreatedInsideAndKeepsWhatIsKept() {
        MemoryStats before = Tensor.memory();
        Tensor kept;
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.zeros(100, 100);
            Tensor view = a.t();
            kept = scope.keep(Tensor.zeros(10));
            assertEquals(2, Tensor.memory().minus(before).allocations(), "a view shares its base's storage");
            assertEquals(2, scope.size());
            assertFalse(view.isClosed());
        }
        MemoryStats after = Tensor.memory().minus(before);
        assertEquals(1, after.allocations(), "only the kept tensor is live");
        assertEquals(10 * Float.BYTES, after.bytes());
        assertFalse(kept.isClosed());
        kept.close();
        assertEquals(before, Tensor.memory());
    }

    @Test
    void storageLivesUntilTheLastViewCloses() {
        MemoryStats before = Tensor.memory();
        Tensor a = Tensor.zeros(4, 4);
        Tensor v = a.t();
        a.close();
        assertEquals(1, Tensor.memory().minus(before).allocations());
        assertEquals(0, v.get(3, 3));
        v.close();
        v.close(); // idempotent
        assertEquals(before, Tensor.memory());
    }

    @Test
    void theGcFreesATensorNobodyClosedAsAFallback() throws InterruptedException {
        MemoryStats before = Tensor.memory();
        Tensor.zeros(1000, 1000); // 4 MB, never closed, unreachable at once
        assertEquals(before.bytes() + 4_000_000, Tensor.memory().bytes());
        for (int i = 0; i < 200 && Tensor.memory().bytes() > before.bytes(); ++i) {
            System.gc();
            Thread.sleep(10);
        }
        assertTrue(Tensor.memory().bytes() <= before.bytes(), "the Cleaner frees unreachable storage");
    }

    @Test
    void closedTensorsRefuseUse() {
        Tensor t = Tensor.zeros(2, 2);
        t.close();
        assertTrue(t.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.get(0, 0));
        assertTrue(e.getMessage().contains("closed"));
        assertThrows(IllegalStateException.class, t::toArray);
        assertThrows(IllegalStateException.class, t::t);
    }

    @Test
    void badShapesAreRejectedWithTheirDimension() {
        IllegalArgumentException neg = assertThrows(IllegalArgumentException.class, () -> Tensor.empty(3, -2));
        assertTrue(neg.getMessage().contains("shape[1] must be >= 0, got -2"), neg.getMessage());
        IllegalArgumentException ovf = assertThrows(IllegalArgumentException.class,
                () -> Tensor.empty(1L << 40, 1L << 40));
        assertTrue(ovf.getMessage().contains("64-bit"), ovf.getMessage());
        IllegalArgumentException bytes = assertThrows(IllegalArgumentException.class, () -> Tensor.empty(1L << 62));
        assertTrue(bytes.getMessage().contains("bytes"), bytes.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertThrows(NullPointerException.class, () -> Tensor.of(null, 2));
        try (Tensor two = Tensor.zeros(2)) {
            assertThrows(IndexOutOfBoundsException.class, () -> two.get(2));
        }
        // still working afterwards
        try (Tensor t = Tensor.zeros(3)) {
            assertEquals(0, t.get(2));
        }
    }

    @Test
    void emptyTensorsWork() {
        try (Tensor t = Tensor.zeros(0, 5)) {
            assertEquals(0, t.numel());
            assertEquals(0, t.toArray().length);
        }
    }

    @Test
    void cudaTensorsNeedACudaBackend() {
        org.junit.jupiter.api.Assumptions.assumeFalse(org.deepkern.backend.Backends.get("cuda").isAvailable(),
                "the cuda backend is available here (CudaTensorTest covers cuda tensors)");
        org.deepkern.backend.BackendUnavailableException e = assertThrows(
                org.deepkern.backend.BackendUnavailableException.class, () -> Tensor.empty(Device.cuda(), 2, 2));
        assertTrue(e.getMessage().contains("cuda"), e.getMessage());
    }
}
