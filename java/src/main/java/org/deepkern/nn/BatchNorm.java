package org.deepkern.nn;

import org.deepkern.Tensor;

/**
 * Batch normalization per channel with learned gamma and beta [C] and running statistics
 * (buffers running_mean, running_var [C]): {@link #batchNorm1d} over [N, C], {@link #batchNorm2d}
 * over [N, C, H, W]. Training uses the batch's statistics and updates the running ones
 * (running = (1 - momentum) running + momentum batch, unbiased variance); evaluation uses the
 * running ones.
 */
public final class BatchNorm extends Module {
    private final Tensor gamma, beta, runningMean, runningVar;
    private final long channels;
    private final int rank;
    private final float eps, momentum;

    private BatchNorm(long channels, int rank, float eps, float momentum) {
        if (channels < 1) throw new IllegalArgumentException("BatchNorm needs channels >= 1, got " + channels);
        this.channels = channels;
        this.rank = rank;
        this.eps = eps;
        this.momentum = momentum;
        gamma = addParameter("weight", owned(() -> Tensor.zeros(channels).fill(1.0f)));
        beta = addParameter("bias", owned(() -> Tensor.zeros(channels)));
        runningMean = addBuffer("running_mean", owned(() -> Tensor.zeros(channels)));
        runningVar = addBuffer("running_var", owned(() -> Tensor.zeros(channels).fill(1.0f)));
    }

    /** Over [N, C] (after a Linear layer); eps 1e-5, momentum 0.1. */
    public static BatchNorm batchNorm1d(long channels) {
        return new BatchNorm(channels, 2, 1e-5f, 0.1f);
    }

    /** Over [N, C, H, W] (after a Conv2d layer); eps 1e-5, momentum 0.1. */
    public static BatchNorm batchNorm2d(long channels) {
        return new BatchNorm(channels, 4, 1e-5f, 0.1f);
    }

    /** x [N, C] (1d) or [N, C, H, W] (2d) -> the same shape. */
    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() != rank)
            throw new IllegalArgumentException("BatchNorm" + (rank == 2 ? "1d" : "2d") + "(" + channels + ") expects "
                    + (rank == 2 ? "[batch, " + channels + "]" : "[batch, " + channels + ", height, width]") + ", got "
                    + java.util.Arrays.toString(x.shape()));
        return Functional.batchNorm(x, gamma, beta, runningMean, runningVar, eps, momentum, isTraining());
    }

    @Override
    protected String describe() {
        return "BatchNorm" + (rank == 2 ? "1d" : "2d") + "(" + channels + ")";
    }
}
