package org.deepkern.cli;

import org.deepkern.train.History;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code deepkern plot --csv curves.csv --out curves.png}: redraws a training-curve chart from its CSV. */
@Command(name = "plot", description = "Draw the training curves of a CSV written by train --curves as a PNG.")
final class PlotCommand implements Runnable {
    @Option(names = "--csv", required = true, description = "the CSV written by train --curves")
    Path csv;

    @Option(names = "--out", required = true, description = "the PNG to write")
    Path out;

    @Option(names = "--title", defaultValue = "training", description = "the chart title (default: ${DEFAULT-VALUE})")
    String title;

    @Override
    public void run() {
        Cli.unchecked(() -> {
            History.readCsv(csv).writePng(out, title);
            return null;
        });
        System.out.println("wrote " + out);
    }
}
