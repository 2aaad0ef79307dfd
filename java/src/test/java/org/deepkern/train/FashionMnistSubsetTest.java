package org.deepkern.train;

import org.deepkern.backend.Backends;
import org.deepkern.data.Dataset;
import org.deepkern.data.FashionMnist;
import org.deepkern.nn.Models;
import org.deepkern.nn.Module;
import org.deepkern.optim.LrSchedule;
import org.deepkern.optim.Optimizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The whole pipeline on real data, kept short for CI: the MLP trained for 2 epochs (250 steps) on
 * the first 4000 Fashion-MNIST training images, with validation and early stopping, must reach
 * 75% on the first 2000 test images (it reaches about 80%; chance is 10%). Skipped when the
 * Debian package dataset-fashion-mnist is not installed (ci/setup.sh installs it).
 */
class FashionMnistSubsetTest {
    @Test
    void mlpLearnsFashionMnistOnASubset() throws IOException {
        Path dir = Path.of(FashionMnist.DEBIAN_DIR);
        Assumptions.assumeTrue(Files.exists(dir.resolve("train-images-idx3-ubyte.gz")), "dataset-fashion-mnist is not installed");
        FashionMnist.Data data = FashionMnist.load(dir);
        Dataset.Split split = data.train().head(4500).split(500.0 / 4500, 1);
        Dataset.Standardization st = split.train().statistics();
        Dataset train = split.train().standardize(st), val = split.validation().standardize(st);
        Dataset test = data.test().head(2000).standardize(st);
        try (var sel = Backends.use("native"); Module mlp = Models.mlp(1);
             Optimizer opt = Optimizer.adam().lr(1e-3).schedule(LrSchedule.cosine(250, 0.1).withWarmup(20)).build(mlp.parameters())) {
            History h = Trainer.builder(mlp, opt).epochs(2).batchSize(32).patience(2).progressBar(false).log(null).build().fit(train, val);
            assertEquals(2, h.epochs().size());
            assertTrue(h.epochs().get(1).trainLoss() < h.epochs().get(0).trainLoss(), "the training loss did not fall");
            Metrics m = Trainer.evaluate(mlp, test, 500, FashionMnist.CLASSES);
            assertEquals(2000, m.count());
            assertTrue(m.accuracy() > 0.75, "test accuracy " + m.accuracy());
            assertTrue(m.macroF1() > 0.7, "macro F1 " + m.macroF1());
        }
    }
}
