package org.deepkern.io;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.nn.Models;
import org.deepkern.nn.Module;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The byte layout, round trips, the model file, and one test per rule the reader enforces. */
class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void layoutIsTheSafetensorsFormat() throws IOException {
        Path f = dir.resolve("a.safetensors");
        try (TensorScope s = TensorScope.open()) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("w", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
            m.put("b", Tensor.of(new float[] {-1.5f}, 1));
            SafeTensors.save(f, m, Map.of("k", "v"));
        }
        byte[] bytes = Files.readAllBytes(f);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong();
        assertEquals(0, n % 8, "the header is padded to 8 bytes");
        String json = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(json.contains("\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"), json);
        assertTrue(json.contains("\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]}"), json);
        assertTrue(json.contains("\"__metadata__\":{\"k\":\"v\"}"), json);
        assertEquals(8 + n + 28, bytes.length);
        b.position((int) (8 + n));
        assertEquals(1.0f, b.getFloat());
        b.position((int) (8 + n + 24));
        assertEquals(-1.5f, b.getFloat());
        try (SafeTensors.Contents c = SafeTensors.load(f)) {
            assertEquals(java.util.List.of("w", "b"), java.util.List.copyOf(c.tensors().keySet()));
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.tensors().get("w").toArray());
            assertArrayEquals(new long[] {2, 3}, c.tensors().get("w").shape());
            assertEquals("v", c.metadata().get("k"));
        }
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void aModelRoundTripsThroughAFile() throws IOException {
        Path f = dir.resolve("cnn.safetensors");
        try (TensorScope s = TensorScope.open(); Module a = Models.cnn(5)) {
            ModelFile.save(f, a, "cnn", new org.deepkern.data.Dataset.Standardization(0.3f, 0.4f), "0.5");
            try (ModelFile.Loaded l = ModelFile.load(f)) {
                assertEquals("cnn", l.name());
                assertEquals(0.4f, l.standardization().std());
                for (var e : a.stateDict().entrySet())
                    assertArrayEquals(e.getValue().toArray(), l.model().stateDict().get(e.getKey()).toArray(), e.getKey());
                Tensor x = Tensor.rand(1, 2, 1, 28, 28);
                assertArrayEquals(a.eval().forward(x).toArray(), l.model().forward(x).toArray(), 1e-6f);
            }
        }
    }

    @Test
    void aFailedSaveKeepsThePreviousFile() throws IOException {
        Path f = dir.resolve("keep.safetensors");
        try (TensorScope s = TensorScope.open()) {
            SafeTensors.save(f, Map.of("x", Tensor.of(new float[] {7}, 1)), Map.of());
            byte[] before = Files.readAllBytes(f);
            Tensor closed = Tensor.of(new float[] {1, 2}, 2);
            closed.close();
            assertThrows(IllegalStateException.class, () -> SafeTensors.save(f, Map.of("x", closed), Map.of()));
            assertArrayEquals(before, Files.readAllBytes(f));
            try (var files = Files.list(dir)) {
                assertEquals(1, files.count());
            }
        }
    }

    /** A file with the given header and data bytes. */
    Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    void rejects(Path p, String part) {
        IOException e = assertThrows(IOException.class, () -> SafeTensors.load(p));
        assertTrue(e.getMessage().contains(part), e.getMessage());
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void everyHeaderFieldIsValidated() throws IOException {
        String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        try (SafeTensors.Contents c = SafeTensors.load(file(ok, 8))) {
            assertEquals(1, c.tensors().size());
        }
        rejects(file(ok, 4), "data_offsets end at 8");
        rejects(file(ok, 12), "the data section has 12 bytes");
        rejects(file("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), "dtype F16 is not supported");
        rejects(file("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "dtype is missing");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "shape needs 12");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), "negative dimension");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8), "not in order");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8), "must have 2 entries");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8), "unknown field 'x'");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "without gaps or overlaps");
        rejects(file("{\"__metadata__\":{\"k\":3}}", 0), "is not a string");
        rejects(file("[1,2]", 0), "not a JSON object");
        rejects(file("{\"a\":", 0), "not valid JSON");
        Path shortFile = dir.resolve("short.safetensors");
        Files.write(shortFile, new byte[] {1, 2, 3});
        rejects(shortFile, "truncated");
        Path huge = file("{}", 0);
        byte[] bytes = Files.readAllBytes(huge);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Files.write(huge, bytes);
        rejects(huge, "the header needs 1000 bytes");
    }

    @Test
    void aStateThatDoesNotFitTheModelIsNamed() throws IOException {
        Path f = dir.resolve("mlp.safetensors");
        try (TensorScope s = TensorScope.open(); Module mlp = Models.mlp(1)) {
            Map<String, Tensor> state = new LinkedHashMap<>(mlp.stateDict());
            state.put("1.weight", Tensor.zeros(3, 3));
            SafeTensors.save(f, state, Map.of("model", "mlp"));
            IOException e = assertThrows(IOException.class, () -> ModelFile.load(f));
            assertTrue(e.getMessage().contains("'1.weight' is [3, 3] but the model needs [512, 784]"), e.getMessage());
            assertFalse(Arrays.asList(e.getMessage().split(" ")).isEmpty());
        }
    }
}
