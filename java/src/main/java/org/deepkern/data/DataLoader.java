package org.deepkern.data;

import org.deepkern.Tensor;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Mini-batches of a {@link Dataset}: features [B, ...sampleShape] and labels [B] (class indices
 * as floats). Shuffled per epoch with seed + epoch when shuffling is on; the last batch may be
 * smaller unless {@code dropLast}. With an {@link Augmentation}, every sample is transformed as the
 * batch is assembled, from a random stream fixed by seed, epoch and batch. Each batch's tensors belong to the caller (or the open
 * TensorScope): close them, or open a scope per step.
 *
 * <pre>{@code
 * DataLoader loader = DataLoader.builder(train).batchSize(64).shuffle(true).seed(1).build();
 * for (DataLoader.Batch b : loader.epoch(0)) { ... }
 * }</pre>
 */
public final class DataLoader {
    private final Dataset data;
    private final int batchSize;
    private final boolean shuffle, dropLast;
    private final long seed;
    private final Augmentation augmentation;

    private DataLoader(Builder b) {
        if (b.batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + b.batchSize);
        data = b.data;
        batchSize = b.batchSize;
        shuffle = b.shuffle;
        dropLast = b.dropLast;
        seed = b.seed;
        augmentation = b.augmentation;
    }

    public static Builder builder(Dataset data) {
        return new Builder(Objects.requireNonNull(data, "data"));
    }

    public Dataset dataset() {
        return data;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Batches per epoch. */
    public int batches() {
        return dropLast ? data.size() / batchSize : (data.size() + batchSize - 1) / batchSize;
    }

    /** A features [B, ...] and labels [B] pair. */
    public record Batch(Tensor features, Tensor labels) implements AutoCloseable {
        public int size() {
            return (int) labels.size(0);
        }

        @Override
        public void close() {
            features.close();
            labels.close();
        }
    }

    /** The batches of epoch {@code epoch} (its order depends on seed + epoch when shuffling). */
    public Iterable<Batch> epoch(int epoch) {
        int[] order = shuffle ? Dataset.permutation(data.size(), seed + epoch) : identity(data.size());
        return () -> new Iterator<>() {
            int next = 0;

            @Override
            public boolean hasNext() {
                int left = order.length - next;
                return dropLast ? left >= batchSize : left > 0;
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                int b = Math.min(batchSize, order.length - next);
                int ss = data.sampleSize();
                float[] f = new float[b * ss], l = new float[b];
                SplittableRandom random = augmentation == null ? null
                        : new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ ((long) epoch << 32 | next / batchSize));
                for (int i = 0; i < b; ++i) {
                    data.copySample(order[next + i], f, i * ss);
                    l[i] = data.label(order[next + i]);
                    if (random != null) augmentation.apply(f, i * ss, data.sampleShape(), random);
                }
                next += b;
                long[] shape = new long[data.sampleShape().length + 1];
                shape[0] = b;
                System.arraycopy(data.sampleShape(), 0, shape, 1, shape.length - 1);
                Tensor features = Tensor.of(f, shape);
                return new Batch(features, Tensor.of(l, b));
            }
        };
    }

    private static int[] identity(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; ++i) p[i] = i;
        return p;
    }

    public static final class Builder {
        private final Dataset data;
        private int batchSize = 64;
        private boolean shuffle = true, dropLast;
        private long seed;
        private Augmentation augmentation;

        private Builder(Dataset data) {
            this.data = data;
        }

        /** Samples per batch (default 64). */
        public Builder batchSize(int v) { batchSize = v; return this; }
        /** Reshuffle every epoch (default true). */
        public Builder shuffle(boolean v) { shuffle = v; return this; }
        /** Drop a last batch smaller than the batch size (default false). */
        public Builder dropLast(boolean v) { dropLast = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        /** Transform every sample of every batch (default: none). */
        public Builder augment(Augmentation v) { augmentation = v; return this; }
        public DataLoader build() { return new DataLoader(this); }
    }
}
