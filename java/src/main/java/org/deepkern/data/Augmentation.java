package org.deepkern.data;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A random transformation of one training sample, applied by {@link DataLoader} as it assembles a
 * batch (training batches only; evaluation never augments). Deterministic: the loader derives the
 * random stream from its seed, the epoch and the batch, so a run repeats exactly.
 *
 * <pre>{@code
 * DataLoader.builder(train).augment(Augmentation.shiftAndFlip(2, true, st.standardized(0f))).build();
 * }</pre>
 */
@FunctionalInterface
public interface Augmentation {

    /**
     * Transforms the sample at {@code features[offset .. offset + size)} in place, where size is
     * the product of {@code sampleShape}.
     */
    void apply(float[] features, int offset, long[] sampleShape, SplittableRandom random);

    /**
     * Images [C, H, W]: a random translation by up to {@code maxShift} pixels in each direction
     * (the uncovered border is filled with {@code fill}, e.g. the standardized value of a black
     * pixel), and, when {@code flip}, a horizontal mirror with probability 1/2 — the usual "random
     * crop with padding + flip" of image classification, without the copy into a padded buffer.
     */
    static Augmentation shiftAndFlip(int maxShift, boolean flip, float fill) {
        if (maxShift < 0) throw new IllegalArgumentException("maxShift must be >= 0, got " + maxShift);
        return new ShiftAndFlip(maxShift, flip, fill);
    }

    /** Applies {@code this}, then {@code next}. */
    default Augmentation then(Augmentation next) {
        Objects.requireNonNull(next, "next");
        return (f, off, shape, r) -> {
            apply(f, off, shape, r);
            next.apply(f, off, shape, r);
        };
    }

    /** See {@link #shiftAndFlip}. */
    record ShiftAndFlip(int maxShift, boolean flip, float fill) implements Augmentation {
        @Override
        public void apply(float[] f, int off, long[] shape, SplittableRandom r) {
            if (shape.length != 3)
                throw new IllegalArgumentException("shiftAndFlip needs samples [C, H, W], got rank " + shape.length);
            int c = (int) shape[0], h = (int) shape[1], w = (int) shape[2];
            int dy = r.nextInt(-maxShift, maxShift + 1), dx = r.nextInt(-maxShift, maxShift + 1);
            boolean mirror = flip && r.nextBoolean();
            if (dy == 0 && dx == 0 && !mirror) return;
            float[] plane = new float[h * w];
            for (int ch = 0; ch < c; ++ch) {
                int base = off + ch * h * w;
                System.arraycopy(f, base, plane, 0, h * w);
                // out(y, x) = in(y - dy, x' - dx) with x' the mirrored column when mirroring
                for (int y = 0; y < h; ++y) {
                    int sy = y - dy;
                    for (int x = 0; x < w; ++x) {
                        int sx = (mirror ? w - 1 - x : x) - dx;
                        f[base + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? plane[sy * w + sx] : fill;
                    }
                }
            }
        }
    }
}
