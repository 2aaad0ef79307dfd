package org.deepkern.ops;

import java.util.Objects;

/**
 * One fused optimizer update of a parameter tensor of n elements (PyTorch's formulas; see
 * {@code dk_optimizer_step}). state1 is SGD's velocity, Adam's first moment or RMSprop's momentum
 * buffer; state2 is Adam's second moment or RMSprop's square average.
 *
 * @param weightDecay L2 added to the gradient (SGD, Adam, RMSprop) or decoupled (AdamW)
 * @param l1 l1 * sign(p) added to the gradient
 * @param step the 1-based step number (Adam's bias correction)
 */
public record OptimizerSpec(Algorithm algorithm, long n, float lr, float momentum, boolean nesterov, float beta1,
                            float beta2, float eps, float weightDecay, float l1, long step) {
    public enum Algorithm { SGD, ADAM, ADAMW, RMSPROP }

    public OptimizerSpec {
        Objects.requireNonNull(algorithm, "algorithm");
        if (!(lr >= 0) || !Float.isFinite(lr)) throw new IllegalArgumentException("learning rate must be >= 0, got " + lr);
        if (!(momentum >= 0 && momentum < 1)) throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        if (nesterov && momentum == 0) throw new IllegalArgumentException("Nesterov momentum needs momentum > 0");
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        if (!(eps > 0)) throw new IllegalArgumentException("eps must be > 0, got " + eps);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        if (!(l1 >= 0)) throw new IllegalArgumentException("l1 must be >= 0, got " + l1);
    }

    public boolean usesState1() {
        return algorithm == Algorithm.ADAM || algorithm == Algorithm.ADAMW || momentum > 0;
    }

    public boolean usesState2() {
        return algorithm != Algorithm.SGD;
    }
}
