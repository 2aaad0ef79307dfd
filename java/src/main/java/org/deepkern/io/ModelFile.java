package org.deepkern.io;

import org.deepkern.data.Dataset;
import org.deepkern.nn.Models;
import org.deepkern.nn.Module;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * A trained model of {@link Models} as one safetensors file: the state dict as tensors, and in
 * the metadata the model's name ("model"), the input standardization ("mean", "std") and
 * anything else the caller adds.
 */
public final class ModelFile {
    private ModelFile() {}

    /** A loaded model with its standardization; close it to free the model. */
    public record Loaded(String name, Module model, Dataset.Standardization standardization, Map<String, String> metadata)
            implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    public static void save(Path file, Module model, String name, Dataset.Standardization st, String testAccuracy) throws IOException {
        SafeTensors.save(file, model.stateDict(), Map.of("model", name, "mean", Float.toString(st.mean()), "std", Float.toString(st.std()),
                "test_accuracy", testAccuracy, "format", "deepkern"));
    }

    /** Reads the file, rebuilds the model named in its metadata and loads the weights (in evaluation mode). */
    public static Loaded load(Path file) throws IOException {
        try (SafeTensors.Contents c = SafeTensors.load(file)) {
            String name = c.metadata().get("model");
            if (name == null) throw new IOException(file + ": the metadata has no 'model' entry (not saved by deepkern train?)");
            float mean, std;
            try {
                mean = Float.parseFloat(c.metadata().getOrDefault("mean", "0"));
                std = Float.parseFloat(c.metadata().getOrDefault("std", "1"));
            } catch (NumberFormatException e) {
                throw new IOException(file + ": bad standardization in the metadata: " + e.getMessage());
            }
            Module m;
            try {
                m = Models.create(name, 0);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + e.getMessage());
            }
            try {
                m.loadStateDict(c.tensors());
            } catch (IllegalArgumentException e) {
                m.close();
                throw new IOException(file + String.format(Locale.ROOT, ": does not fit model '%s': %s", name, e.getMessage()));
            }
            m.eval();
            return new Loaded(name, m, new Dataset.Standardization(mean, std), Map.copyOf(c.metadata()));
        }
    }
}
