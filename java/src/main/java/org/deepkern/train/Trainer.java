package org.deepkern.train;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.deepkern.Autograd;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.data.Augmentation;
import org.deepkern.data.DataLoader;
import org.deepkern.data.Dataset;
import org.deepkern.nn.Functional;
import org.deepkern.nn.Module;
import org.deepkern.optim.Optimizer;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Trains a classifier with softmax cross-entropy: epochs of shuffled mini-batches, the optimizer
 * after every batch, validation after every epoch, and early stopping on the validation loss that
 * restores the best epoch's weights. Every step runs in its own {@link TensorScope}, so the
 * activations, gradients of intermediates and batch tensors of a step are freed when it ends.
 *
 * <pre>{@code
 * Trainer trainer = Trainer.builder(model, optimizer).epochs(10).batchSize(64).patience(3).build();
 * History history = trainer.fit(train, validation);
 * Metrics test = Trainer.evaluate(model, testSet, 256, FashionMnist.CLASSES);
 * }</pre>
 */
public final class Trainer {
    private final Module model;
    private final Optimizer optimizer;
    private final int epochs, batchSize, patience;
    private final float labelSmoothing;
    private final boolean progressBar;
    private final long seed;
    private final Augmentation augmentation;
    private final PrintStream log;

    private Trainer(Builder b) {
        model = b.model;
        optimizer = b.optimizer;
        if (b.epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + b.epochs);
        if (b.batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + b.batchSize);
        epochs = b.epochs;
        batchSize = b.batchSize;
        patience = b.patience;
        labelSmoothing = b.labelSmoothing;
        progressBar = b.progressBar;
        seed = b.seed;
        augmentation = b.augmentation;
        log = b.log;
    }

    public static Builder builder(Module model, Optimizer optimizer) {
        return new Builder(model, optimizer);
    }

    /**
     * Trains on {@code train}, validating on {@code validation} (may be null: no validation and no
     * early stopping) after every epoch.
     */
    public History fit(Dataset train, Dataset validation) {
        DataLoader loader = DataLoader.builder(train).batchSize(batchSize).shuffle(true).seed(seed).augment(augmentation).build();
        History history = new History();
        double best = Double.POSITIVE_INFINITY;
        Map<String, float[]> bestWeights = null;
        int bestEpoch = -1, sinceBest = 0;
        for (int epoch = 1; epoch <= epochs; ++epoch) {
            model.train(true);
            double lossSum = 0, lr = optimizer.currentLr();
            long correct = 0, seen = 0;
            long start = System.nanoTime();
            try (ProgressBar bar = progressBar ? new ProgressBarBuilder().setTaskName(String.format(Locale.ROOT, "epoch %d/%d", epoch, epochs))
                    .setInitialMax(loader.batches()).setStyle(ProgressBarStyle.ASCII).continuousUpdate().setUpdateIntervalMillis(500)
                    .build() : null) {
                for (DataLoader.Batch batch : loader.epoch(epoch - 1)) {
                    try (TensorScope step = TensorScope.open(); batch) {
                        Tensor logits = model.forward(batch.features());
                        Tensor loss = Functional.crossEntropy(logits, batch.labels(), labelSmoothing);
                        float l = loss.get();
                        if (!Float.isFinite(l)) throw new IllegalStateException("the training loss became " + l + " in epoch " + epoch);
                        lossSum += (double) l * batch.size();
                        correct += countCorrect(logits.toArray(), batch.labels().toArray(), (int) logits.size(1));
                        seen += batch.size();
                        loss.backward();
                        optimizer.step();
                        optimizer.zeroGrad();
                    }
                    if (bar != null) {
                        bar.step();
                        bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f acc %.4f", lossSum / seen, (double) correct / seen));
                    }
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double vLoss = Double.NaN, vAcc = Double.NaN;
            if (validation != null) {
                Evaluation ev = evaluate(model, validation, Math.max(batchSize, 256), labelSmoothing, Metrics.forClasses(validation.classes()));
                vLoss = ev.loss();
                vAcc = ev.metrics().accuracy();
            }
            History.Epoch e = new History.Epoch(epoch, lossSum / seen, (double) correct / seen, vLoss, vAcc, lr, seconds, seen / seconds);
            history.add(e);
            if (log != null)
                log.printf(Locale.ROOT, "epoch %2d  train loss %.4f acc %.4f  validation loss %.4f acc %.4f  lr %.2e  %.1f s (%.0f samples/s)%n",
                        epoch, e.trainLoss(), e.trainAccuracy(), vLoss, vAcc, lr, seconds, e.samplesPerSecond());
            if (validation != null && patience > 0) {
                if (vLoss < best) {
                    best = vLoss;
                    bestEpoch = epoch;
                    bestWeights = model.snapshot();
                    sinceBest = 0;
                } else if (++sinceBest >= patience) {
                    if (log != null) log.printf("early stopping: no validation-loss improvement for %d epochs%n", patience);
                    break;
                }
            }
        }
        if (bestWeights != null && bestEpoch != history.epochs().get(history.epochs().size() - 1).epoch()) {
            model.restore(bestWeights);
            if (log != null) log.printf("restored the weights of epoch %d (best validation loss %.4f)%n", bestEpoch, best);
        }
        history.setBestEpoch(bestEpoch);
        model.eval();
        return history;
    }

    private static long countCorrect(float[] logits, float[] labels, int k) {
        long ok = 0;
        for (int i = 0; i < labels.length; ++i) if (Metrics.argmax(logits, i * k, k) == (int) labels[i]) ok++;
        return ok;
    }

    /** Mean loss and the metrics of one pass over a dataset. */
    public record Evaluation(double loss, Metrics metrics) {}

    /** The metrics of {@code model} (in evaluation mode, no tape) on {@code data}, classes named {@code classNames}. */
    public static Metrics evaluate(Module model, Dataset data, int batchSize, List<String> classNames) {
        return evaluate(model, data, batchSize, 0.0f, new Metrics(classNames)).metrics();
    }

    static Evaluation evaluate(Module model, Dataset data, int batchSize, float smoothing, Metrics metrics) {
        Objects.requireNonNull(data, "data");
        boolean wasTraining = model.isTraining();
        model.eval();
        double lossSum = 0;
        try (Autograd.NoGradScope ng = Autograd.noGrad()) {
            DataLoader loader = DataLoader.builder(data).batchSize(batchSize).shuffle(false).build();
            for (DataLoader.Batch batch : loader.epoch(0)) {
                try (TensorScope s = TensorScope.open(); batch) {
                    Tensor logits = model.forward(batch.features());
                    lossSum += (double) Functional.crossEntropy(logits, batch.labels(), smoothing).get() * batch.size();
                    metrics.addLogits(logits.toArray(), batch.labels().toArray());
                }
            }
        } finally {
            model.train(wasTraining);
        }
        return new Evaluation(lossSum / Math.max(1, data.size()), metrics);
    }

    public static final class Builder {
        private final Module model;
        private final Optimizer optimizer;
        private int epochs = 10, batchSize = 64, patience = 0;
        private float labelSmoothing;
        private boolean progressBar = true;
        private long seed = 1;
        private Augmentation augmentation;
        private PrintStream log = System.out;

        private Builder(Module model, Optimizer optimizer) {
            this.model = Objects.requireNonNull(model, "model");
            this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
        }

        public Builder epochs(int v) { epochs = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        /** Early stopping: stop after this many epochs without a lower validation loss and restore the best weights (0: off). */
        public Builder patience(int v) { patience = v; return this; }
        public Builder labelSmoothing(float v) { labelSmoothing = v; return this; }
        /** A progress bar on the terminal (default on). */
        public Builder progressBar(boolean v) { progressBar = v; return this; }
        /** The shuffling seed. */
        public Builder seed(long v) { seed = v; return this; }
        /** Transform the training samples (never validation or test ones); default none. */
        public Builder augment(Augmentation v) { augmentation = v; return this; }
        /** Where the per-epoch lines go (null: nowhere). */
        public Builder log(PrintStream v) { log = v; return this; }
        public Trainer build() { return new Trainer(this); }
    }
}
