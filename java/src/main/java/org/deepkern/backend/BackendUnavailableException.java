package org.deepkern.backend;

/** The chosen backend cannot run on this machine; the message says why. */
public class BackendUnavailableException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public BackendUnavailableException(String message) {
        super(message);
    }
}
