package org.deepkern.backend;

/**
 * Whether a backend can run here, and why not.
 *
 * @param available true when the backend runs on this machine
 * @param reason why it does not (null when available)
 */
public record Availability(boolean available, String reason) {
    public static Availability yes() {
        return new Availability(true, null);
    }

    public static Availability no(String reason) {
        return new Availability(false, reason);
    }

    /** "available" or "unavailable: reason". */
    public String describe() {
        return available ? "available" : "unavailable: " + reason;
    }
}
