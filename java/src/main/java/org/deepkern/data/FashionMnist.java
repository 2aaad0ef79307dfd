package org.deepkern.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Fashion-MNIST from its four IDX files (Debian: the package dataset-fashion-mnist, in
 * {@value #DEBIAN_DIR}): 60000 training and 10000 test images of 28x28 grey pixels, scaled to
 * [0, 1], as samples [1, 28, 28], and 10 classes.
 */
public final class FashionMnist {
    public static final String DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";
    public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
            "Shirt", "Sneaker", "Bag", "Ankle boot");

    private FashionMnist() {}

    /** The training and test sets found in {@code dir}. */
    public record Data(Dataset train, Dataset test) {}

    public static Data load(Path dir) throws IOException {
        for (String f : List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
            if (!Files.exists(dir.resolve(f + ".gz")) && !Files.exists(dir.resolve(f)))
                throw new IOException("Fashion-MNIST file " + f + "(.gz) not found in " + dir
                        + " (on Debian: apt-get install dataset-fashion-mnist, then --data " + DEBIAN_DIR + ")");
        return new Data(load(dir, "train"), load(dir, "t10k"));
    }

    private static Path find(Path dir, String name) {
        Path gz = dir.resolve(name + ".gz");
        return Files.exists(gz) ? gz : dir.resolve(name);
    }

    /** One split: images [n, 28, 28] and labels [n] checked against each other. */
    static Dataset load(Path dir, String prefix) throws IOException {
        Idx.Array images = Idx.read(find(dir, prefix + "-images-idx3-ubyte"));
        Idx.Array labels = Idx.read(find(dir, prefix + "-labels-idx1-ubyte"));
        return fromIdx(images, labels, prefix);
    }

    /** Images [n, h, w] and labels [n] of unsigned bytes -> a dataset of [1, h, w] samples in [0, 1]. */
    public static Dataset fromIdx(Idx.Array images, Idx.Array labels, String name) throws IOException {
        if (images.shape().length != 3)
            throw new IOException(name + ": images must have 3 dimensions [n, height, width], got " + java.util.Arrays.toString(images.shape()));
        if (labels.shape().length != 1 || labels.count() != images.count())
            throw new IOException(name + ": " + images.count() + " images but labels of shape " + java.util.Arrays.toString(labels.shape()));
        byte[] px = images.data();
        float[] f = new float[px.length];
        for (int i = 0; i < px.length; ++i) f[i] = (px[i] & 0xff) / 255.0f;
        int[] l = new int[labels.count()];
        for (int i = 0; i < l.length; ++i) {
            l[i] = labels.data()[i] & 0xff;
            if (l[i] >= CLASSES.size())
                throw new IOException(name + ": label " + l[i] + " of image " + i + " is out of range [0, " + CLASSES.size() + ")");
        }
        return new Dataset(f, l, new long[] {1, images.shape()[1], images.shape()[2]}, CLASSES.size());
    }
}
