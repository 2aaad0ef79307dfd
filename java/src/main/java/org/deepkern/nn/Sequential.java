package org.deepkern.nn;

import org.deepkern.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Layers applied in order; children are named "0", "1", ... (the prefixes of the state dict).
 *
 * <pre>{@code
 * Sequential mlp = Sequential.of(
 *     Linear.builder().in(784).out(128).seed(1).build(), Activations.relu(),
 *     Linear.builder().in(128).out(10).seed(2).build());
 * }</pre>
 */
public final class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    public static Sequential of(Module... layers) {
        Sequential s = new Sequential();
        for (Module m : layers) s.add(m);
        return s;
    }

    /** Appends a layer; returns this. */
    public Sequential add(Module m) {
        layers.add(addChild(Integer.toString(layers.size()), m));
        return this;
    }

    /** Every layer's output feeds the next; the input shape is the first layer's. */
    @Override
    public Tensor forward(Tensor x) {
        Tensor h = x;
        for (Module m : layers) h = m.forward(h);
        return h;
    }

    public List<Module> layers() {
        return List.copyOf(layers);
    }

    @Override
    protected String describe() {
        return "Sequential";
    }
}
