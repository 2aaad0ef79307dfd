package org.deepkern.ops;

/**
 * Philox4x32-10, the counter-based generator behind attention dropout; the same function as
 * native/src/core/philox.h, so every backend drops the same elements.
 */
public final class Philox {
    private Philox() {}

    /** The first 32-bit word of philox4x32_10(counter = {lo, hi, 0, 0} of counter, key = {lo, hi} of key), unsigned. */
    public static long first(long counter, long key) {
        int c0 = (int) counter, c1 = (int) (counter >>> 32), c2 = 0, c3 = 0;
        int k0 = (int) key, k1 = (int) (key >>> 32);
        for (int round = 0; round < 10; ++round) {
            long p0 = 0xD2511F53L * (c0 & 0xFFFFFFFFL), p1 = 0xCD9E8D57L * (c2 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0, n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            c1 = (int) p1;
            c3 = (int) p0;
            c0 = n0;
            c2 = n2;
            k0 += 0x9E3779B9;
            k1 += 0xBB67AE85;
        }
        return c0 & 0xFFFFFFFFL;
    }

    /** The keep threshold for dropout probability p: kept iff the random word is >= it. */
    public static long dropoutThreshold(float p) {
        return (long) ((double) p * 4294967296.0);
    }

    /** Whether attention probability (row, j) survives dropout; row = (b * qHeads + h) * qSeq + i. */
    public static boolean keep(long seed, long threshold, long row, long kvSeq, long j) {
        return first(row * kvSeq + j, seed) >= threshold;
    }
}
