package org.deepkern.train;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The per-epoch record of a training run, written as CSV and as a PNG chart (loss and accuracy). */
public final class History {
    /** One epoch: losses are means over samples; validation fields are NaN without a validation set. */
    public record Epoch(int epoch, double trainLoss, double trainAccuracy, double validationLoss, double validationAccuracy,
                        double learningRate, double seconds, double samplesPerSecond) {}

    private final List<Epoch> epochs = new ArrayList<>();
    private int bestEpoch = -1;

    void add(Epoch e) {
        epochs.add(e);
    }

    void setBestEpoch(int e) {
        bestEpoch = e;
    }

    public List<Epoch> epochs() {
        return List.copyOf(epochs);
    }

    /** The epoch whose weights the model holds after early stopping restored them (-1 when not used). */
    public int bestEpoch() {
        return bestEpoch;
    }

    /** Training samples per second over all epochs (training steps only, validation excluded). */
    public double samplesPerSecond() {
        double s = 0, n = 0;
        for (Epoch e : epochs) {
            s += e.seconds();
            n += e.samplesPerSecond() * e.seconds();
        }
        return s == 0 ? 0 : n / s;
    }

    /** Reads a file written by {@link #writeCsv} (to redraw a chart). */
    public static History readCsv(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).startsWith("epoch,train_loss"))
            throw new IOException(file + ": not a training-curve CSV (the header line is missing)");
        History h = new History();
        for (int i = 1; i < lines.size(); ++i) {
            String[] f = lines.get(i).split(",");
            if (f.length != 8) throw new IOException(file + ": line " + (i + 1) + " has " + f.length + " fields, expected 8");
            try {
                h.add(new Epoch(Integer.parseInt(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                        Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7])));
            } catch (NumberFormatException e) {
                throw new IOException(file + ": line " + (i + 1) + ": " + e.getMessage());
            }
        }
        return h;
    }

    public void writeCsv(Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,learning_rate,seconds,samples_per_second\n");
            for (Epoch e : epochs)
                w.write(String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f,%.1f%n", e.epoch(), e.trainLoss(), e.trainAccuracy(),
                        e.validationLoss(), e.validationAccuracy(), e.learningRate(), e.seconds(), e.samplesPerSecond()));
        }
    }

    /** Two charts side by side: loss and accuracy per epoch, training and validation. */
    public void writePng(Path file, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        double[] x = epochs.stream().mapToDouble(Epoch::epoch).toArray();
        XYChart loss = new XYChartBuilder().width(640).height(420).title(title + ": loss").xAxisTitle("epoch").yAxisTitle("cross-entropy").build();
        loss.addSeries("train", x, epochs.stream().mapToDouble(Epoch::trainLoss).toArray()).setMarker(SeriesMarkers.CIRCLE);
        XYChart acc = new XYChartBuilder().width(640).height(420).title(title + ": accuracy").xAxisTitle("epoch").yAxisTitle("accuracy").build();
        acc.addSeries("train", x, epochs.stream().mapToDouble(Epoch::trainAccuracy).toArray()).setMarker(SeriesMarkers.CIRCLE);
        if (!epochs.isEmpty() && !Double.isNaN(epochs.get(0).validationLoss())) {
            loss.addSeries("validation", x, epochs.stream().mapToDouble(Epoch::validationLoss).toArray()).setMarker(SeriesMarkers.DIAMOND);
            acc.addSeries("validation", x, epochs.stream().mapToDouble(Epoch::validationAccuracy).toArray()).setMarker(SeriesMarkers.DIAMOND);
        }
        for (XYChart c : List.of(loss, acc)) {
            c.getStyler().setYAxisDecimalPattern("0.000").setXAxisDecimalPattern("0").setLegendPosition(c == loss
                    ? org.knowm.xchart.style.Styler.LegendPosition.InsideNE : org.knowm.xchart.style.Styler.LegendPosition.InsideSE)
                    .setChartBackgroundColor(java.awt.Color.WHITE);
            c.getStyler().setXAxisMaxLabelCount(Math.max(2, epochs.size()));
        }
        String name = file.toString();
        if (name.endsWith(".png")) name = name.substring(0, name.length() - 4);
        BitmapEncoder.saveBitmap(List.of(loss, acc), 1, 2, name, BitmapEncoder.BitmapFormat.PNG);
    }
}
