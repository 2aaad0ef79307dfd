package org.deepkern;

/**
 * Off-heap memory held by tensors at one moment: the number of live storage allocations and their
 * bytes. Views share their base tensor's storage and do not count again.
 *
 * @param allocations live allocations
 * @param bytes bytes they hold
 */
public record MemoryStats(long allocations, long bytes) {
    /** What was allocated since {@code before} and is still live. */
    public MemoryStats minus(MemoryStats before) {
        return new MemoryStats(allocations - before.allocations, bytes - before.bytes);
    }
}
