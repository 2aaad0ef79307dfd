package org.deepkern.cli;

import java.io.IOException;
import java.io.UncheckedIOException;

/** Small helpers of the commands. */
final class Cli {
    private Cli() {}

    interface IoSupplier<T> {
        T get() throws IOException;
    }

    /** Runs an I/O action, turning IOException into UncheckedIOException (printed as "error: ..."). */
    static <T> T unchecked(IoSupplier<T> body) {
        try {
            return body.get();
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }
}
