package org.deepkern.optim;

/**
 * The learning rate as a factor of the base rate, by optimizer step (0-based). Compose with
 * {@link #withWarmup}.
 */
@FunctionalInterface
public interface LrSchedule {
    double factor(long step);

    static LrSchedule constant() {
        return step -> 1.0;
    }

    /** Multiplies by gamma every {@code stepSize} steps. */
    static LrSchedule step(long stepSize, double gamma) {
        if (stepSize < 1) throw new IllegalArgumentException("stepSize must be >= 1, got " + stepSize);
        return step -> Math.pow(gamma, step / stepSize);
    }

    /** Cosine annealing from 1 to {@code minFactor} over {@code totalSteps}, then minFactor. */
    static LrSchedule cosine(long totalSteps, double minFactor) {
        if (totalSteps < 1) throw new IllegalArgumentException("totalSteps must be >= 1, got " + totalSteps);
        return step -> step >= totalSteps ? minFactor
                : minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * step / totalSteps));
    }

    /** A linear ramp from 1 / warmupSteps to 1 over the first {@code warmupSteps}, then this schedule (counted from the start). */
    default LrSchedule withWarmup(long warmupSteps) {
        if (warmupSteps < 0) throw new IllegalArgumentException("warmupSteps must be >= 0, got " + warmupSteps);
        return step -> step < warmupSteps ? (step + 1.0) / warmupSteps * factor(step) : factor(step);
    }
}
