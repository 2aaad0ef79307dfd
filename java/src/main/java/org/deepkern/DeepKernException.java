package org.deepkern;

/** A failure inside the library or a vendor library that is not the caller's input. */
public class DeepKernException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DeepKernException(String message) {
        super(message);
    }
}
