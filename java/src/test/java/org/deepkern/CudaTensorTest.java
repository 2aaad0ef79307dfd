package org.deepkern;

import org.deepkern.backend.Backend;
import org.deepkern.backend.BackendUnavailableException;
import org.deepkern.backend.Backends;
import org.deepkern.ops.Ops;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tensors on {@link Device#cuda()}: the round trip host -> device -> host, the cuda backend's
 * matmul against the java backend, and the errors. They need the cuda backend: on a machine
 * without a GPU they are skipped with the reason, except {@link #withoutAGpuTheReasonIsGiven()}.
 * The Maven build runs this class a second time with DK_CUDA_LIBRARY naming the CUDA kernels
 * compiled for the CPU emulator (libdeepkern_cuda_emu.so) and DK_EXPECT_CUDA=1, so the device
 * code paths run in CI too.
 */
class CudaTensorTest {
    static Backend cuda() {
        Backend b = Backends.get("cuda");
        boolean expected = System.getenv("DK_EXPECT_CUDA") != null;
        if (expected) assertTrue(b.isAvailable(), "DK_EXPECT_CUDA is set: " + b.availability().describe());
        assumeTrue(b.isAvailable(), "skipped: the cuda backend is " + b.availability().describe());
        return b;
    }

    @Test
    void withoutAGpuTheReasonIsGiven() {
        Backend b = Backends.get("cuda");
        assumeTrue(!b.isAvailable(), "the cuda backend is available here");
        BackendUnavailableException e =
                assertThrows(BackendUnavailableException.class, () -> Tensor.empty(Device.cuda(), 2, 3));
        assertFalse(e.getMessage().isBlank());
        try (Tensor t = Tensor.of(new float[] {1, 2}, 2)) {
            assertThrows(BackendUnavailableException.class, () -> t.to(Device.cuda()));
        }
    }

    @Test
    void roundTrip() {
        cuda();
        try (TensorScope scope = TensorScope.open()) {
            Tensor host = Tensor.rand(3, 7, 5);
            Tensor dev = host.to(Device.cuda());
            assertEquals(Device.cuda(), dev.device());
            assertArrayEquals(host.shape(), dev.shape());
            Tensor again = dev.to(Device.cuda()).to(Device.cpu());
            assertArrayEquals(host.toArray(), again.toArray());
            // A transposed (non-contiguous) host view arrives contiguous.
            Tensor t = host.t().to(Device.cuda()).to(Device.cpu());
            assertEquals(host.get(2, 3), t.get(3, 2));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> dev.get(0, 0));
            assertTrue(e.getMessage().contains("to(Device.cpu())"), e.getMessage());
            assertThrows(UnsupportedOperationException.class, () -> dev.t().to(Device.cpu()));
            assertThrows(UnsupportedOperationException.class, () -> Tensor.empty(Device.cuda(1), 2));
        }
    }

    @Test
    void matmulOnTheDeviceMatchesJava() {
        Backend cuda = cuda();
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.rand(1, 37, 45), b = Tensor.rand(2, 45, 29);
            Tensor want = Ops.matmul(a, b, Backends.get("java"));
            Tensor got = Ops.matmul(a.to(Device.cuda()), b.to(Device.cuda()), cuda).to(Device.cpu());
            float[] w = want.toArray(), g = got.toArray();
            for (int i = 0; i < w.length; ++i)
                assertEquals(w[i], g[i], 1e-5f + 1e-5f * Math.abs(w[i]), "element " + i);
        }
    }
}
