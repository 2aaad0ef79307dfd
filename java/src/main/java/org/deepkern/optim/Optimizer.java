package org.deepkern.optim;

import org.deepkern.Autograd;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.ops.BinaryOp;
import org.deepkern.ops.NdSpec;
import org.deepkern.ops.OptimizerSpec;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Updates parameters from their accumulated gradients: one fused backend kernel per parameter
 * tensor per {@link #step()} ({@code dk_optimizer_step} on native). Create one with
 * {@link #sgd()}, {@link #adam()}, {@link #adamW()} or {@link #rmsProp()}:
 *
 * <pre>{@code
 * Optimizer opt = Optimizer.adam().lr(1e-3).weightDecay(1e-4).clipGradNorm(5)
 *         .schedule(LrSchedule.cosine(steps, 0.01).withWarmup(100)).build(model.parameters());
 * }</pre>
 *
 * The optimizer's state (momentum, moments) is owned by it and freed by {@link #close()}.
 */
public final class Optimizer implements AutoCloseable {
    private final OptimizerSpec.Algorithm algorithm;
    private final List<Tensor> params;
    private final double lr;
    private final float momentum, beta1, beta2, eps, weightDecay, l1, clipNorm;
    private final boolean nesterov;
    private final LrSchedule schedule;
    private final Map<Tensor, Tensor[]> state = new IdentityHashMap<>();
    private long steps;

    private Optimizer(Builder b, List<Tensor> params) {
        this.algorithm = b.algorithm;
        this.params = List.copyOf(params);
        this.lr = b.lr;
        this.momentum = b.momentum;
        this.nesterov = b.nesterov;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.eps = b.eps;
        this.weightDecay = b.weightDecay;
        this.l1 = b.l1;
        this.clipNorm = b.clipNorm;
        this.schedule = b.schedule;
        for (Tensor p : this.params)
            if (!p.requiresGrad()) throw new IllegalArgumentException("parameter " + p + " does not require gradients");
        spec(1, (float) lr); // validates the hyper-parameters now rather than at the first step
    }

    /** SGD, optionally with momentum and Nesterov momentum. */
    public static Builder sgd() {
        return new Builder(OptimizerSpec.Algorithm.SGD, 0.01);
    }

    /** Adam (weight decay as L2 added to the gradient). */
    public static Builder adam() {
        return new Builder(OptimizerSpec.Algorithm.ADAM, 1e-3);
    }

    /** AdamW: Adam with decoupled weight decay. */
    public static Builder adamW() {
        return new Builder(OptimizerSpec.Algorithm.ADAMW, 1e-3).weightDecay(0.01);
    }

    /** RMSprop (square-average decay 0.99), optionally with momentum. */
    public static Builder rmsProp() {
        return new Builder(OptimizerSpec.Algorithm.RMSPROP, 0.01).beta2(0.99);
    }

    /** The learning rate of the next step (base rate times the schedule). */
    public double currentLr() {
        return lr * schedule.factor(steps);
    }

    public long steps() {
        return steps;
    }

    private OptimizerSpec spec(long n, float rate) {
        return new OptimizerSpec(algorithm, n, rate, momentum, nesterov, beta1, beta2, eps, weightDecay, l1, steps + 1);
    }

    /**
     * Applies one update to every parameter that has a gradient (clipping the global gradient norm
     * first when configured), then advances the schedule.
     */
    public void step() {
        Backend be = Backends.current();
        float rate = (float) currentLr();
        try (Autograd.NoGradScope ng = Autograd.noGrad()) {
            if (clipNorm > 0) clip(be);
            for (Tensor p : params) {
                Tensor g = p.grad();
                if (g == null) continue;
                OptimizerSpec s = spec(p.numel(), rate);
                Tensor[] st = state.computeIfAbsent(p, k -> TensorScope.unscoped(() -> new Tensor[] {
                        s.usesState1() ? Tensor.zeros(p.shape()) : null, s.usesState2() ? Tensor.zeros(p.shape()) : null}));
                be.optimizerStep(s, p, st[0], st[1], g);
            }
        }
        steps++;
    }

    /** The global L2 norm of all gradients. */
    public double gradNorm() {
        double sq = 0;
        for (Tensor p : params) {
            Tensor g = p.grad();
            if (g == null) continue;
            for (float v : g.toArray()) sq += (double) v * v;
        }
        return Math.sqrt(sq);
    }

    private void clip(Backend be) {
        double norm = gradNorm();
        if (norm <= clipNorm || norm == 0) return;
        try (Tensor k = Tensor.of(new float[] {(float) (clipNorm / norm)}, 1)) {
            for (Tensor p : params) {
                Tensor g = p.grad();
                if (g != null) be.binary(BinaryOp.MUL, NdSpec.binary("mul", g, g, k), g, g, k);
            }
        }
    }

    /** Frees every parameter's gradient (call before the next backward). */
    public void zeroGrad() {
        for (Tensor p : params) p.clearGrad();
    }

    /** Frees the optimizer state. */
    @Override
    public void close() {
        for (Tensor[] st : state.values())
            for (Tensor t : st) if (t != null) t.close();
        state.clear();
    }

    public static final class Builder {
        private final OptimizerSpec.Algorithm algorithm;
        private double lr;
        private float momentum = 0, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weightDecay = 0, l1 = 0, clipNorm = 0;
        private boolean nesterov;
        private LrSchedule schedule = LrSchedule.constant();

        private Builder(OptimizerSpec.Algorithm algorithm, double lr) {
            this.algorithm = algorithm;
            this.lr = lr;
        }

        /** The base learning rate. */
        public Builder lr(double v) { lr = v; return this; }
        /** SGD / RMSprop momentum in [0, 1). */
        public Builder momentum(double v) { momentum = (float) v; return this; }
        /** SGD: Nesterov momentum (needs momentum > 0). */
        public Builder nesterov(boolean v) { nesterov = v; return this; }
        /** Adam's first-moment decay. */
        public Builder beta1(double v) { beta1 = (float) v; return this; }
        /** Adam's second-moment decay; RMSprop's square-average decay. */
        public Builder beta2(double v) { beta2 = (float) v; return this; }
        public Builder eps(double v) { eps = (float) v; return this; }
        /** L2 penalty (decoupled for AdamW). */
        public Builder weightDecay(double v) { weightDecay = (float) v; return this; }
        /** L1 penalty: l1 * sign(p) added to the gradient. */
        public Builder l1(double v) { l1 = (float) v; return this; }
        /** Scales all gradients down so that their global L2 norm is at most {@code maxNorm} (0: off). */
        public Builder clipGradNorm(double maxNorm) {
            if (!(maxNorm >= 0)) throw new IllegalArgumentException("maxNorm must be >= 0, got " + maxNorm);
            clipNorm = (float) maxNorm;
            return this;
        }
        public Builder schedule(LrSchedule v) { schedule = Objects.requireNonNull(v, "schedule"); return this; }

        public Optimizer build(List<Tensor> parameters) {
            return new Optimizer(this, new ArrayList<>(Objects.requireNonNull(parameters, "parameters")));
        }
    }
}
