package org.deepkern.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns a JMH JSON result file into a Markdown table: one row per benchmark and parameter set,
 * the median time per operation, GFLOP/s where the benchmark's work is known, and for MatmulBench
 * the ratio to onednn measured in the same run.
 *
 * <pre>java -cp bench/target/benchmarks.jar org.deepkern.bench.BenchReport results.json [more.json ...]</pre>
 */
public final class BenchReport {
    private BenchReport() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: BenchReport <jmh-result.json>...");
            System.exit(2);
        }
        JsonArray runs = new JsonArray(); // the runs of every file, in order
        for (String file : args)
            try (Reader r = Files.newBufferedReader(Path.of(file))) {
                runs.addAll(JsonParser.parseReader(r).getAsJsonArray());
            }
        Map<String, Double> onednnMicros = new TreeMap<>();
        Map<JsonObject, Double> micros = new LinkedHashMap<>();
        double peak = 0; // one core's FMA peak from PeakBench in the same run, GFLOP/s
        for (JsonElement e : runs) {
            JsonObject run = e.getAsJsonObject();
            double us = medianMicros(run);
            micros.put(run, us);
            JsonObject p = params(run);
            if (run.get("benchmark").getAsString().endsWith("MatmulBench.matmul") && "onednn".equals(str(p, "backend")))
                onednnMicros.put(baselineKey(run, p), us); // PackedMatmulBench: oneDNN with pre-packed weights
            if (run.get("benchmark").getAsString().endsWith("PeakBench.fmaPeakGflops"))
                peak = PeakBench.flopsPerCall(org.deepkern.Library.cpuIsa()) / us / 1e3;
        }
        Map<JsonObject, Double> attention = new LinkedHashMap<>();
        for (Map.Entry<JsonObject, Double> m : micros.entrySet())
            if (m.getKey().get("benchmark").getAsString().endsWith("AttentionBench.run")) attention.put(m.getKey(), m.getValue());
        micros.keySet().removeAll(attention.keySet());
        if (!attention.isEmpty()) attentionTable(attention);
        Map<JsonObject, Double> conv = new LinkedHashMap<>();
        for (Map.Entry<JsonObject, Double> m : micros.entrySet())
            if (m.getKey().get("benchmark").getAsString().endsWith("ConvBench.run")) conv.put(m.getKey(), m.getValue());
        micros.keySet().removeAll(conv.keySet());
        if (!conv.isEmpty()) convTable(conv);
        if (micros.isEmpty()) return;
        System.out.println("| benchmark | backend | shape | threads | median | GFLOP/s | vs onednn | % of peak | note |");
        System.out.println("|---|---|---|---|---:|---:|---:|---:|---|");
        for (Map.Entry<JsonObject, Double> m : micros.entrySet()) {
            JsonObject run = m.getKey(), p = params(run);
            String bench = run.get("benchmark").getAsString().replaceFirst(".*\\.bench\\.", "");
            double us = m.getValue();
            String gflops = "", ratio = "", ofPeak = "", note = "";
            if (bench.equals("MatmulBench.matmul") || bench.equals("PackedMatmulBench.matmul")) {
                double g = Shapes.matmulFlops(str(p, "shape")) / us / 1e3;
                gflops = String.format("%.1f", g);
                Double base = onednnMicros.get(baselineKey(run, p));
                if (base != null) ratio = String.format("%.2fx", base / us);
                int threads = p.has("threads") ? Integer.parseInt(str(p, "threads")) : 1;
                if (peak > 0) ofPeak = String.format("%.0f%%", 100 * g / (peak * threads)); // of threads x one core's peak
                if (bench.startsWith("Packed")) {
                    long[] mnk = Shapes.mnk(str(p, "shape"));
                    note = String.format("B pre-packed; B read at %.1f GB/s", 4.0 * mnk[1] * mnk[2] / us / 1e3);
                }
            } else if (bench.equals("PeakBench.fmaPeakGflops")) {
                gflops = String.format("%.1f", PeakBench.flopsPerCall(org.deepkern.Library.cpuIsa()) / us / 1e3);
            }
            System.out.printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", bench,
                    str(p, "backend"), str(p, "shape"), str(p, "threads"),
                    formatMicros(us), gflops, ratio, ofPeak, note);
        }
    }

    /** The onednn run a matmul run is compared with: the same benchmark (plain or pre-packed B), shape and threads. */
    private static String baselineKey(JsonObject run, JsonObject p) {
        String bench = run.get("benchmark").getAsString().replaceFirst(".*\\.bench\\.", "");
        return bench + "/" + str(p, "shape") + "/" + str(p, "threads");
    }

    /**
     * AttentionBench: median, effective GFLOP/s, the speed-up over onednn with the same
     * parameters in the same run, and the extra memory each configuration allocates, measured
     * here by running it once more (AttentionBench.extraBytes).
     */
    private static void attentionTable(Map<JsonObject, Double> runs) {
        Map<String, Double> onednn = new TreeMap<>();
        for (Map.Entry<JsonObject, Double> m : runs.entrySet()) {
            JsonObject p = params(m.getKey());
            if ("onednn".equals(str(p, "backend"))) onednn.put(attentionKey(p), m.getValue());
        }
        System.out.println("| backend | shape BxHxSxD | threads | causal | pass | median | GFLOP/s | vs onednn | extra memory |");
        System.out.println("|---|---|---|---|---|---:|---:|---:|---:|");
        for (Map.Entry<JsonObject, Double> m : runs.entrySet()) {
            JsonObject p = params(m.getKey());
            double us = m.getValue();
            String shape = str(p, "shape"), pass = str(p, "pass");
            Double base = onednn.get(attentionKey(p));
            long bytes = AttentionBench.extraBytes(str(p, "backend"), Integer.parseInt(str(p, "threads")), shape,
                    Boolean.parseBoolean(str(p, "causal")), pass);
            System.out.printf("| %s | %s | %s | %s | %s | %s | %.1f | %s | %s |%n", str(p, "backend"), shape,
                    str(p, "threads"), str(p, "causal"), pass, formatMicros(us), AttentionBench.flops(shape, pass) / us / 1e3,
                    base == null ? "" : String.format("%.2fx", base / us), formatBytes(bytes));
        }
        System.out.println();
    }

    /**
     * ConvBench: one row per (shape, threads, pass) with each backend's GFLOP/s (from the median)
     * and the ratio native / onednn (of GFLOP/s, so > 1 means native is faster), then per group
     * of rows (ResNet-style dense layers or depthwise, threads and batch, pass) the geometric mean
     * of the ratios and the lowest one.
     */
    private static void convTable(Map<JsonObject, Double> runs) {
        Map<String, Map<String, Double>> rows = new LinkedHashMap<>(); // key -> backend -> GFLOP/s
        for (Map.Entry<JsonObject, Double> m : runs.entrySet()) {
            JsonObject p = params(m.getKey());
            String key = str(p, "shape") + "|" + str(p, "threads") + "|" + str(p, "pass");
            rows.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(str(p, "backend"), ConvBench.flops(str(p, "shape")) / m.getValue() / 1e3);
        }
        boolean java = runs.keySet().stream().anyMatch(r -> "java".equals(str(params(r), "backend")));
        System.out.println("| layer set | shape NxCxHxW:KxRxS | threads | pass | native impl | native GFLOP/s | onednn GFLOP/s |"
                + (java ? " java GFLOP/s |" : "") + " native / onednn |");
        System.out.println("|---|---|---|---|---|---:|---:|" + (java ? "---:|" : "") + "---:|");
        Map<String, java.util.List<double[]>> groups = new LinkedHashMap<>(); // group -> {ratio} per row
        Map<String, String> worst = new java.util.HashMap<>();
        for (Map.Entry<String, Map<String, Double>> r : rows.entrySet()) {
            String[] k = r.getKey().split("\\|");
            String shape = k[0], threads = k[1], pass = k[2];
            org.deepkern.ops.Conv2dSpec spec = Shapes.conv(shape);
            String set = spec.groups() > 1 && spec.groups() == spec.c() ? "depthwise" : "dense";
            Double nat = r.getValue().get("native"), one = r.getValue().get("onednn"), jv = r.getValue().get("java");
            String ratio = "";
            if (nat != null && one != null) {
                ratio = String.format("%.2fx", nat / one);
                String g = set + ", N=" + spec.n() + ", threads=" + threads + ", " + pass;
                groups.computeIfAbsent(g, x -> new java.util.ArrayList<>()).add(new double[] {nat / one});
                String w0 = worst.get(g);
                if (w0 == null || Double.parseDouble(w0.split(" ")[0]) > nat / one) worst.put(g, String.format("%.2f %s", nat / one, shape));
            }
            System.out.printf("| %s | %s | %s | %s | %s | %s | %s |%s %s |%n", set, shape, threads, pass,
                    nat == null ? "" : ConvBench.implName("native", shape), nat == null ? "" : String.format("%.1f", nat),
                    one == null ? "" : String.format("%.1f", one), java ? " " + (jv == null ? "" : String.format("%.2f", jv)) + " |" : "", ratio);
        }
        System.out.println();
        System.out.println("| layers | count | geometric mean native / onednn | lowest (layer) |");
        System.out.println("|---|---:|---:|---|");
        for (Map.Entry<String, java.util.List<double[]>> g : groups.entrySet()) {
            double logSum = 0;
            for (double[] v : g.getValue()) logSum += Math.log(v[0]);
            String[] w0 = worst.get(g.getKey()).split(" ", 2);
            System.out.printf("| %s | %d | %.2fx | %sx (%s) |%n", g.getKey(), g.getValue().size(), Math.exp(logSum / g.getValue().size()),
                    w0[0], w0[1]);
        }
        System.out.println();
    }

    private static String attentionKey(JsonObject p) {
        return str(p, "shape") + "/" + str(p, "threads") + "/" + str(p, "causal") + "/" + str(p, "pass");
    }

    private static String formatBytes(long b) {
        if (b >= 1 << 20) return String.format("%.1f MiB", b / 1048576.0);
        return String.format("%.1f KiB", b / 1024.0);
    }

    private static JsonObject params(JsonObject run) {
        return run.has("params") ? run.getAsJsonObject("params") : new JsonObject();
    }

    private static String str(JsonObject o, String key) {
        return o.has(key) ? o.get(key).getAsString() : "";
    }

    /** The median of the measurement iterations (of the sampled calls in SampleTime mode), in microseconds. */
    private static double medianMicros(JsonObject run) {
        JsonObject metric = run.getAsJsonObject("primaryMetric");
        double score = metric.getAsJsonObject("scorePercentiles").get("50.0").getAsDouble();
        String unit = metric.get("scoreUnit").getAsString();
        return switch (unit) {
            case "ns/op" -> score / 1e3;
            case "us/op" -> score;
            case "ms/op" -> score * 1e3;
            case "s/op" -> score * 1e6;
            default -> throw new IllegalArgumentException("unsupported JMH unit " + unit + " (use AverageTime or SampleTime)");
        };
    }

    private static String formatMicros(double us) {
        return us >= 1e4 ? String.format("%.2f ms", us / 1e3) : String.format("%.1f us", us);
    }
}
