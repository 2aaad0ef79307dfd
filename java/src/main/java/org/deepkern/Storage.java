package org.deepkern;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.deepkern.backend.NativeLib;
import org.deepkern.bindings.DeepKern;

import java.lang.ref.Cleaner;
import java.nio.FloatBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A block of 64-byte aligned off-heap floats shared by a tensor and its views, reference counted:
 * the last {@link #release()} frees it at once. The Cleaner frees a storage that was never
 * released, when the GC finds it unreachable; that is the fallback, not the plan.
 *
 * <p>On {@link Device#cuda()} the block is device memory from libdeepkern's caching allocator
 * (dk_cuda_malloc): the host never dereferences it, and {@link #buffer()} refuses.
 */
final class Storage {
    private static final Cleaner CLEANER = Cleaner.create();
    static final AtomicLong LIVE_ALLOCATIONS = new AtomicLong();
    static final AtomicLong LIVE_BYTES = new AtomicLong();

    final Device device;
    final long length; // floats
    final FloatPointer pointer;
    private final FloatBuffer buffer; // null for more than Integer.MAX_VALUE floats
    private final Cleaner.Cleanable cleanable;
    private int refs = 1;

    Storage(Device device, long length) {
        final boolean cuda = device.type() == Device.Type.CUDA;
        if (cuda && device.index() != 0)
            throw new UnsupportedOperationException("only cuda:0 is supported, got " + device);
        if (cuda && !org.deepkern.backend.Backends.get("cuda").isAvailable())
            throw new org.deepkern.backend.BackendUnavailableException("tensors on " + device
                    + " need the cuda backend, which is "
                    + org.deepkern.backend.Backends.get("cuda").availability().describe());
        this.device = device;
        this.length = length;
        final long bytes;
        try {
            bytes = Math.multiplyExact(length, (long) Float.BYTES);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("a tensor of " + length + " floats overflows a 64-bit byte size");
        }
        NativeLib.load();
        Pointer raw;
        try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
            NativeLib.check(cuda ? DeepKern.dk_cuda_malloc(out, bytes) : DeepKern.dk_alloc(out, bytes));
            raw = out.get(0);
        }
        this.pointer = new FloatPointer(raw).capacity(length);
        this.buffer = cuda ? null : length == 0 ? FloatBuffer.allocate(0)
                : length <= Integer.MAX_VALUE ? pointer.asBuffer() : null;
        LIVE_ALLOCATIONS.incrementAndGet();
        LIVE_BYTES.addAndGet(bytes);
        this.cleanable = CLEANER.register(this, new Free(raw, bytes, cuda));
    }

    /** The whole storage as a buffer indexed from 0; shares memory. */
    FloatBuffer buffer() {
        if (device.type() == Device.Type.CUDA)
            throw new IllegalStateException("the elements of a tensor on " + device
                    + " are in device memory: copy it to the host with to(Device.cpu()) first");
        if (buffer == null)
            throw new UnsupportedOperationException("a storage of " + length + " floats is too large for a Java buffer");
        return buffer.duplicate();
    }

    synchronized void retain() {
        if (refs == 0) throw new IllegalStateException("storage already freed");
        ++refs;
    }

    void release() {
        boolean free;
        synchronized (this) {
            if (refs == 0) return;
            free = --refs == 0;
        }
        if (free) cleanable.clean();
    }

    /** Frees the memory; holds no reference to the Storage so that the Cleaner can run. */
    private static final class Free implements Runnable {
        private final Pointer raw;
        private final long bytes;
        private final boolean cuda;

        Free(Pointer raw, long bytes, boolean cuda) {
            this.raw = raw;
            this.bytes = bytes;
            this.cuda = cuda;
        }

        @Override
        public void run() {
            if (cuda) DeepKern.dk_cuda_free(raw);
            else DeepKern.dk_free(raw);
            LIVE_ALLOCATIONS.decrementAndGet();
            LIVE_BYTES.addAndGet(-bytes);
        }
    }
}
