package org.deepkern.backend;

import org.deepkern.DeepKernException;
import org.deepkern.bindings.DeepKern;

/**
 * Loads the native libraries once and turns a native status into the Java exception it stands
 * for: {@link IllegalArgumentException} for bad shapes and values, {@link NullPointerException}
 * for a null pointer, {@link UnsupportedOperationException}, {@link BackendUnavailableException},
 * {@link OutOfMemoryError}, and {@link DeepKernException} for internal failures. The message is
 * the native one, which names the argument.
 */
public final class NativeLib {
    private static volatile Throwable loadFailure;
    private static volatile boolean loaded;

    private NativeLib() {}

    /** Loads libdeepkern and its dependencies; throws UnsatisfiedLinkError when they cannot load. */
    public static void load() {
        if (loaded) return;
        synchronized (NativeLib.class) {
            if (loaded) return;
            if (loadFailure != null) throw linkError(loadFailure);
            try {
                DeepKern.load();
                loaded = true;
            } catch (Throwable t) {
                loadFailure = t;
                throw linkError(t);
            }
        }
    }

    /** Null when the native libraries load; otherwise why they do not. */
    public static String loadProblem() {
        try {
            load();
            return null;
        } catch (UnsatisfiedLinkError e) {
            return e.getMessage();
        }
    }

    private static UnsatisfiedLinkError linkError(Throwable cause) {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("deepkern's native libraries could not be loaded "
                + "(is deepkern-bindings-<version>-linux-x86_64.jar on the class path?): " + cause);
        e.initCause(cause);
        return e;
    }

    /** Throws the exception for a failed native status; returns normally for DK_OK. */
    public static void check(int status) {
        if (status == DeepKern.DK_OK) return;
        String message = DeepKern.dk_last_error();
        switch (status) {
            case DeepKern.DK_INVALID_ARGUMENT -> throw new IllegalArgumentException(message);
            case DeepKern.DK_NULL_POINTER -> throw new NullPointerException(message);
            case DeepKern.DK_UNSUPPORTED -> throw new UnsupportedOperationException(message);
            case DeepKern.DK_UNAVAILABLE -> throw new BackendUnavailableException(message);
            case DeepKern.DK_OUT_OF_MEMORY -> throw new OutOfMemoryError("native: " + message);
            default -> throw new DeepKernException("native status " + status + ": " + message);
        }
    }
}
