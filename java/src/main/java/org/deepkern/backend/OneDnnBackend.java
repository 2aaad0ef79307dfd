package org.deepkern.backend;

import org.deepkern.Device;
import org.deepkern.bindings.DeepKern;

/** The {@code onednn} backend: oneDNN primitives from the org.bytedeco:dnnl jar. */
public final class OneDnnBackend extends JniBackend {
    public OneDnnBackend() {
        super(DeepKern.DK_BACKEND_ONEDNN);
    }

    @Override
    public String name() {
        return "onednn";
    }

    @Override
    public Device device() {
        return Device.cpu();
    }
}
