package org.deepkern;

import java.util.Objects;

/**
 * Where a tensor's memory lives: the host ({@link #cpu()}) or a CUDA device ({@link #cuda()}).
 * Operations require all their tensors on the device of the backend that runs them.
 */
public final class Device {
    /** The kinds of device. */
    public enum Type { CPU, CUDA }

    private static final Device CPU = new Device(Type.CPU, 0);

    private final Type type;
    private final int index;

    private Device(Type type, int index) {
        this.type = type;
        this.index = index;
    }

    /** Host memory. */
    public static Device cpu() {
        return CPU;
    }

    /** CUDA device 0. */
    public static Device cuda() {
        return cuda(0);
    }

    /** CUDA device {@code index} (>= 0). */
    public static Device cuda(int index) {
        if (index < 0) throw new IllegalArgumentException("CUDA device index must be >= 0, got " + index);
        return new Device(Type.CUDA, index);
    }

    /** Parses "cpu", "cuda" or "cuda:N". */
    public static Device parse(String name) {
        Objects.requireNonNull(name, "name");
        if (name.equals("cpu")) return CPU;
        if (name.equals("cuda")) return cuda();
        if (name.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(name.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("unknown device '" + name + "'; expected cpu, cuda or cuda:N");
    }

    public Type type() {
        return type;
    }

    public int index() {
        return index;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Device d && d.type == type && d.index == index;
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + index;
    }

    @Override
    public String toString() {
        return type == Type.CPU ? "cpu" : "cuda:" + index;
    }
}
