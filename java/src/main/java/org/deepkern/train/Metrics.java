package org.deepkern.train;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Classification metrics from a confusion matrix (rows: true class, columns: predicted class):
 * accuracy; per class precision TP / (TP + FP), recall TP / (TP + FN), F1, false-positive rate
 * FP / (FP + TN) and false-negative rate FN / (TP + FN); and their macro averages (the unweighted
 * mean over classes). A ratio with a zero denominator is 0.
 */
public final class Metrics {
    private final long[][] confusion;
    private final List<String> classNames;
    private long total;

    public Metrics(List<String> classNames) {
        this.classNames = List.copyOf(Objects.requireNonNull(classNames, "classNames"));
        if (classNames.isEmpty()) throw new IllegalArgumentException("at least one class");
        int k = classNames.size();
        confusion = new long[k][k];
    }

    /** A metrics accumulator for classes named "0", "1", .... */
    public static Metrics forClasses(int k) {
        String[] names = new String[k];
        for (int i = 0; i < k; ++i) names[i] = Integer.toString(i);
        return new Metrics(List.of(names));
    }

    public int classes() {
        return confusion.length;
    }

    /** Records one prediction; IllegalArgumentException when either class is out of range. */
    public void add(int actual, int predicted) {
        if (actual < 0 || actual >= classes()) throw new IllegalArgumentException("label " + actual + " is out of range [0, " + classes() + ")");
        if (predicted < 0 || predicted >= classes()) throw new IllegalArgumentException("prediction " + predicted + " is out of range [0, " + classes() + ")");
        confusion[actual][predicted]++;
        total++;
    }

    /** Records the argmax of each row of logits [n, k] against labels [n]. */
    public void addLogits(float[] logits, float[] labels) {
        int k = classes();
        for (int i = 0; i < labels.length; ++i) add((int) labels[i], argmax(logits, i * k, k));
    }

    static int argmax(float[] v, int off, int n) {
        int best = 0;
        for (int j = 1; j < n; ++j) if (v[off + j] > v[off + best]) best = j;
        return best;
    }

    public long count() {
        return total;
    }

    /** confusion[actual][predicted] (a copy). */
    public long[][] confusionMatrix() {
        long[][] c = new long[classes()][];
        for (int i = 0; i < classes(); ++i) c[i] = confusion[i].clone();
        return c;
    }

    public double accuracy() {
        long ok = 0;
        for (int i = 0; i < classes(); ++i) ok += confusion[i][i];
        return ratio(ok, total);
    }

    private long tp(int c) {
        return confusion[c][c];
    }

    private long fp(int c) {
        long s = 0;
        for (int i = 0; i < classes(); ++i) if (i != c) s += confusion[i][c];
        return s;
    }

    private long fn(int c) {
        long s = 0;
        for (int j = 0; j < classes(); ++j) if (j != c) s += confusion[c][j];
        return s;
    }

    private long tn(int c) {
        return total - tp(c) - fp(c) - fn(c);
    }

    public double precision(int c) {
        return ratio(tp(c), tp(c) + fp(c));
    }

    public double recall(int c) {
        return ratio(tp(c), tp(c) + fn(c));
    }

    public double f1(int c) {
        double p = precision(c), r = recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    public double falsePositiveRate(int c) {
        return ratio(fp(c), fp(c) + tn(c));
    }

    public double falseNegativeRate(int c) {
        return ratio(fn(c), tp(c) + fn(c));
    }

    public double macroPrecision() {
        double s = 0;
        for (int c = 0; c < classes(); ++c) s += precision(c);
        return s / classes();
    }

    public double macroRecall() {
        double s = 0;
        for (int c = 0; c < classes(); ++c) s += recall(c);
        return s / classes();
    }

    public double macroF1() {
        double s = 0;
        for (int c = 0; c < classes(); ++c) s += f1(c);
        return s / classes();
    }

    public double macroFalsePositiveRate() {
        double s = 0;
        for (int c = 0; c < classes(); ++c) s += falsePositiveRate(c);
        return s / classes();
    }

    public double macroFalseNegativeRate() {
        double s = 0;
        for (int c = 0; c < classes(); ++c) s += falseNegativeRate(c);
        return s / classes();
    }

    private static double ratio(long a, long b) {
        return b == 0 ? 0 : (double) a / b;
    }

    /** The per-class table, the macro averages and the confusion matrix as plain text. */
    public String report() {
        StringBuilder sb = new StringBuilder();
        int w = 12;
        for (String n : classNames) w = Math.max(w, n.length() + 1);
        String f = "%-" + w + "s %9s %9s %9s %9s %9s %8s%n";
        sb.append(String.format(Locale.ROOT, f, "class", "precision", "recall", "f1", "fpr", "fnr", "support"));
        for (int c = 0; c < classes(); ++c)
            sb.append(String.format(Locale.ROOT, "%-" + w + "s %9.4f %9.4f %9.4f %9.4f %9.4f %8d%n", classNames.get(c), precision(c), recall(c),
                    f1(c), falsePositiveRate(c), falseNegativeRate(c), tp(c) + fn(c)));
        sb.append(String.format(Locale.ROOT, "%-" + w + "s %9.4f %9.4f %9.4f %9.4f %9.4f %8d%n", "macro avg", macroPrecision(), macroRecall(),
                macroF1(), macroFalsePositiveRate(), macroFalseNegativeRate(), total));
        sb.append(String.format(Locale.ROOT, "accuracy: %.4f%n%nconfusion matrix (rows: true class, columns: predicted)%n", accuracy()));
        for (int i = 0; i < classes(); ++i) {
            sb.append(String.format(Locale.ROOT, "%-" + w + "s", classNames.get(i)));
            for (int j = 0; j < classes(); ++j) sb.append(String.format(Locale.ROOT, " %5d", confusion[i][j]));
            sb.append('\n');
        }
        return sb.toString();
    }
}
