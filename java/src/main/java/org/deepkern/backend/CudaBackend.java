package org.deepkern.backend;

import org.deepkern.Device;
import org.deepkern.bindings.DeepKern;

/** The {@code cuda} backend: deepkern's hand-written CUDA kernels (libdeepkern_cuda). */
public final class CudaBackend extends JniBackend {
    public CudaBackend() {
        super(DeepKern.DK_BACKEND_CUDA);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Device device() {
        return Device.cuda();
    }
}
