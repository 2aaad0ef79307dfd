package org.deepkern.data;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Random shifts and flips: every output is one of the allowed transforms of its input, all of them occur, runs repeat. */
class AugmentationTest {
    static final int C = 2, H = 5, W = 7;
    static final float FILL = -9f;

    static float[] image(int salt) {
        float[] f = new float[C * H * W];
        for (int i = 0; i < f.length; ++i) f[i] = 1000 * salt + i; // every pixel distinct
        return f;
    }

    /** The expected result of shifting by (dy, dx) after an optional mirror. */
    static float[] transformed(float[] in, int dy, int dx, boolean mirror) {
        float[] out = new float[in.length];
        for (int c = 0; c < C; ++c)
            for (int y = 0; y < H; ++y)
                for (int x = 0; x < W; ++x) {
                    int sy = y - dy, sx = (mirror ? W - 1 - x : x) - dx;
                    out[(c * H + y) * W + x] = sy >= 0 && sy < H && sx >= 0 && sx < W ? in[(c * H + sy) * W + sx] : FILL;
                }
        return out;
    }

    /** Which (dy, dx, mirror) produced {@code out}, or null when none within maxShift did. */
    static String which(float[] in, float[] out, int maxShift) {
        for (int dy = -maxShift; dy <= maxShift; ++dy)
            for (int dx = -maxShift; dx <= maxShift; ++dx)
                for (boolean m : new boolean[] {false, true})
                    if (java.util.Arrays.equals(transformed(in, dy, dx, m), out)) return dy + "," + dx + "," + m;
        return null;
    }

    @Test
    void everyOutputIsAnAllowedShiftOrMirrorAndAllOccur() {
        Augmentation a = Augmentation.shiftAndFlip(2, true, FILL);
        SplittableRandom r = new SplittableRandom(7);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 2000; ++i) {
            float[] in = image(i), out = in.clone();
            a.apply(out, 0, new long[] {C, H, W}, r);
            String t = which(in, out, 2);
            assertNotNull(t, "sample " + i + " is not a shift by at most 2 pixels (and optional mirror) of its input");
            seen.add(t);
        }
        assertEquals(5 * 5 * 2, seen.size(), "every shift in [-2, 2]^2, mirrored and not, should occur in 2000 draws");
    }

    @Test
    void zeroShiftWithoutFlipIsTheIdentityAndOffsetsAreRespected() {
        float[] buf = new float[3 * C * H * W];
        for (int i = 0; i < buf.length; ++i) buf[i] = i;
        float[] before = buf.clone();
        Augmentation.shiftAndFlip(0, false, FILL).apply(buf, C * H * W, new long[] {C, H, W}, new SplittableRandom(1));
        assertArrayEquals(before, buf);
        Augmentation.shiftAndFlip(2, true, FILL).apply(buf, C * H * W, new long[] {C, H, W}, new SplittableRandom(3));
        for (int i = 0; i < C * H * W; ++i) assertEquals(before[i], buf[i], "the sample before the offset must not change");
        for (int i = 2 * C * H * W; i < buf.length; ++i) assertEquals(before[i], buf[i], "the sample after it must not change");
    }

    @Test
    void badArgumentsAreNamed() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Augmentation.shiftAndFlip(-1, true, 0f))
                .getMessage().contains("maxShift"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Augmentation.shiftAndFlip(1, true, 0f).apply(new float[4], 0, new long[] {4}, new SplittableRandom(1)))
                .getMessage().contains("[C, H, W]"));
    }

    @Test
    void loaderAugmentsDeterministicallyAndKeepsLabels() {
        int n = 40;
        float[] f = new float[n * C * H * W];
        int[] labels = new int[n];
        for (int i = 0; i < f.length; ++i) f[i] = i;
        for (int i = 0; i < n; ++i) labels[i] = i % 3;
        Dataset data = new Dataset(f, labels, new long[] {C, H, W}, 3);
        Augmentation a = Augmentation.shiftAndFlip(2, true, FILL);
        List<float[]> first = batches(DataLoader.builder(data).batchSize(16).seed(5).augment(a).build(), 1);
        List<float[]> again = batches(DataLoader.builder(data).batchSize(16).seed(5).augment(a).build(), 1);
        List<float[]> plain = batches(DataLoader.builder(data).batchSize(16).seed(5).build(), 1);
        List<float[]> nextEpoch = batches(DataLoader.builder(data).batchSize(16).seed(5).augment(a).build(), 2);
        for (int b = 0; b < first.size(); ++b) assertArrayEquals(first.get(b), again.get(b), "same seed and epoch, same batch " + b);
        boolean differs = false, differsAcrossEpochs = false;
        for (int b = 0; b < first.size(); ++b) {
            differs |= !java.util.Arrays.equals(first.get(b), plain.get(b));
            differsAcrossEpochs |= !java.util.Arrays.equals(first.get(b), nextEpoch.get(b));
        }
        assertTrue(differs, "augmentation changed nothing");
        assertTrue(differsAcrossEpochs, "epochs 1 and 2 drew the same transforms");
    }

    /** The features of every batch of {@code epoch}, with the labels checked against the unaugmented features' sample index. */
    static List<float[]> batches(DataLoader loader, int epoch) {
        List<float[]> out = new java.util.ArrayList<>();
        for (DataLoader.Batch b : loader.epoch(epoch)) {
            try (b) {
                out.add(b.features().toArray());
            }
        }
        return out;
    }
}
