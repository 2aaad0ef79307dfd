package org.deepkern.backend;

import org.deepkern.Tensor;
import org.deepkern.ops.BatchNormSpec;
import org.deepkern.ops.BinaryOp;
import org.deepkern.ops.Conv2dSpec;
import org.deepkern.ops.CrossEntropySpec;
import org.deepkern.ops.DropoutSpec;
import org.deepkern.ops.EltwiseSpec;
import org.deepkern.ops.EmbeddingSpec;
import org.deepkern.ops.LayerNormSpec;
import org.deepkern.ops.NdSpec;
import org.deepkern.ops.OptimizerSpec;
import org.deepkern.ops.Pool2dSpec;
import org.deepkern.ops.SoftmaxSpec;

import java.nio.FloatBuffer;

/**
 * The plain-Java training kernels of the {@code java} backend: the same formulas as the native
 * reference (native/src/ref), forward and backward side by side, statistics in double. Dense
 * operands are read into arrays and written back; strided ones (NdSpec) are walked by index.
 * Label and index values are validated here as in the native shape functions.
 */
final class JavaKernels {
    private JavaKernels() {}

    // ---- dense access ----

    static float[] read(Tensor t) {
        float[] out = new float[Math.toIntExact(t.numel())];
        t.storageBuffer().get(Math.toIntExact(t.storageOffset()), out);
        return out;
    }

    static void write(Tensor t, float[] v) {
        t.storageBuffer().put(Math.toIntExact(t.storageOffset()), v);
    }

    // ---- strided n-d ----

    /** Visits every element of the iteration space with the offsets of out, a and b. */
    private interface NdVisitor {
        void visit(long o, long a, long b);
    }

    private static void forEach(NdSpec s, NdVisitor v) {
        long n = s.numel();
        if (n == 0) return;
        int r = s.rank();
        long[] idx = new long[r];
        long o = 0, a = 0, b = 0;
        for (long i = 0; i < n; ++i) {
            v.visit(o, a, b);
            for (int d = r - 1; d >= 0; --d) {
                if (++idx[d] < s.shape()[d]) {
                    o += s.outStrides()[d];
                    a += s.aStrides()[d];
                    b += s.bStrides()[d];
                    break;
                }
                o -= (s.shape()[d] - 1) * s.outStrides()[d];
                a -= (s.shape()[d] - 1) * s.aStrides()[d];
                b -= (s.shape()[d] - 1) * s.bStrides()[d];
                idx[d] = 0;
            }
        }
    }

    static void binary(BinaryOp op, NdSpec s, Tensor out, Tensor a, Tensor b) {
        FloatBuffer ob = out.storageBuffer(), ab = a.storageBuffer(), bb = b.storageBuffer();
        long o0 = out.storageOffset(), a0 = a.storageOffset(), b0 = b.storageOffset();
        forEach(s, (o, ai, bi) -> ob.put((int) (o0 + o), op.apply(ab.get((int) (a0 + ai)), bb.get((int) (b0 + bi)))));
    }

    static void reduceSum(NdSpec s, float alpha, float beta, Tensor out, Tensor a) {
        FloatBuffer ob = out.storageBuffer(), ab = a.storageBuffer();
        long o0 = out.storageOffset(), a0 = a.storageOffset();
        java.util.Map<Long, double[]> acc = new java.util.LinkedHashMap<>();
        forEach(s, (o, ai, b) -> acc.computeIfAbsent(o, k -> new double[1])[0] += ab.get((int) (a0 + ai)));
        for (var e : acc.entrySet()) {
            int i = (int) (o0 + e.getKey());
            double v = alpha * e.getValue()[0];
            ob.put(i, (float) (beta == 0.0f ? v : v + (double) beta * ob.get(i)));
        }
    }

    static void copy(NdSpec s, Tensor out, Tensor a) {
        FloatBuffer ob = out.storageBuffer(), ab = a.storageBuffer();
        long o0 = out.storageOffset(), a0 = a.storageOffset();
        forEach(s, (o, ai, b) -> ob.put((int) (o0 + o), ab.get((int) (a0 + ai))));
    }

    // ---- activations ----

    static void eltwiseForward(EltwiseSpec s, Tensor y, Tensor x) {
        float[] v = read(x);
        for (int i = 0; i < v.length; ++i) v[i] = (float) s.fn().forward(v[i], s.alpha());
        write(y, v);
    }

    static void eltwiseBackward(EltwiseSpec s, Tensor dx, Tensor dy, Tensor x) {
        float[] g = read(dy), xv = read(x);
        for (int i = 0; i < g.length; ++i) g[i] = (float) (g[i] * s.fn().derivative(xv[i], s.alpha()));
        write(dx, g);
    }

    // ---- softmax, cross-entropy ----

    static void softmaxForward(SoftmaxSpec s, Tensor y, Tensor x) {
        float[] v = read(x);
        int rows = (int) s.rows(), cols = (int) s.cols();
        for (int r = 0; r < rows; ++r) {
            int o = r * cols;
            float mx = v[o];
            for (int j = 1; j < cols; ++j) mx = Math.max(mx, v[o + j]);
            double sum = 0;
            for (int j = 0; j < cols; ++j) sum += Math.exp((double) v[o + j] - mx);
            double lse = mx + Math.log(sum);
            for (int j = 0; j < cols; ++j)
                v[o + j] = s.log() ? (float) (v[o + j] - lse) : (float) (Math.exp((double) v[o + j] - mx) / sum);
        }
        write(y, v);
    }

    static void softmaxBackward(SoftmaxSpec s, Tensor dx, Tensor dy, Tensor y) {
        float[] g = read(dy), yv = read(y);
        int rows = (int) s.rows(), cols = (int) s.cols();
        for (int r = 0; r < rows; ++r) {
            int o = r * cols;
            double sum = 0;
            for (int j = 0; j < cols; ++j) sum += s.log() ? g[o + j] : (double) g[o + j] * yv[o + j];
            for (int j = 0; j < cols; ++j)
                g[o + j] = s.log() ? (float) (g[o + j] - Math.exp(yv[o + j]) * sum) : (float) (yv[o + j] * (g[o + j] - sum));
        }
        write(dx, g);
    }

    private static int[] labels(Tensor t, long n, long limit, String name, String limitName) {
        float[] v = read(t);
        int[] out = new int[(int) n];
        for (int i = 0; i < n; ++i) {
            float x = v[i];
            if (!(x >= 0) || x >= limit || x != Math.floor(x))
                throw new IllegalArgumentException(name + "[" + i + "] = " + x + " is not a valid index: " + name
                        + " must hold integers in [0, " + limit + ") (" + limitName + ")");
            out[i] = (int) x;
        }
        return out;
    }

    static void crossEntropyForward(CrossEntropySpec s, Tensor loss, Tensor probs, Tensor logits, Tensor labels) {
        int[] lab = labels(labels, s.n(), s.classes(), "labels", "the number of classes");
        float[] x = read(logits);
        int n = (int) s.n(), k = (int) s.classes();
        double off = (double) s.smoothing() / k, on = 1.0 - s.smoothing() + off, total = 0;
        for (int r = 0; r < n; ++r) {
            int o = r * k;
            float mx = x[o];
            for (int j = 1; j < k; ++j) mx = Math.max(mx, x[o + j]);
            double sum = 0;
            for (int j = 0; j < k; ++j) sum += Math.exp((double) x[o + j] - mx);
            double lse = mx + Math.log(sum), row = 0;
            for (int j = 0; j < k; ++j) {
                double logp = x[o + j] - lse;
                x[o + j] = (float) Math.exp(logp);
                row -= (j == lab[r] ? on : off) * logp;
            }
            total += row;
        }
        write(probs, x);
        loss.storageBuffer().put((int) loss.storageOffset(), (float) (n > 0 ? total / n : 0.0));
    }

    static void crossEntropyBackward(CrossEntropySpec s, float dloss, Tensor dlogits, Tensor probs, Tensor labels) {
        int[] lab = labels(labels, s.n(), s.classes(), "labels", "the number of classes");
        float[] p = read(probs);
        int n = (int) s.n(), k = (int) s.classes();
        double off = (double) s.smoothing() / k, on = 1.0 - s.smoothing() + off, scale = (double) dloss / n;
        for (int r = 0; r < n; ++r)
            for (int j = 0; j < k; ++j) p[r * k + j] = (float) (scale * (p[r * k + j] - (j == lab[r] ? on : off)));
        write(dlogits, p);
    }

    // ---- normalization ----

    static void batchNormForward(BatchNormSpec s, Tensor y, Tensor saveMean, Tensor saveInvstd, Tensor runningMean,
                                 Tensor runningVar, Tensor x, Tensor gamma, Tensor beta) {
        float[] xv = read(x), out = new float[xv.length], g = read(gamma), b = read(beta);
        float[] rm = read(runningMean), rv = read(runningVar);
        int n = (int) s.n(), c = (int) s.c(), sp = (int) s.spatial();
        long m = (long) n * sp;
        float[] sm = new float[c], si = new float[c];
        for (int ch = 0; ch < c; ++ch) {
            double mean, invstd;
            if (s.training()) {
                double sum = 0, v = 0;
                for (int i = 0; i < n; ++i)
                    for (int j = 0; j < sp; ++j) sum += xv[(i * c + ch) * sp + j];
                mean = sum / m;
                for (int i = 0; i < n; ++i)
                    for (int j = 0; j < sp; ++j) {
                        double d = xv[(i * c + ch) * sp + j] - mean;
                        v += d * d;
                    }
                invstd = 1.0 / Math.sqrt(v / m + s.eps());
                sm[ch] = (float) mean;
                si[ch] = (float) invstd;
                rm[ch] = (float) ((1.0 - s.momentum()) * rm[ch] + s.momentum() * mean);
                rv[ch] = (float) ((1.0 - s.momentum()) * rv[ch] + s.momentum() * v / (m - 1));
            } else {
                mean = rm[ch];
                invstd = 1.0 / Math.sqrt((double) rv[ch] + s.eps());
            }
            double scale = g[ch] * invstd, shift = b[ch] - mean * scale;
            for (int i = 0; i < n; ++i)
                for (int j = 0; j < sp; ++j) {
                    int o = (i * c + ch) * sp + j;
                    out[o] = (float) (xv[o] * scale + shift);
                }
        }
        write(y, out);
        if (s.training()) {
            write(saveMean, sm);
            write(saveInvstd, si);
            write(runningMean, rm);
            write(runningVar, rv);
        }
    }

    static void batchNormBackward(BatchNormSpec s, Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x,
                                  Tensor gamma, Tensor saveMean, Tensor saveInvstd) {
        float[] xv = read(x), g = read(dy), ga = read(gamma), sm = read(saveMean), si = read(saveInvstd);
        int n = (int) s.n(), c = (int) s.c(), sp = (int) s.spatial();
        long m = (long) n * sp;
        float[] out = new float[xv.length], dg = new float[c], db = new float[c];
        for (int ch = 0; ch < c; ++ch) {
            double mean = sm[ch], invstd = si[ch], sdy = 0, sdyx = 0;
            for (int i = 0; i < n; ++i)
                for (int j = 0; j < sp; ++j) {
                    int o = (i * c + ch) * sp + j;
                    sdy += g[o];
                    sdyx += g[o] * (xv[o] - mean) * invstd;
                }
            db[ch] = (float) sdy;
            dg[ch] = (float) sdyx;
            double k = ga[ch] * invstd / m;
            for (int i = 0; i < n; ++i)
                for (int j = 0; j < sp; ++j) {
                    int o = (i * c + ch) * sp + j;
                    double xhat = (xv[o] - mean) * invstd;
                    out[o] = (float) (k * (m * (double) g[o] - sdy - xhat * sdyx));
                }
        }
        write(dx, out);
        write(dgamma, dg);
        write(dbeta, db);
    }

    static void layerNormForward(LayerNormSpec s, Tensor y, Tensor saveMean, Tensor saveInvstd, Tensor x, Tensor gamma,
                                 Tensor beta) {
        float[] xv = read(x), g = read(gamma), b = read(beta);
        int rows = (int) s.rows(), cols = (int) s.cols();
        float[] sm = new float[rows], si = new float[rows];
        for (int r = 0; r < rows; ++r) {
            int o = r * cols;
            double sum = 0, v = 0;
            for (int j = 0; j < cols; ++j) sum += xv[o + j];
            double mean = cols > 0 ? sum / cols : 0;
            for (int j = 0; j < cols; ++j) v += (xv[o + j] - mean) * (xv[o + j] - mean);
            double invstd = 1.0 / Math.sqrt((cols > 0 ? v / cols : 0) + s.eps());
            sm[r] = (float) mean;
            si[r] = (float) invstd;
            for (int j = 0; j < cols; ++j) xv[o + j] = (float) ((xv[o + j] - mean) * invstd * g[j] + b[j]);
        }
        write(y, xv);
        write(saveMean, sm);
        write(saveInvstd, si);
    }

    static void layerNormBackward(LayerNormSpec s, Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x,
                                  Tensor gamma, Tensor saveMean, Tensor saveInvstd) {
        float[] xv = read(x), g = read(dy), ga = read(gamma), sm = read(saveMean), si = read(saveInvstd);
        int rows = (int) s.rows(), cols = (int) s.cols();
        float[] out = new float[xv.length], dg = new float[cols], db = new float[cols];
        for (int r = 0; r < rows; ++r) {
            int o = r * cols;
            double mean = sm[r], invstd = si[r], sg = 0, sgx = 0;
            for (int j = 0; j < cols; ++j) {
                double xhat = (xv[o + j] - mean) * invstd, gj = (double) g[o + j] * ga[j];
                sg += gj;
                sgx += gj * xhat;
                dg[j] += (float) (g[o + j] * xhat);
                db[j] += g[o + j];
            }
            for (int j = 0; j < cols; ++j) {
                double xhat = (xv[o + j] - mean) * invstd, gj = (double) g[o + j] * ga[j];
                out[o + j] = (float) (invstd / cols * (cols * gj - sg - xhat * sgx));
            }
        }
        write(dx, out);
        write(dgamma, dg);
        write(dbeta, db);
    }

    // ---- pooling ----
    // Window (oy, ox) covers rows [oy sH - padH, + kH) and columns likewise, clipped to the input;
    // the max is the first maximum in row-major window order.

    private static int[] window(Pool2dSpec s, int oy, int ox) {
        int h = (int) s.h(), w = (int) s.w();
        return new int[] {Math.max(oy * s.strideH() - s.padH(), 0), Math.min(oy * s.strideH() - s.padH() + s.kernelH(), h),
                Math.max(ox * s.strideW() - s.padW(), 0), Math.min(ox * s.strideW() - s.padW() + s.kernelW(), w)};
    }

    private static int argmax(float[] xv, int base, int w, int[] win) {
        int best = win[0] * w + win[2];
        for (int i = win[0]; i < win[1]; ++i)
            for (int j = win[2]; j < win[3]; ++j)
                if (xv[base + i * w + j] > xv[base + best]) best = i * w + j;
        return best;
    }

    static void pool2dForward(Pool2dSpec s, Tensor y, Tensor x) {
        pool2dForward(s, y, null, x);
    }

    private static void pool2dForward(Pool2dSpec s, Tensor y, Tensor indices, Tensor x) {
        float[] xv = read(x);
        int h = (int) s.h(), w = (int) s.w(), oh = (int) s.outH(), ow = (int) s.outW();
        float[] out = new float[Math.toIntExact(s.n() * s.c() * oh * ow)], idx = indices == null ? null : new float[out.length];
        for (int p = 0; p < s.n() * s.c(); ++p)
            for (int oy = 0; oy < oh; ++oy)
                for (int ox = 0; ox < ow; ++ox) {
                    int[] win = window(s, oy, ox);
                    int base = p * h * w, o = (p * oh + oy) * ow + ox;
                    if (s.max()) {
                        int best = argmax(xv, base, w, win);
                        out[o] = xv[base + best];
                        if (idx != null) idx[o] = Float.intBitsToFloat(best);
                    } else {
                        double sum = 0;
                        for (int i = win[0]; i < win[1]; ++i)
                            for (int j = win[2]; j < win[3]; ++j) sum += xv[base + i * w + j];
                        int count = s.countIncludePad() ? s.kernelH() * s.kernelW() : (win[1] - win[0]) * (win[3] - win[2]);
                        out[o] = (float) (sum / count);
                    }
                }
        write(y, out);
        if (indices != null) write(indices, idx);
    }

    static void pool2dBackward(Pool2dSpec s, Tensor dx, Tensor dy, Tensor x) {
        pool2dBackward(s, dx, dy, x, null);
    }

    private static void pool2dBackward(Pool2dSpec s, Tensor dx, Tensor dy, Tensor x, Tensor indices) {
        float[] xv = x == null ? null : read(x), g = read(dy), iv = indices == null ? null : read(indices);
        int h = (int) s.h(), w = (int) s.w(), oh = (int) s.outH(), ow = (int) s.outW();
        float[] out = new float[Math.toIntExact(s.n() * s.c() * h * w)];
        for (int p = 0; p < s.n() * s.c(); ++p)
            for (int oy = 0; oy < oh; ++oy)
                for (int ox = 0; ox < ow; ++ox) {
                    int[] win = window(s, oy, ox);
                    int base = p * h * w, o = (p * oh + oy) * ow + ox;
                    float gv = g[o];
                    if (s.max()) {
                        int best = iv != null ? Float.floatToRawIntBits(iv[o]) : argmax(xv, base, w, win);
                        if (best < 0 || best >= h * w)
                            throw new IllegalArgumentException("indices[" + o + "] = " + best + " is not a position in an h * w = "
                                    + (h * w) + " plane");
                        out[base + best] += gv;
                    } else {
                        int count = s.countIncludePad() ? s.kernelH() * s.kernelW() : (win[1] - win[0]) * (win[3] - win[2]);
                        float share = gv / (float) count;
                        for (int i = win[0]; i < win[1]; ++i)
                            for (int j = win[2]; j < win[3]; ++j) out[base + i * w + j] += share;
                    }
                }
        write(dx, out);
    }

    static void maxPool2dForwardIndices(Pool2dSpec s, Tensor y, Tensor indices, Tensor x) {
        if (!s.max()) throw new IllegalArgumentException("max pooling with indices needs a max-pooling spec");
        pool2dForward(s, y, indices, x);
    }

    static void maxPool2dBackwardIndices(Pool2dSpec s, Tensor dx, Tensor dy, Tensor indices) {
        if (!s.max()) throw new IllegalArgumentException("max pooling with indices needs a max-pooling spec");
        pool2dBackward(s, dx, dy, null, indices);
    }

    // ---- convolution (direct loops, double accumulation) ----
    // Output channel o of group g = o / og reads input channels [g cg, (g + 1) cg); tap (ky, kx) of
    // output (oy, ox) reads input (oy sH - padH + ky dH, ox sW - padW + kx dW), zero outside.

    static void conv2dForward(Conv2dSpec s, Tensor y, Tensor x, Tensor wt, Tensor bias) {
        float[] xv = read(x), wv = read(wt), bv = bias == null ? null : read(bias);
        int n = (int) s.n(), c = (int) s.c(), h = (int) s.h(), w = (int) s.w(), oc = (int) s.oc();
        int kh = s.kernelH(), kw = s.kernelW(), oh = (int) s.outH(), ow = (int) s.outW();
        int cg = c / s.groups(), og = oc / s.groups();
        float[] out = new float[n * oc * oh * ow];
        double[] acc = new double[oh * ow];
        for (int b = 0; b < n; ++b)
            for (int o = 0; o < oc; ++o) {
                java.util.Arrays.fill(acc, bv == null ? 0.0 : bv[o]);
                for (int ci = 0; ci < cg; ++ci) {
                    int ch = (o / og) * cg + ci;
                    for (int ky = 0; ky < kh; ++ky)
                        for (int kx = 0; kx < kw; ++kx) {
                            double wgt = wv[((o * cg + ci) * kh + ky) * kw + kx];
                            for (int oy = 0; oy < oh; ++oy) {
                                int iy = oy * s.strideH() - s.padH() + ky * s.dilationH();
                                if (iy < 0 || iy >= h) continue;
                                int xrow = ((b * c + ch) * h + iy) * w;
                                for (int ox = 0; ox < ow; ++ox) {
                                    int ix = ox * s.strideW() - s.padW() + kx * s.dilationW();
                                    if (ix >= 0 && ix < w) acc[oy * ow + ox] += wgt * xv[xrow + ix];
                                }
                            }
                        }
                }
                for (int i = 0; i < oh * ow; ++i) out[(b * oc + o) * oh * ow + i] = s.activation().apply((float) acc[i]);
            }
        write(y, out);
    }

    private static void requireNoActivation(Conv2dSpec s, String pass) {
        if (s.activation() != org.deepkern.ops.Epilogue.NONE)
            throw new IllegalArgumentException("conv2d backward " + pass + ": the activation must be NONE (got " + s.activation()
                    + "): the backward is the gradient of conv + bias; apply the activation's gradient first");
    }

    static void conv2dBackwardData(Conv2dSpec s, Tensor dx, Tensor dy, Tensor wt) {
        requireNoActivation(s, "data");
        float[] g = read(dy), wv = read(wt);
        int n = (int) s.n(), c = (int) s.c(), h = (int) s.h(), w = (int) s.w(), oc = (int) s.oc();
        int kh = s.kernelH(), kw = s.kernelW(), oh = (int) s.outH(), ow = (int) s.outW();
        int cg = c / s.groups(), og = oc / s.groups();
        double[] acc = new double[n * c * h * w];
        for (int b = 0; b < n; ++b)
            for (int o = 0; o < oc; ++o)
                for (int ci = 0; ci < cg; ++ci) {
                    int ch = (o / og) * cg + ci;
                    for (int ky = 0; ky < kh; ++ky)
                        for (int kx = 0; kx < kw; ++kx) {
                            double wgt = wv[((o * cg + ci) * kh + ky) * kw + kx];
                            for (int oy = 0; oy < oh; ++oy) {
                                int iy = oy * s.strideH() - s.padH() + ky * s.dilationH();
                                if (iy < 0 || iy >= h) continue;
                                int xrow = ((b * c + ch) * h + iy) * w, grow = ((b * oc + o) * oh + oy) * ow;
                                for (int ox = 0; ox < ow; ++ox) {
                                    int ix = ox * s.strideW() - s.padW() + kx * s.dilationW();
                                    if (ix >= 0 && ix < w) acc[xrow + ix] += wgt * g[grow + ox];
                                }
                            }
                        }
                }
        float[] out = new float[acc.length];
        for (int i = 0; i < acc.length; ++i) out[i] = (float) acc[i];
        write(dx, out);
    }

    static void conv2dBackwardWeights(Conv2dSpec s, Tensor dw, Tensor dbias, Tensor dy, Tensor x) {
        requireNoActivation(s, "weights");
        float[] g = read(dy), xv = read(x);
        int n = (int) s.n(), c = (int) s.c(), h = (int) s.h(), w = (int) s.w(), oc = (int) s.oc();
        int kh = s.kernelH(), kw = s.kernelW(), oh = (int) s.outH(), ow = (int) s.outW();
        int cg = c / s.groups(), og = oc / s.groups();
        float[] out = new float[oc * cg * kh * kw], db = new float[oc];
        for (int o = 0; o < oc; ++o) {
            double sb = 0;
            for (int b = 0; b < n; ++b)
                for (int i = 0; i < oh * ow; ++i) sb += g[(b * oc + o) * oh * ow + i];
            db[o] = (float) sb;
            for (int ci = 0; ci < cg; ++ci) {
                int ch = (o / og) * cg + ci;
                for (int ky = 0; ky < kh; ++ky)
                    for (int kx = 0; kx < kw; ++kx) {
                        double acc = 0;
                        for (int b = 0; b < n; ++b)
                            for (int oy = 0; oy < oh; ++oy) {
                                int iy = oy * s.strideH() - s.padH() + ky * s.dilationH();
                                if (iy < 0 || iy >= h) continue;
                                int xrow = ((b * c + ch) * h + iy) * w, grow = ((b * oc + o) * oh + oy) * ow;
                                for (int ox = 0; ox < ow; ++ox) {
                                    int ix = ox * s.strideW() - s.padW() + kx * s.dilationW();
                                    if (ix >= 0 && ix < w) acc += (double) g[grow + ox] * xv[xrow + ix];
                                }
                            }
                        out[((o * cg + ci) * kh + ky) * kw + kx] = (float) acc;
                    }
            }
        }
        write(dw, out);
        if (dbias != null) write(dbias, db);
    }

    // ---- embedding, dropout, optimizer ----

    static void embeddingForward(EmbeddingSpec s, Tensor y, Tensor table, Tensor indices) {
        int[] idx = labels(indices, s.n(), s.vocab(), "indices", "the vocabulary size");
        float[] t = read(table), out = new float[Math.toIntExact(s.n() * s.dim())];
        int dim = (int) s.dim();
        for (int i = 0; i < idx.length; ++i) System.arraycopy(t, idx[i] * dim, out, i * dim, dim);
        write(y, out);
    }

    static void embeddingBackward(EmbeddingSpec s, Tensor dtable, Tensor dy, Tensor indices) {
        int[] idx = labels(indices, s.n(), s.vocab(), "indices", "the vocabulary size");
        float[] g = read(dy), out = new float[Math.toIntExact(s.vocab() * s.dim())];
        int dim = (int) s.dim();
        for (int i = 0; i < idx.length; ++i)
            for (int j = 0; j < dim; ++j) out[idx[i] * dim + j] += g[i * dim + j];
        write(dtable, out);
    }

    static void dropoutMask(DropoutSpec s, Tensor mask) {
        float[] m = new float[Math.toIntExact(s.n())];
        float keep = 1.0f / (1.0f - s.p());
        for (int i = 0; i < m.length; ++i) m[i] = DropoutSpec.uniform(s.seed(), i) < s.p() ? 0.0f : keep;
        write(mask, m);
    }

    static void optimizerStep(OptimizerSpec s, Tensor param, Tensor state1, Tensor state2, Tensor grad) {
        float[] p = read(param), g = read(grad);
        float[] s1 = s.usesState1() ? read(state1) : null, s2 = s.usesState2() ? read(state2) : null;
        boolean decoupled = s.algorithm() == OptimizerSpec.Algorithm.ADAMW;
        double bc1 = 1.0 - Math.pow(s.beta1(), s.step()), bc2 = 1.0 - Math.pow(s.beta2(), s.step());
        float lr = s.lr(), wd = s.weightDecay(), mom = s.momentum();
        for (int i = 0; i < p.length; ++i) {
            float pi = p[i], gi = g[i];
            if (s.l1() != 0.0f) gi += s.l1() * Math.signum(pi);
            if (!decoupled) gi += wd * pi;
            switch (s.algorithm()) {
                case SGD -> {
                    if (mom > 0.0f) {
                        float v = mom * s1[i] + gi;
                        s1[i] = v;
                        gi = s.nesterov() ? gi + mom * v : v;
                    }
                    pi -= lr * gi;
                }
                case ADAM, ADAMW -> {
                    if (decoupled) pi -= lr * wd * pi;
                    float m = s.beta1() * s1[i] + (1.0f - s.beta1()) * gi;
                    float v = s.beta2() * s2[i] + (1.0f - s.beta2()) * gi * gi;
                    s1[i] = m;
                    s2[i] = v;
                    double mhat = m / bc1, vhat = v / bc2;
                    pi -= (float) (lr * mhat / (Math.sqrt(vhat) + s.eps()));
                }
                case RMSPROP -> {
                    float sq = s.beta2() * s2[i] + (1.0f - s.beta2()) * gi * gi;
                    s2[i] = sq;
                    float step = gi / ((float) Math.sqrt(sq) + s.eps());
                    if (mom > 0.0f) {
                        float b = mom * s1[i] + step;
                        s1[i] = b;
                        pi -= lr * b;
                    } else {
                        pi -= lr * step;
                    }
                }
            }
            p[i] = pi;
        }
        write(param, p);
        if (s1 != null) write(state1, s1);
        if (s2 != null) write(state2, s2);
    }
}
