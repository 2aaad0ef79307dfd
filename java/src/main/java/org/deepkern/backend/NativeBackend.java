package org.deepkern.backend;

import org.deepkern.Device;
import org.deepkern.bindings.DeepKern;

/** The {@code native} backend: deepkern's hand-written C++ kernels, with run-time ISA dispatch (AVX-512, AVX2, generic). */
public final class NativeBackend extends JniBackend {
    public NativeBackend() {
        super(DeepKern.DK_BACKEND_NATIVE);
    }

    @Override
    public String name() {
        return "native";
    }

    @Override
    public Device device() {
        return Device.cpu();
    }
}
