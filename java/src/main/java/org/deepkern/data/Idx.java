package org.deepkern.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * Reads the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed, detected from the
 * gzip magic bytes): a magic number 0x0000 TT RR (TT the element type, RR the rank), RR big-endian
 * int32 dimensions, then the elements. Only unsigned bytes (type 0x08), the type of the image and
 * label files, are read. A wrong magic number, a non-positive dimension or a file that ends
 * early throws {@link IOException} naming the file and the problem.
 */
public final class Idx {
    private Idx() {}

    /** The dimensions and the bytes of an IDX file of unsigned bytes. */
    public record Array(int[] shape, byte[] data) {
        public int count() {
            return shape[0];
        }

        /** Elements per item: the product of the dimensions after the first. */
        public int itemSize() {
            int n = 1;
            for (int i = 1; i < shape.length; ++i) n *= shape[i];
            return n;
        }

        @Override
        public String toString() {
            return "Idx.Array" + Arrays.toString(shape);
        }
    }

    public static Array read(Path file) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
            raw.mark(2);
            int b0 = raw.read(), b1 = raw.read();
            raw.reset();
            InputStream in = b0 == 0x1f && b1 == 0x8b ? new GZIPInputStream(raw, 1 << 16) : raw;
            return read(in, file.toString());
        } catch (EOFException e) {
            throw new IOException(file + ": truncated gzip data (" + e.getMessage() + ")", e);
        } catch (java.util.zip.ZipException e) {
            throw new IOException(file + ": corrupt gzip data (" + e.getMessage() + ")", e);
        }
    }

    /** Reads from a stream; {@code name} is used in messages. */
    public static Array read(InputStream stream, String name) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        int magic;
        try {
            magic = in.readInt();
        } catch (EOFException e) {
            throw new IOException(name + ": truncated IDX file: no 4-byte magic number");
        }
        if ((magic >>> 16) != 0)
            throw new IOException(name + ": not an IDX file: magic number 0x" + Integer.toHexString(magic) + " does not start with two zero bytes");
        int type = (magic >>> 8) & 0xff, rank = magic & 0xff;
        if (type != 0x08)
            throw new IOException(name + ": IDX element type 0x" + Integer.toHexString(type) + " is not supported (only unsigned bytes, 0x08)");
        if (rank < 1 || rank > 4) throw new IOException(name + ": IDX rank " + rank + " is out of range [1, 4]");
        int[] shape = new int[rank];
        long total = 1;
        for (int i = 0; i < rank; ++i) {
            try {
                shape[i] = in.readInt();
            } catch (EOFException e) {
                throw new IOException(name + ": truncated IDX header: dimension " + i + " of " + rank + " is missing");
            }
            if (shape[i] < 1) throw new IOException(name + ": IDX dimension " + i + " is " + shape[i] + ", must be >= 1");
            total *= shape[i];
            if (total > Integer.MAX_VALUE - 16) throw new IOException(name + ": IDX array of shape " + Arrays.toString(shape) + " is too large");
        }
        byte[] data = new byte[(int) total];
        int got = in.readNBytes(data, 0, data.length);
        if (got < data.length)
            throw new IOException(name + ": truncated IDX file: shape " + Arrays.toString(shape) + " needs " + data.length
                    + " bytes of data, found " + got);
        return new Array(shape, data);
    }
}
