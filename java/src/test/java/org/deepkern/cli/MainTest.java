package org.deepkern.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class MainTest {
    private static String run(int expectedExit, String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertEquals(expectedExit, Main.run(args));
        } finally {
            System.setOut(saved);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void infoListsVersionFeaturesBackendsAndThreads() {
        String out = run(0, "info");
        assertTrue(out.startsWith("deepkern "), out);
        assertTrue(out.contains("cpu features: "), out);
        assertTrue(out.matches("(?s).*threads: \\d+.*"), out);
        for (String b : new String[] {"java:", "native:", "onednn:", "cuda:"}) assertTrue(out.contains(b), out);
        assertTrue(out.matches("(?s).*onednn: +cpu +available.*"), out);
    }

    @Test
    void compareReportsEveryAvailableBackend() {
        String out = run(0, "compare", "--shape", "33x17x9", "--repeat", "1");
        assertTrue(out.matches("(?s).*33x17x9 +native +sgemm_[a-z0-9]+_[0-9]+x[0-9]+ .*"), out);
        assertTrue(out.matches("(?s).*33x17x9 +onednn +onednn .*"), out);
    }

    @Test
    void badArgumentsFailWithAMessage() {
        assertNotEquals(0, Main.run("compare", "--shape", "3x3"));
        assertNotEquals(0, Main.run("nosuchcommand"));
    }
}
