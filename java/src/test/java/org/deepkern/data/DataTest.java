package org.deepkern.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** IDX reading (plain and gzip, and every kind of bad file), datasets, splits, k-fold, loaders, standardization. */
class DataTest {
    @TempDir
    Path dir;

    static byte[] idx(int type, int[] shape, int dataBytes) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream o = new DataOutputStream(b);
        o.writeInt((type << 8) | shape.length);
        for (int d : shape) o.writeInt(d);
        for (int i = 0; i < dataBytes; ++i) o.writeByte(i % 10);
        return b.toByteArray();
    }

    Path write(String name, byte[] bytes, boolean gzip) throws IOException {
        Path p = dir.resolve(name);
        try (OutputStream o = gzip ? new GZIPOutputStream(Files.newOutputStream(p)) : Files.newOutputStream(p)) {
            o.write(bytes);
        }
        return p;
    }

    @Test
    void readsPlainAndGzipIdx() throws IOException {
        for (boolean gz : new boolean[] {false, true}) {
            Idx.Array a = Idx.read(write("images" + gz, idx(8, new int[] {3, 2, 2}, 12), gz));
            assertArrayEquals(new int[] {3, 2, 2}, a.shape());
            assertEquals(4, a.itemSize());
            assertEquals(9, a.data()[9]);
        }
    }

    @Test
    void badIdxFilesNameTheProblem() throws IOException {
        assertMessage(write("trunc", idx(8, new int[] {3, 2, 2}, 11), true), "truncated IDX file");
        assertMessage(write("empty", new byte[2], false), "no 4-byte magic number");
        assertMessage(write("magic", new byte[] {1, 2, 8, 1, 0, 0, 0, 1, 0}, false), "not an IDX file");
        assertMessage(write("type", idx(0x0d, new int[] {1}, 4), false), "element type 0xd");
        assertMessage(write("dim", idx(8, new int[] {0}, 0), false), "dimension 0 is 0");
        byte[] good = idx(8, new int[] {4, 5}, 20);
        byte[] gz = gzipped(good);
        assertMessage(write("corrupt.gz", Arrays.copyOf(gz, gz.length - 12), false), "truncated");
        byte[] bad = gz.clone();
        bad[12] ^= 0x55;
        Path p = write("garbled.gz", bad, false);
        IOException e = assertThrows(IOException.class, () -> Idx.read(p));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }

    static byte[] gzipped(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(out)) {
            g.write(b);
        }
        return out.toByteArray();
    }

    static void assertMessage(Path p, String part) {
        IOException e = assertThrows(IOException.class, () -> Idx.read(p));
        assertTrue(e.getMessage().contains(part) && e.getMessage().contains(p.getFileName().toString()), e.getMessage());
    }

    @Test
    void fashionMnistRejectsLabelsOutOfRangeAndMismatchedCounts() {
        Idx.Array images = new Idx.Array(new int[] {2, 2, 2}, new byte[8]);
        IOException e = assertThrows(IOException.class,
                () -> FashionMnist.fromIdx(images, new Idx.Array(new int[] {2}, new byte[] {3, 12}), "t"));
        assertTrue(e.getMessage().contains("label 12 of image 1"), e.getMessage());
        e = assertThrows(IOException.class, () -> FashionMnist.fromIdx(images, new Idx.Array(new int[] {3}, new byte[3]), "t"));
        assertTrue(e.getMessage().contains("2 images"), e.getMessage());
    }

    static Dataset counting(int n) {
        float[] f = new float[n * 2];
        int[] l = new int[n];
        for (int i = 0; i < n; ++i) {
            f[2 * i] = i;
            f[2 * i + 1] = -i;
            l[i] = i % 3;
        }
        return new Dataset(f, l, new long[] {2}, 3);
    }

    @Test
    void datasetChecksLabels() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Dataset(new float[2], new int[] {0, 5}, new long[] {1}, 3));
        assertTrue(e.getMessage().contains("label 5 of sample 1"), e.getMessage());
    }

    @Test
    void splitsAndFoldsPartitionTheData() {
        Dataset d = counting(100);
        Dataset.Split s = d.split(0.2, 1);
        assertEquals(80, s.train().size());
        assertEquals(20, s.validation().size());
        Set<Float> seen = new HashSet<>();
        float[] buf = new float[2];
        for (Dataset part : List.of(s.train(), s.validation()))
            for (int i = 0; i < part.size(); ++i) {
                part.copySample(i, buf, 0);
                assertTrue(seen.add(buf[0]));
                assertEquals((int) buf[0] % 3, part.label(i));
            }
        assertEquals(100, seen.size());
        List<Dataset.Split> folds = d.kFold(5, 2);
        Set<Float> validated = new HashSet<>();
        for (Dataset.Split f : folds) {
            assertEquals(80, f.train().size());
            for (int i = 0; i < f.validation().size(); ++i) {
                f.validation().copySample(i, buf, 0);
                assertTrue(validated.add(buf[0]), "a sample validated twice");
            }
        }
        assertEquals(100, validated.size());
    }

    @Test
    void loaderBatchesShuffleDeterministicallyAndCoverEverySample() {
        Dataset d = counting(10);
        DataLoader l = DataLoader.builder(d).batchSize(4).shuffle(true).seed(3).build();
        assertEquals(3, l.batches());
        Set<Float> seen = new HashSet<>();
        float[] first = null;
        for (DataLoader.Batch b : l.epoch(0)) {
            try (b) {
                float[] f = b.features().toArray();
                if (first == null) first = f;
                assertEquals(b.size() * 2L, f.length);
                assertEquals(b.size(), b.features().size(0));
                for (int i = 0; i < b.size(); ++i) {
                    seen.add(f[2 * i]);
                    assertEquals((int) f[2 * i] % 3, (int) b.labels().get(i));
                }
            }
        }
        assertEquals(10, seen.size());
        try (DataLoader.Batch again = l.epoch(0).iterator().next(); DataLoader.Batch other = l.epoch(1).iterator().next()) {
            assertArrayEquals(first, again.features().toArray());
            assertFalse(Arrays.equals(first, other.features().toArray()));
        }
        assertEquals(2, DataLoader.builder(d).batchSize(4).dropLast(true).build().batches());
    }

    @Test
    void standardizationUsesTheGivenStatistics() {
        Dataset d = counting(4); // values 0, 0, 1, -1, 2, -2, 3, -3: mean 0, variance 28 / 8
        Dataset.Standardization st = d.statistics();
        assertEquals(0.0, st.mean(), 1e-6);
        assertEquals(Math.sqrt(3.5), st.std(), 1e-6);
        Dataset shifted = new Dataset(new float[] {1, 2, 3, 4}, new int[] {0, 1}, new long[] {2}, 3);
        shifted.standardize(st); // another split's statistics apply unchanged
        assertEquals(2.5 / Math.sqrt(3.5), shifted.statistics().mean(), 1e-6);
        d.standardize(st);
        assertEquals(0.0, d.statistics().mean(), 1e-6);
        assertEquals(1.0, d.statistics().std(), 1e-5);
    }
}
