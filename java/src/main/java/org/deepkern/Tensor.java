package org.deepkern;

import org.bytedeco.javacpp.FloatPointer;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * An n-dimensional fp32 array in off-heap memory: a shape, strides (in elements) and an offset
 * into a storage that views share.
 *
 * <p>Memory is freed when the tensor is {@link #close() closed} (a view keeps its storage alive
 * until it is closed too), when the {@link TensorScope} it was created in closes, or — as a
 * fallback only — when the GC finds it unreachable. Using a closed tensor throws
 * {@link IllegalStateException}.
 *
 * <p>Indices and shapes are {@code long}; the rank is at most {@value #MAX_RANK}.
 */
public final class Tensor implements AutoCloseable {
    /** The largest rank a tensor may have. */
    public static final int MAX_RANK = 8;

    private final Storage storage;
    private final long[] shape;
    private final long[] strides;
    private final long offset;
    private volatile boolean closed;

    // ---- autograd state (see Autograd) ----
    private boolean requiresGrad;
    private Tensor grad;      // leaves only; owned by this tensor, freed with it
    private GradFn gradFn;    // non-leaves: how this tensor was computed

    private Tensor(Storage storage, long[] shape, long[] strides, long offset) {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        TensorScope.registerInCurrent(this);
    }

    // ---- creation ----

    /** An uninitialized contiguous tensor on the CPU. */
    public static Tensor empty(long... shape) {
        return empty(Device.cpu(), shape);
    }

    /** An uninitialized contiguous tensor on {@code device}. */
    public static Tensor empty(Device device, long... shape) {
        Objects.requireNonNull(device, "device");
        long[] s = checkShape(shape);
        return new Tensor(new Storage(device, numel(s)), s, contiguousStrides(s), 0);
    }

    /** A contiguous CPU tensor of zeros. */
    public static Tensor zeros(long... shape) {
        return empty(shape).fill(0.0f);
    }

    /** A contiguous CPU tensor holding {@code values} in row-major order. */
    public static Tensor of(float[] values, long... shape) {
        Objects.requireNonNull(values, "values");
        long[] s = checkShape(shape);
        if (numel(s) != values.length)
            throw new IllegalArgumentException("shape " + Arrays.toString(s) + " holds " + numel(s)
                    + " elements but " + values.length + " values were given");
        Tensor t = new Tensor(new Storage(Device.cpu(), values.length), s, contiguousStrides(s), 0);
        t.storage.buffer().put(values);
        return t;
    }

    /** A contiguous CPU tensor of values drawn uniformly from [-1, 1) by a generator seeded with {@code seed}. */
    public static Tensor rand(long seed, long... shape) {
        Tensor t = empty(shape);
        SplittableRandom rng = new SplittableRandom(seed);
        FloatBuffer b = t.storage.buffer();
        for (int i = 0; i < b.capacity(); ++i) b.put(i, (float) (rng.nextDouble() * 2 - 1));
        return t;
    }

    /**
     * A view of this tensor's storage with the given shape, strides and offset (all in elements).
     * Every addressed element must lie inside the storage; strides may be zero (broadcast) but
     * not negative.
     */
    public Tensor asStrided(long[] shape, long[] strides, long offset) {
        requireOpen("tensor");
        long[] s = checkShape(shape);
        Objects.requireNonNull(strides, "strides");
        if (strides.length != s.length)
            throw new IllegalArgumentException("strides has " + strides.length + " entries for a shape of rank " + s.length);
        if (offset < 0) throw new IllegalArgumentException("offset must be >= 0, got " + offset);
        long last = offset;
        for (int d = 0; d < s.length; ++d) {
            if (strides[d] < 0) throw new IllegalArgumentException("strides[" + d + "] must be >= 0, got " + strides[d]);
            if (s[d] == 0) last = -1;
            if (last >= 0) last = Math.addExact(last, Math.multiplyExact(s[d] - 1, strides[d]));
        }
        if (last >= storage.length)
            throw new IllegalArgumentException("the view reaches element " + last + " of a storage of " + storage.length);
        storage.retain();
        return new Tensor(storage, s, strides.clone(), offset);
    }

    // ---- shape ----

    public long[] shape() {
        return shape.clone();
    }

    public long[] strides() {
        return strides.clone();
    }

    /** The element offset of this tensor into its storage. */
    public long storageOffset() {
        return offset;
    }

    public int rank() {
        return shape.length;
    }

    /** The size of dimension {@code dim}; negative values count from the end. */
    public long size(int dim) {
        return shape[axis(dim)];
    }

    public long stride(int dim) {
        return strides[axis(dim)];
    }

    public long numel() {
        return numel(shape);
    }

    public Device device() {
        return storage.device;
    }

    /** True when the elements are laid out row-major without gaps. */
    public boolean isContiguous() {
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; --d) {
            if (shape[d] != 1 && strides[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }

    /** A view with the last two dimensions swapped (a matrix transpose); shares memory. */
    public Tensor t() {
        if (rank() < 2) throw new IllegalArgumentException("t() needs a tensor of rank >= 2, got rank " + rank());
        return transpose(-2, -1);
    }

    /** A view with dimensions {@code d0} and {@code d1} swapped; shares memory. */
    public Tensor transpose(int d0, int d1) {
        requireOpen("tensor");
        int a = axis(d0), b = axis(d1);
        long[] s = shape.clone(), st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        storage.retain();
        return new Tensor(storage, s, st, offset);
    }

    /** A contiguous copy on the same device. */
    public Tensor contiguousCopy() {
        requireOpen("tensor");
        Tensor out = new Tensor(new Storage(storage.device, numel()), shape.clone(), contiguousStrides(shape), 0);
        FloatBuffer dst = out.storage.buffer();
        forEachIndex((i, src) -> dst.put((int) i, storageBufferUnchecked().get((int) src)));
        return out;
    }

    /**
     * A contiguous copy of this tensor on {@code device}; always a new tensor that the caller owns,
     * also when the device is the same. Copies between the host and a CUDA device go through
     * libdeepkern's dk_cuda_memcpy and return when the data has arrived. A non-contiguous source on
     * a CUDA device is not supported (copy it to the host, or make it contiguous there first).
     *
     * @throws org.deepkern.backend.BackendUnavailableException when the cuda backend cannot run
     *     here, with the reason
     */
    public Tensor to(Device device) {
        Objects.requireNonNull(device, "device");
        requireOpen("tensor");
        if (device.type() == Device.Type.CPU && device().type() == Device.Type.CPU) return contiguousCopy();
        if (!isContiguous() && device().type() != Device.Type.CPU)
            throw new UnsupportedOperationException("copying a non-contiguous tensor from " + device()
                    + " is not supported; it has strides " + Arrays.toString(strides));
        Tensor src = isContiguous() ? this : contiguousCopy();
        try {
            Tensor out = empty(device, shape);
            try {
                long bytes = Math.multiplyExact(numel(), (long) Float.BYTES);
                int kind = device().type() == Device.Type.CPU ? org.deepkern.bindings.DeepKern.DK_COPY_HOST_TO_DEVICE
                        : device.type() == Device.Type.CPU ? org.deepkern.bindings.DeepKern.DK_COPY_DEVICE_TO_HOST
                        : org.deepkern.bindings.DeepKern.DK_COPY_DEVICE_TO_DEVICE;
                if (bytes > 0)
                    org.deepkern.backend.NativeLib.check(
                            org.deepkern.bindings.DeepKern.dk_cuda_memcpy(out.pointer(), src.pointer(), bytes, kind));
                return out;
            } catch (RuntimeException | Error e) {
                out.close();
                throw e;
            }
        } finally {
            if (src != this) src.close();
        }
    }

    // ---- element access (for tests, setup and small data; ops never go element by element) ----

    public float get(long... index) {
        requireOpen("tensor");
        return storage.buffer().get(toIntIndex(elementOffset(index)));
    }

    public Tensor set(float value, long... index) {
        requireOpen("tensor");
        storage.buffer().put(toIntIndex(elementOffset(index)), value);
        return this;
    }

    /** Sets every element to {@code value}; returns this. */
    public Tensor fill(float value) {
        requireOpen("tensor");
        FloatBuffer b = storage.buffer();
        forEachIndex((i, src) -> b.put((int) src, value));
        return this;
    }

    /** The elements in row-major order of the shape. */
    public float[] toArray() {
        requireOpen("tensor");
        long n = numel();
        if (n > Integer.MAX_VALUE) throw new UnsupportedOperationException("tensor of " + n + " elements is too large for an array");
        float[] out = new float[(int) n];
        FloatBuffer b = storage.buffer();
        forEachIndex((i, src) -> out[(int) i] = b.get((int) src));
        return out;
    }

    // ---- low-level access for backends ----

    /**
     * The whole storage as a buffer indexed from 0 (this tensor starts at {@link #storageOffset()}).
     * Shares memory; for backends and I/O.
     */
    public FloatBuffer storageBuffer() {
        requireOpen("tensor");
        return storage.buffer();
    }

    /** A pointer to this tensor's first element; for backends. */
    public FloatPointer pointer() {
        requireOpen("tensor");
        return new FloatPointer(storage.pointer).position(offset).capacity(storage.length);
    }

    /** The number of elements readable from {@link #pointer()} on. */
    public long storageRemaining() {
        return storage.length - offset;
    }

    // ---- autograd ----

    /**
     * Marks this leaf tensor as one whose gradient {@link #backward()} computes and accumulates
     * into {@link #grad()}; returns this. Only leaves (tensors no recorded op produced) can be
     * marked; results of ops on such tensors require gradients automatically.
     */
    public Tensor requiresGrad(boolean value) {
        requireOpen("tensor");
        if (gradFn != null) throw new IllegalStateException("requiresGrad can only be set on a leaf tensor, not on the result of " + gradFn.name());
        requiresGrad = value;
        return this;
    }

    /** Whether gradients flow to this tensor (a marked leaf, or the result of an op on one). */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** True when no recorded op produced this tensor. */
    public boolean isLeaf() {
        return gradFn == null;
    }

    /** The op that produced this tensor, or null for a leaf. */
    public GradFn gradFn() {
        return gradFn;
    }

    /**
     * The accumulated gradient of a leaf that requires gradients (same shape, contiguous), or
     * null before the first {@link #backward()} that reached it. Owned by this tensor.
     */
    public Tensor grad() {
        return grad;
    }

    /** Frees the accumulated gradient (the next backward starts from zero). */
    public void clearGrad() {
        if (grad != null) {
            grad.close();
            grad = null;
        }
    }

    /** Back-propagates from this scalar (a tensor of one element) with seed gradient 1. */
    public void backward() {
        Autograd.backward(this, null);
    }

    /** Back-propagates with seed gradient {@code gradOutput} (the same shape as this tensor). */
    public void backward(Tensor gradOutput) {
        Autograd.backward(this, Objects.requireNonNull(gradOutput, "gradOutput"));
    }

    /** A view of the same memory that is not part of the graph (no gradient flows through it). */
    public Tensor detach() {
        requireOpen("tensor");
        storage.retain();
        return new Tensor(storage, shape.clone(), strides.clone(), offset);
    }

    void setGradFn(GradFn fn) {
        this.gradFn = fn;
        this.requiresGrad = fn != null;
    }

    void setGrad(Tensor g) {
        this.grad = g;
    }

    // ---- lifetime ----

    /** Frees this tensor's memory (once its views are closed too). Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        clearGrad();
        gradFn = null;
        storage.release();
    }

    public boolean isClosed() {
        return closed;
    }

    /** Throws IllegalStateException naming {@code name} if this tensor is closed. */
    public Tensor requireOpen(String name) {
        if (closed) throw new IllegalStateException(name + " is closed");
        return this;
    }

    /** Off-heap memory held by all live tensors of this process. */
    public static MemoryStats memory() {
        return new MemoryStats(Storage.LIVE_ALLOCATIONS.get(), Storage.LIVE_BYTES.get());
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " on " + device() + (closed ? " (closed)" : "");
    }

    // ---- helpers ----

    private FloatBuffer storageBufferUnchecked() {
        return storage.buffer();
    }

    private int axis(int dim) {
        int a = dim < 0 ? dim + shape.length : dim;
        if (a < 0 || a >= shape.length)
            throw new IllegalArgumentException("dimension " + dim + " is out of range for rank " + shape.length);
        return a;
    }

    private long elementOffset(long[] index) {
        Objects.requireNonNull(index, "index");
        if (index.length != shape.length)
            throw new IllegalArgumentException("index of rank " + index.length + " for a tensor of rank " + shape.length);
        long off = offset;
        for (int d = 0; d < shape.length; ++d) {
            if (index[d] < 0 || index[d] >= shape[d])
                throw new IndexOutOfBoundsException("index " + index[d] + " out of range for dimension " + d + " of size " + shape[d]);
            off += index[d] * strides[d];
        }
        return off;
    }

    private static int toIntIndex(long i) {
        if (i > Integer.MAX_VALUE) throw new UnsupportedOperationException("element " + i + " is beyond Java buffer indexing");
        return (int) i;
    }

    @FunctionalInterface
    private interface IndexVisitor {
        void visit(long logical, long storageIndex);
    }

    /** Visits every element in row-major order with its storage index. */
    private void forEachIndex(IndexVisitor v) {
        long n = numel();
        if (n == 0) return;
        int r = shape.length;
        long[] idx = new long[r];
        long src = offset;
        for (long i = 0; i < n; ++i) {
            v.visit(i, src);
            for (int d = r - 1; d >= 0; --d) {
                if (++idx[d] < shape[d]) {
                    src += strides[d];
                    break;
                }
                src -= (shape[d] - 1) * strides[d];
                idx[d] = 0;
            }
        }
    }

    static long[] checkShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length > MAX_RANK)
            throw new IllegalArgumentException("rank " + shape.length + " exceeds the maximum of " + MAX_RANK);
        for (int d = 0; d < shape.length; ++d)
            if (shape[d] < 0)
                throw new IllegalArgumentException("shape[" + d + "] must be >= 0, got " + shape[d] + " in " + Arrays.toString(shape));
        long n = 1;
        for (long s : shape) {
            try {
                n = Math.multiplyExact(n, s);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more elements than a 64-bit count holds");
            }
        }
        if (n > Long.MAX_VALUE / Float.BYTES)
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs more bytes than a 64-bit size holds");
        return shape.clone();
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    static long[] contiguousStrides(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int d = shape.length - 1; d >= 0; --d) {
            st[d] = s;
            s *= Math.max(1, shape[d]);
        }
        return st;
    }
}
