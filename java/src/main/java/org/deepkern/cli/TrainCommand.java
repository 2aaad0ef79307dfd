package org.deepkern.cli;

import org.deepkern.Library;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.data.Augmentation;
import org.deepkern.data.Dataset;
import org.deepkern.data.FashionMnist;
import org.deepkern.io.ModelFile;
import org.deepkern.nn.Models;
import org.deepkern.nn.Module;
import org.deepkern.optim.LrSchedule;
import org.deepkern.optim.Optimizer;
import org.deepkern.train.History;
import org.deepkern.train.Metrics;
import org.deepkern.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code deepkern train}: trains a model on Fashion-MNIST, evaluates it on the test set and saves
 * it. Ends with the lines {@code test accuracy: 0.NNNN} and {@code throughput: N samples/s}.
 */
@Command(name = "train", description = "Train a model on Fashion-MNIST, evaluate it on the test set, save it.")
final class TrainCommand implements Runnable {
    @Option(names = "--dataset", defaultValue = "fashion-mnist", description = "the dataset (only fashion-mnist)")
    String dataset;

    @Option(names = "--data", defaultValue = FashionMnist.DEBIAN_DIR, description = "folder with the IDX files (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--model", defaultValue = "cnn", description = "cnn, mlp or resnet (default: ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--epochs", defaultValue = "10", description = "epochs (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--batch", defaultValue = "64", description = "mini-batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--backend", defaultValue = "native", description = "java, native or onednn (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--threads", description = "native/oneDNN thread budget (default: available processors)")
    Integer threads;

    @Option(names = "--optimizer", defaultValue = "adam", description = "adam, adamw, sgd or rmsprop (default: ${DEFAULT-VALUE})")
    String optimizer;

    @Option(names = "--lr", description = "base learning rate (default: 1e-3 for adam/adamw, 0.05 for sgd, 1e-3 for rmsprop)")
    Double lr;

    @Option(names = "--validation", defaultValue = "0.1", description = "fraction of the training set held out for validation and early stopping (0: none; default: ${DEFAULT-VALUE})")
    double validation;

    @Option(names = "--patience", defaultValue = "3", description = "early-stopping patience in epochs (0: off; default: ${DEFAULT-VALUE})")
    int patience;

    @Option(names = "--limit", description = "train on the first N training images only (quick runs)")
    Integer limit;

    @Option(names = "--seed", defaultValue = "1", description = "initialization and shuffling seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", description = "where to save the trained model (safetensors)")
    Path out;

    @Option(names = "--curves", description = "write the training curves to <prefix>.csv and <prefix>.png")
    Path curves;

    @Option(names = "--augment", description = "augment the training images: random shifts by up to 2 pixels and horizontal flips")
    boolean augment;

    @Option(names = "--no-progress", description = "no progress bar")
    boolean noProgress;

    @Override
    public void run() {
        if (!dataset.equals("fashion-mnist")) throw new IllegalArgumentException("unknown dataset '" + dataset + "'; known: fashion-mnist");
        if (threads != null) Library.setThreads(threads);
        Backend be = Backends.get(backend);
        be.requireAvailable();
        FashionMnist.Data d = Cli.unchecked(() -> FashionMnist.load(data));
        Dataset train = limit != null ? d.train().head(limit) : d.train();
        Dataset val = null;
        if (validation > 0) {
            Dataset.Split split = train.split(validation, seed);
            train = split.train();
            val = split.validation();
        }
        Dataset.Standardization st = train.statistics(); // training-split statistics only
        train.standardize(st);
        if (val != null) val.standardize(st);
        Dataset test = d.test().standardize(st);
        System.out.printf(Locale.ROOT, "data: %d training, %d validation, %d test images; standardized with mean %.4f, std %.4f%n",
                train.size(), val == null ? 0 : val.size(), test.size(), st.mean(), st.std());
        System.out.printf("backend: %s, threads: %d, model: %s, optimizer: %s, batch %d, %d epochs%s%n", be.name(), Library.threads(), model,
                optimizer, batch, epochs, augment ? ", augmented (shifts up to 2 pixels, flips)" : "");
        try (var sel = Backends.use(be); Module net = Models.create(model, seed)) {
            System.out.print(net);
            System.out.printf("parameters: %d%n", net.parameterCount());
            long steps = (long) epochs * ((train.size() + batch - 1) / batch);
            try (Optimizer opt = optimizer(steps, net)) {
                Trainer trainer = Trainer.builder(net, opt).epochs(epochs).batchSize(batch).patience(val == null ? 0 : patience)
                        .progressBar(!noProgress).seed(seed)
                        .augment(augment ? Augmentation.shiftAndFlip(2, true, st.standardized(0f)) : null).build();
                History history = trainer.fit(train, val);
                if (curves != null) {
                    Cli.unchecked(() -> {
                        history.writeCsv(Path.of(curves + ".csv"));
                        history.writePng(Path.of(curves + ".png"), model + " on Fashion-MNIST (" + be.name() + ")");
                        return null;
                    });
                    System.out.println("curves: " + curves + ".csv, " + curves + ".png");
                }
                Metrics m = Trainer.evaluate(net, test, 256, FashionMnist.CLASSES);
                System.out.println();
                System.out.print(m.report());
                if (out != null) {
                    Cli.unchecked(() -> {
                        ModelFile.save(out, net, model, st, String.format(Locale.ROOT, "%.4f", m.accuracy()));
                        return null;
                    });
                    System.out.println("saved: " + out);
                }
                System.out.printf(Locale.ROOT, "test accuracy: %.4f%n", m.accuracy());
                System.out.printf(Locale.ROOT, "throughput: %.0f samples/s%n", history.samplesPerSecond());
            }
        }
    }

    private Optimizer optimizer(long steps, Module net) {
        Optimizer.Builder b = switch (optimizer) {
            case "adam" -> Optimizer.adam().lr(lr != null ? lr : 1e-3);
            case "adamw" -> Optimizer.adamW().lr(lr != null ? lr : 1e-3).weightDecay(1e-2);
            case "sgd" -> Optimizer.sgd().lr(lr != null ? lr : 0.05).momentum(0.9).nesterov(true).weightDecay(5e-4);
            case "rmsprop" -> Optimizer.rmsProp().lr(lr != null ? lr : 1e-3);
            default -> throw new IllegalArgumentException("unknown optimizer '" + optimizer + "'; known: adam, adamw, sgd, rmsprop");
        };
        return b.schedule(LrSchedule.cosine(steps, 0.01).withWarmup(Math.min(200, steps / 10))).build(net.parameters());
    }
}
