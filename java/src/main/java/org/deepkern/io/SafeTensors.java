package org.deepkern.io;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format (https://github.com/huggingface/safetensors): an unsigned 64-bit
 * little-endian header length N, N bytes of UTF-8 JSON ({@code {"name": {"dtype": "F32",
 * "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}}) padded
 * with spaces to a multiple of 8, then the tensors' little-endian bytes, offsets relative to the
 * end of the header.
 *
 * <p>Writing is atomic: the bytes go to a temporary file in the same directory, which is forced
 * to disk and renamed over the target, so a crash during a save never loses the previous file.
 * Reading validates every field (header length within the file, JSON object, known dtype F32,
 * non-negative shape, offsets in order, contiguous, inside the data and matching the shape's byte
 * size, no unknown keys, metadata values strings) and throws {@link IOException} naming the file,
 * the tensor and the problem.
 */
public final class SafeTensors {
    private SafeTensors() {}

    private static final long MAX_HEADER = 100L << 20;

    /** A loaded file: the tensors in file order (owned by the caller) and the metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) implements AutoCloseable {
        @Override
        public void close() {
            for (Tensor t : tensors.values()) t.close();
        }
    }

    /** Writes {@code tensors} (F32, in the map's order) and {@code metadata} to {@code file} atomically. */
    public static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        JsonObject header = new JsonObject();
        if (metadata != null && !metadata.isEmpty()) {
            JsonObject md = new JsonObject();
            new TreeMap<>(metadata).forEach(md::addProperty);
            header.add("__metadata__", md);
        }
        long offset = 0;
        List<Tensor> order = new ArrayList<>();
        for (var e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__") || e.getKey().isEmpty())
                throw new IllegalArgumentException("bad tensor name '" + e.getKey() + "'");
            Tensor t = e.getValue();
            JsonObject info = new JsonObject();
            info.addProperty("dtype", "F32");
            JsonArray shape = new JsonArray();
            for (long d : t.shape()) shape.add(d);
            info.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offset += t.numel() * 4;
            offsets.add(offset);
            info.add("data_offsets", offsets);
            header.add(e.getKey(), info);
            order.add(t);
        }
        byte[] json = new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, head);
                for (Tensor t : order) {
                    float[] v = t.toArray();
                    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                    b.asFloatBuffer().put(v);
                    writeFully(ch, b);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // the rename itself reaches the disk
            } catch (IOException ignored) {
                // some file systems cannot open a directory for syncing; the data file is synced
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** Reads and validates {@code file}; the tensors belong to the caller (close the Contents). */
    public static Contents load(Path file) throws IOException {
        long size = Files.size(file);
        if (size < 8) throw new IOException(file + ": truncated safetensors file: " + size + " bytes, the 8-byte header length is missing");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long n = lenBuf.flip().getLong();
            if (n < 2 || n > MAX_HEADER) throw new IOException(file + ": header length " + Long.toUnsignedString(n) + " is out of range [2, " + MAX_HEADER + "]");
            if (8 + n > size) throw new IOException(file + ": truncated safetensors file: the header needs " + n + " bytes, the file has " + (size - 8));
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8, file);
            JsonObject header;
            try {
                JsonElement el = JsonParser.parseString(new String(hb.array(), StandardCharsets.UTF_8));
                if (!el.isJsonObject()) throw new IOException(file + ": the header is not a JSON object");
                header = el.getAsJsonObject();
            } catch (JsonParseException e) {
                throw new IOException(file + ": the header is not valid JSON (" + e.getMessage() + ")", e);
            }
            long dataSize = size - 8 - n;
            Map<String, String> metadata = new LinkedHashMap<>();
            record Entry(String name, long[] shape, long begin, long end) {}
            List<Entry> entries = new ArrayList<>();
            for (var e : header.entrySet()) {
                String name = e.getKey();
                if (name.equals("__metadata__")) {
                    if (!e.getValue().isJsonObject()) throw new IOException(file + ": __metadata__ must be an object of strings");
                    for (var m : e.getValue().getAsJsonObject().entrySet()) {
                        if (!m.getValue().isJsonPrimitive() || !m.getValue().getAsJsonPrimitive().isString())
                            throw new IOException(file + ": __metadata__ value '" + m.getKey() + "' is not a string");
                        metadata.put(m.getKey(), m.getValue().getAsString());
                    }
                    continue;
                }
                String where = file + ": tensor '" + name + "'";
                if (!e.getValue().isJsonObject()) throw new IOException(where + ": its entry is not an object");
                JsonObject o = e.getValue().getAsJsonObject();
                for (String k : o.keySet())
                    if (!k.equals("dtype") && !k.equals("shape") && !k.equals("data_offsets")) throw new IOException(where + ": unknown field '" + k + "'");
                JsonElement dt = o.get("dtype");
                if (dt == null || !dt.isJsonPrimitive()) throw new IOException(where + ": dtype is missing");
                if (!dt.getAsString().equals("F32"))
                    throw new IOException(where + ": dtype " + dt.getAsString() + " is not supported (only F32)");
                long[] shape = longs(o.get("shape"), where + ": shape", -1);
                long[] off = longs(o.get("data_offsets"), where + ": data_offsets", 2);
                long numel = 1;
                for (long d : shape) {
                    if (d < 0) throw new IOException(where + ": negative dimension in the shape");
                    numel = Math.multiplyExact(numel, d);
                }
                if (off[0] < 0 || off[1] < off[0]) throw new IOException(where + ": data_offsets [" + off[0] + ", " + off[1] + "] are not in order");
                if (off[1] > dataSize) throw new IOException(where + ": data_offsets end at " + off[1] + " but the data section has " + dataSize + " bytes (truncated file?)");
                if (off[1] - off[0] != numel * 4)
                    throw new IOException(where + ": data_offsets span " + (off[1] - off[0]) + " bytes but shape needs " + numel * 4);
                entries.add(new Entry(name, shape, off[0], off[1]));
            }
            List<Entry> sorted = new ArrayList<>(entries);
            sorted.sort((a, b) -> Long.compare(a.begin(), b.begin()));
            long expect = 0;
            for (Entry en : sorted) {
                if (en.begin() != expect)
                    throw new IOException(file + ": tensor '" + en.name() + "' starts at byte " + en.begin() + ", expected " + expect
                            + " (tensors must be contiguous, without gaps or overlaps)");
                expect = en.end();
            }
            if (expect != dataSize) throw new IOException(file + ": the data section has " + dataSize + " bytes but the tensors cover " + expect);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            try {
                for (Entry en : entries) {
                    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(en.end() - en.begin())).order(ByteOrder.LITTLE_ENDIAN);
                    readFully(ch, b, 8 + n + en.begin(), file);
                    float[] v = new float[b.capacity() / 4];
                    b.flip().asFloatBuffer().get(v);
                    tensors.put(en.name(), TensorScope.unscoped(() -> Tensor.of(v, en.shape())));
                }
            } catch (IOException | RuntimeException e) {
                for (Tensor t : tensors.values()) t.close();
                throw e;
            }
            return new Contents(tensors, metadata);
        }
    }

    private static long[] longs(JsonElement el, String what, int length) throws IOException {
        if (el == null || !el.isJsonArray()) throw new IOException(what + " is missing or not an array");
        JsonArray a = el.getAsJsonArray();
        if (length >= 0 && a.size() != length) throw new IOException(what + " must have " + length + " entries, got " + a.size());
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; ++i) {
            JsonElement x = a.get(i);
            if (!x.isJsonPrimitive() || !x.getAsJsonPrimitive().isNumber()) throw new IOException(what + "[" + i + "] is not a number");
            double d = x.getAsDouble();
            if (d != Math.rint(d) || Math.abs(d) > 9.0e15) throw new IOException(what + "[" + i + "] = " + x + " is not an integer");
            out[i] = x.getAsLong();
        }
        return out;
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos, Path file) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) throw new IOException(file + ": truncated safetensors file");
        }
    }
}
