package org.deepkern.backend;

import org.deepkern.Device;
import org.deepkern.bindings.DeepKern;

/**
 * The {@code cuda} backend: deepkern's hand-written CUDA kernels (libdeepkern_cuda), on tensors of
 * {@link Device#cuda()}. Every kernel hook of {@link Backend} is supported (each is one JNI call
 * whose device pointers libdeepkern forwards to a launcher of libdeepkern_cuda); what the kernels
 * do not cover (attention dropout, head dimensions above 128) throws
 * {@link UnsupportedOperationException} naming it. Labels and embedding indices are validated on a
 * host copy before any kernel runs. Kernels run asynchronously on the default stream; copying a
 * result to the host waits for them.
 */
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
