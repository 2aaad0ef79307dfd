package org.deepkern.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * An in-memory labelled dataset: {@code size()} samples of {@code sampleShape()} floats each, and
 * integer labels in [0, classes). Subsets ({@link #subset}, {@link #split}, {@link #kFold}) copy
 * the selected rows.
 */
public final class Dataset {
    private final float[] features; // size * sampleSize, row-major
    private final int[] labels;
    private final long[] sampleShape;
    private final int sampleSize;
    private final int classes;

    /**
     * @param features    size * product(sampleShape) values, one sample after the other
     * @param labels      one label per sample, each in [0, classes)
     * @param sampleShape the shape of one sample (e.g. [1, 28, 28])
     * @param classes     the number of classes
     */
    public Dataset(float[] features, int[] labels, long[] sampleShape, int classes) {
        Objects.requireNonNull(features, "features");
        Objects.requireNonNull(labels, "labels");
        long n = 1;
        for (long d : sampleShape) n *= d;
        if (n < 1 || n > Integer.MAX_VALUE) throw new IllegalArgumentException("bad sample shape " + Arrays.toString(sampleShape));
        this.sampleSize = (int) n;
        if ((long) labels.length * sampleSize != features.length)
            throw new IllegalArgumentException(labels.length + " labels but " + features.length + " feature values (samples of "
                    + Arrays.toString(sampleShape) + " need " + (long) labels.length * sampleSize + ")");
        if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        for (int i = 0; i < labels.length; ++i)
            if (labels[i] < 0 || labels[i] >= classes)
                throw new IllegalArgumentException("label " + labels[i] + " of sample " + i + " is out of range [0, " + classes + ")");
        this.features = features;
        this.labels = labels;
        this.sampleShape = sampleShape.clone();
        this.classes = classes;
    }

    public int size() {
        return labels.length;
    }

    public long[] sampleShape() {
        return sampleShape.clone();
    }

    public int sampleSize() {
        return sampleSize;
    }

    public int classes() {
        return classes;
    }

    public int label(int i) {
        return labels[i];
    }

    /** Copies sample i's features into dst at offset. */
    public void copySample(int i, float[] dst, int offset) {
        System.arraycopy(features, i * sampleSize, dst, offset, sampleSize);
    }

    /** The samples at {@code indices}, copied. */
    public Dataset subset(int[] indices) {
        float[] f = new float[indices.length * sampleSize];
        int[] l = new int[indices.length];
        for (int i = 0; i < indices.length; ++i) {
            copySample(indices[i], f, i * sampleSize);
            l[i] = labels[indices[i]];
        }
        return new Dataset(f, l, sampleShape, classes);
    }

    /** The first {@code n} samples. */
    public Dataset head(int n) {
        int[] idx = new int[Math.min(n, size())];
        for (int i = 0; i < idx.length; ++i) idx[i] = i;
        return subset(idx);
    }

    /** A shuffled split: (train, validation) with round(size * validationFraction) validation samples. */
    public Split split(double validationFraction, long seed) {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new IllegalArgumentException("validation fraction must be in (0, 1), got " + validationFraction);
        int[] perm = permutation(size(), seed);
        int nv = (int) Math.round(size() * validationFraction);
        return new Split(subset(Arrays.copyOfRange(perm, nv, perm.length)), subset(Arrays.copyOfRange(perm, 0, nv)));
    }

    /** k folds of a shuffled copy: fold i validates on the i-th k-th and trains on the rest. */
    public List<Split> kFold(int k, long seed) {
        if (k < 2 || k > size()) throw new IllegalArgumentException("k must be in [2, " + size() + "], got " + k);
        int[] perm = permutation(size(), seed);
        List<Split> folds = new ArrayList<>();
        for (int f = 0; f < k; ++f) {
            int lo = (int) ((long) size() * f / k), hi = (int) ((long) size() * (f + 1) / k);
            int[] val = Arrays.copyOfRange(perm, lo, hi);
            int[] train = new int[size() - val.length];
            System.arraycopy(perm, 0, train, 0, lo);
            System.arraycopy(perm, hi, train, lo, size() - hi);
            folds.add(new Split(subset(train), subset(val)));
        }
        return folds;
    }

    /** A training and a validation set. */
    public record Split(Dataset train, Dataset validation) {}

    /** Mean and standard deviation over every feature value (for {@link #standardize}). */
    public Standardization statistics() {
        double s = 0, s2 = 0;
        for (float v : features) {
            s += v;
            s2 += (double) v * v;
        }
        double mean = s / features.length, var = Math.max(0, s2 / features.length - mean * mean);
        return new Standardization((float) mean, (float) Math.sqrt(var));
    }

    /** (x - mean) / std, in place, with statistics taken from the training split. Returns this. */
    public Dataset standardize(Standardization st) {
        float inv = st.std() > 0 ? 1.0f / st.std() : 1.0f;
        for (int i = 0; i < features.length; ++i) features[i] = (features[i] - st.mean()) * inv;
        return this;
    }

    /** Zero-centering and scaling statistics. */
    public record Standardization(float mean, float std) {
        /** The standardized value of a raw feature value, e.g. of a black pixel (0). */
        public float standardized(float raw) {
            return std > 0 ? (raw - mean) / std : raw - mean;
        }
    }

    static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; ++i) p[i] = i;
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; --i) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
