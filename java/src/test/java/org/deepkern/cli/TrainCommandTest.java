package org.deepkern.cli;

import org.deepkern.data.FashionMnist;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** train, eval and bench through the command line: the promised last lines, the saved model, bad arguments. */
class TrainCommandTest {
    @TempDir
    Path dir;

    private static String[] run(int expectedExit, String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            assertEquals(expectedExit, Main.run(args), () -> o.toString(StandardCharsets.UTF_8) + e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new String[] {o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void trainEndsWithAccuracyAndThroughputAndEvalReadsTheModelBack() {
        Assumptions.assumeTrue(Files.exists(Path.of(FashionMnist.DEBIAN_DIR, "train-images-idx3-ubyte.gz")), "dataset-fashion-mnist is not installed");
        Path model = dir.resolve("mlp.safetensors");
        String out = run(0, "train", "--model", "mlp", "--epochs", "1", "--limit", "1000", "--batch", "50", "--no-progress",
                "--out", model.toString(), "--curves", dir.resolve("c").toString())[0];
        String[] lines = out.strip().split("\n");
        assertTrue(lines[lines.length - 2].matches("test accuracy: 0\\.\\d{4}"), out);
        assertTrue(lines[lines.length - 1].matches("throughput: \\d+ samples/s"), out);
        assertTrue(out.contains("macro avg") && out.contains("Ankle boot"), out);
        assertTrue(Files.exists(dir.resolve("c.png")) && Files.exists(dir.resolve("c.csv")));
        String accuracy = lines[lines.length - 2];
        String eval = run(0, "eval", "--model-file", model.toString())[0];
        assertTrue(eval.strip().endsWith(accuracy), "eval must reproduce the training run's test accuracy:\n" + eval);
    }

    @Test
    void badArgumentsAreNamed() {
        assertTrue(run(1, "train", "--model", "transformer", "--data", dir.toString())[1].contains("error:"));
        String err = run(1, "train", "--data", dir.toString())[1];
        assertTrue(err.contains("not found in " + dir), err);
        err = run(1, "eval", "--model-file", dir.resolve("missing.safetensors").toString())[1];
        assertTrue(err.contains("missing.safetensors"), err);
    }

    @Test
    void benchComparesBackends() {
        String out = run(0, "bench", "--model", "mlp", "--batch", "8", "--steps", "1", "--backends", "native,java")[0];
        assertTrue(out.matches("(?s).*native +[0-9.]+ +\\d+.*java +[0-9.]+ +\\d+.*"), out);
    }
}
