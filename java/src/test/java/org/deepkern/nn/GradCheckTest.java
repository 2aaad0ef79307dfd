package org.deepkern.nn;

import org.deepkern.Autograd;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backends;
import org.deepkern.ops.Conv2dSpec;
import org.deepkern.ops.Epilogue;
import org.deepkern.ops.Pool2dSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every differentiable op against central finite differences, on java, native and onednn.
 *
 * <p>The scalar checked is L = sum(f(inputs) * R) for a fixed random R, so every output element
 * contributes. For up to 12 elements of each input, dL/dx is estimated as
 * (L(x + h) - L(x - h)) / 2h with h = 1e-2 (L summed in double); the analytic gradient must agree
 * within 1e-2 + 2e-2 * |gradient|. Inputs of kinked functions (ReLU, max pooling) are drawn so
 * that no element lies within 2h of a kink, so the difference quotient is exact there.
 */
class GradCheckTest {
    static final List<String> BACKENDS = List.of("java", "native", "onednn");
    static final double H = 1e-2;

    record Case(String name, Supplier<Tensor[]> inputs, Function<Tensor[], Tensor> f, boolean[] check) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Tensor rand(long seed, long... shape) {
        return Tensor.rand(seed, shape);
    }

    /** Values in [-1, 1] at least 0.05 away from 0 and from each other's kinks. */
    static Tensor awayFromZero(long seed, long... shape) {
        Tensor t = Tensor.rand(seed, shape);
        float[] v = t.toArray();
        for (int i = 0; i < v.length; ++i) v[i] = v[i] >= 0 ? 0.05f + v[i] * 0.95f : -0.05f + v[i] * 0.95f;
        t.close();
        return Tensor.of(v, shape);
    }

    /** A permutation of well-separated values (distinct by >= 0.05): max pooling without near-ties. */
    static Tensor distinct(long seed, long... shape) {
        int n = (int) Tensor.zeros(shape).numel();
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < n; ++i) idx.add(i);
        java.util.Collections.shuffle(idx, new java.util.Random(seed));
        float[] v = new float[n];
        for (int i = 0; i < n; ++i) v[i] = idx.get(i) * 0.05f - n * 0.025f;
        return Tensor.of(v, shape);
    }

    static Tensor labels(float... v) {
        return Tensor.of(v, v.length);
    }

    static Case c(String name, Supplier<Tensor[]> in, Function<Tensor[], Tensor> f, boolean... check) {
        return new Case(name, in, f, check);
    }

    static boolean[] all(int n) {
        boolean[] b = new boolean[n];
        java.util.Arrays.fill(b, true);
        return b;
    }

    static List<Case> cases() {
        List<Case> l = new ArrayList<>();
        l.add(c("add broadcast", () -> new Tensor[] {rand(1, 3, 4), rand(2, 4)}, x -> Functional.add(x[0], x[1]), true, true));
        l.add(c("sub broadcast", () -> new Tensor[] {rand(3, 2, 3, 4), rand(4, 3, 1)}, x -> Functional.sub(x[0], x[1]), true, true));
        l.add(c("mul broadcast", () -> new Tensor[] {rand(5, 2, 3), rand(6, 2, 1)}, x -> Functional.mul(x[0], x[1]), true, true));
        l.add(c("mul scalar", () -> new Tensor[] {rand(5, 4)}, x -> Functional.mul(x[0], 2.5f), true));
        l.add(c("matmul", () -> new Tensor[] {rand(7, 3, 5), rand(8, 5, 4)}, x -> Functional.matmul(x[0], x[1]), true, true));
        l.add(c("linear", () -> new Tensor[] {rand(9, 4, 6), rand(10, 3, 6), rand(11, 3)},
                x -> Functional.linear(x[0], x[1], x[2]), true, true, true));
        l.add(c("relu", () -> new Tensor[] {awayFromZero(12, 3, 7)}, x -> Functional.relu(x[0]), true));
        l.add(c("leaky relu", () -> new Tensor[] {awayFromZero(13, 3, 7)}, x -> Functional.leakyRelu(x[0], 0.1f), true));
        l.add(c("sigmoid", () -> new Tensor[] {rand(14, 3, 7)}, x -> Functional.sigmoid(x[0]), true));
        l.add(c("tanh", () -> new Tensor[] {rand(15, 3, 7)}, x -> Functional.tanh(x[0]), true));
        l.add(c("gelu", () -> new Tensor[] {rand(16, 3, 7)}, x -> Functional.gelu(x[0]), true));
        l.add(c("softmax", () -> new Tensor[] {rand(17, 4, 5)}, x -> Functional.softmax(x[0]), true));
        l.add(c("log softmax", () -> new Tensor[] {rand(18, 2, 3, 5)}, x -> Functional.logSoftmax(x[0]), true));
        l.add(c("cross entropy (smoothing 0.1)", () -> new Tensor[] {rand(19, 4, 5), labels(0, 4, 2, 2)},
                x -> Functional.crossEntropy(x[0], x[1], 0.1f), true, false));
        l.add(c("mse", () -> new Tensor[] {rand(20, 3, 4), rand(21, 3, 4)}, x -> Functional.mse(x[0], x[1]), true, true));
        l.add(c("bce with logits", () -> new Tensor[] {rand(22, 6), Tensor.of(new float[] {0, 1, 1, 0, 0.5f, 1}, 6)},
                x -> Functional.bceWithLogits(x[0], x[1]), true, false));
        l.add(c("dropout", () -> new Tensor[] {rand(23, 4, 8)}, x -> Functional.dropout(x[0], 0.3f, 99, true), true));
        l.add(c("batch norm 1d training", () -> new Tensor[] {rand(24, 6, 3), rand(25, 3), rand(26, 3), Tensor.zeros(3), Tensor.zeros(3).fill(1)},
                x -> Functional.batchNorm(x[0], x[1], x[2], x[3], x[4], 1e-5f, 0.1f, true), true, true, true, false, false));
        l.add(c("batch norm 2d training", () -> new Tensor[] {rand(27, 3, 2, 3, 3), rand(28, 2), rand(29, 2), Tensor.zeros(2), Tensor.zeros(2).fill(1)},
                x -> Functional.batchNorm(x[0], x[1], x[2], x[3], x[4], 1e-5f, 0.1f, true), true, true, true, false, false));
        l.add(c("batch norm 2d inference", () -> new Tensor[] {rand(30, 2, 2, 3, 3), rand(31, 2), rand(32, 2),
                        Tensor.of(new float[] {0.1f, -0.2f}, 2), Tensor.of(new float[] {0.5f, 2.0f}, 2)},
                x -> Functional.batchNorm(x[0], x[1], x[2], x[3], x[4], 1e-5f, 0.1f, false), true, true, true, false, false));
        l.add(c("layer norm", () -> new Tensor[] {rand(33, 4, 6), rand(34, 6), rand(35, 6)},
                x -> Functional.layerNorm(x[0], x[1], x[2], 1e-5f), true, true, true));
        l.add(c("max pool 2x2", () -> new Tensor[] {distinct(36, 2, 2, 4, 6)}, x -> Functional.maxPool2d(x[0], 2, 2, 0), true));
        l.add(c("max pool 3x3 stride 2 pad 1", () -> new Tensor[] {distinct(37, 1, 2, 5, 5)}, x -> Functional.maxPool2d(x[0], 3, 2, 1), true));
        l.add(c("avg pool 3x3 stride 2 pad 1", () -> new Tensor[] {rand(38, 2, 2, 5, 5)}, x -> Functional.avgPool2d(x[0], 3, 2, 1), true));
        l.add(c("conv2d 3x3 pad 1", () -> new Tensor[] {rand(39, 2, 3, 5, 6), rand(40, 4, 3, 3, 3), rand(41, 4)},
                x -> Functional.conv2d(x[0], x[1], x[2], 1, 1), true, true, true));
        l.add(c("conv2d 3x3 stride 2 no bias", () -> new Tensor[] {rand(42, 2, 2, 7, 7), rand(43, 3, 2, 3, 3)},
                x -> Functional.conv2d(x[0], x[1], null, 2, 0), true, true));
        l.add(c("conv2d 1x1 stride 2", () -> new Tensor[] {rand(44, 1, 3, 6, 6), rand(45, 5, 3, 1, 1), rand(46, 5)},
                x -> Functional.conv2d(x[0], x[1], x[2], 2, 0), true, true, true));
        l.add(c("conv2d dilation 2, stride 1x2, asymmetric padding", () -> new Tensor[] {rand(60, 2, 3, 7, 8), rand(61, 4, 3, 3, 2), rand(62, 4)},
                x -> Functional.conv2d(x[0], x[1], x[2], Conv2dSpec.builder().stride(1, 2).padding(1, 0, 2, 1).dilation(2)), true, true, true));
        l.add(c("conv2d groups 2 stride 2 pad 1", () -> new Tensor[] {rand(63, 2, 4, 6, 6), rand(64, 6, 2, 3, 3), rand(65, 6)},
                x -> Functional.conv2d(x[0], x[1], x[2], Conv2dSpec.builder().stride(2).padding(1).groups(2)), true, true, true));
        l.add(c("conv2d depthwise 3x3 same", () -> new Tensor[] {rand(66, 2, 3, 5, 5), rand(67, 3, 1, 3, 3), rand(68, 3)},
                x -> Functional.conv2d(x[0], x[1], x[2], Conv2dSpec.builder().samePadding().groups(3)), true, true, true));
        l.add(c("conv2d 4x4 same (pad 1 before, 2 after), dilation 1x2", () -> new Tensor[] {rand(69, 1, 2, 5, 9), rand(70, 3, 2, 4, 4)},
                x -> Functional.conv2d(x[0], x[1], null, Conv2dSpec.builder().samePadding().dilation(1, 2)), true, true));
        l.add(c("conv2d with fused GELU", () -> new Tensor[] {rand(71, 2, 2, 5, 5), rand(72, 3, 2, 3, 3), rand(73, 3)},
                x -> Functional.conv2d(x[0], x[1], x[2], Conv2dSpec.builder().padding(1).activation(Epilogue.GELU)), true, true, true));
        l.add(c("max pool 3x2 stride 2x1, padding 1,0,2,1 (argmax kept)", () -> new Tensor[] {distinct(74, 2, 2, 6, 7)},
                x -> Functional.maxPool2d(x[0], Pool2dSpec.builder().kernel(3, 2).stride(2, 1).padding(1, 0, 2, 1)), true));
        l.add(c("avg pool 3x3 stride 2 pad 1 count_include_pad", () -> new Tensor[] {rand(75, 2, 2, 5, 6)},
                x -> Functional.avgPool2d(x[0], Pool2dSpec.builder().kernel(3).stride(2).padding(1).countIncludePad(true)), true));
        l.add(c("global avg pool", () -> new Tensor[] {rand(76, 2, 3, 4, 5)}, x -> Functional.globalAvgPool2d(x[0]), true));
        l.add(c("reshape + flatten", () -> new Tensor[] {rand(47, 2, 3, 4)},
                x -> Functional.flatten(Functional.reshape(x[0], 2, 4, -1)), true));
        l.add(c("transpose", () -> new Tensor[] {rand(48, 3, 5)}, x -> Functional.mul(Functional.transpose(x[0], 0, 1), 1.0f), true));
        l.add(c("slice", () -> new Tensor[] {rand(49, 4, 6)}, x -> Functional.mul(Functional.slice(x[0], 1, 1, 4), 1.0f), true));
        l.add(c("concat", () -> new Tensor[] {rand(50, 2, 3), rand(51, 2, 2)}, x -> Functional.concat(List.of(x[0], x[1]), 1), true, true));
        l.add(c("embedding", () -> new Tensor[] {labels(2, 0, 2, 4), rand(52, 5, 3)}, x -> Functional.embedding(x[0], x[1]), false, true));
        l.add(c("sum", () -> new Tensor[] {rand(53, 3, 4)}, x -> Functional.sum(x[0]), true));
        l.add(c("mean", () -> new Tensor[] {rand(54, 3, 4)}, x -> Functional.mean(x[0]), true));
        l.add(c("sum over dim 1", () -> new Tensor[] {rand(55, 3, 4, 2)}, x -> Functional.sum(x[0], 1, false), true));
        l.add(c("mean over dim 0, kept", () -> new Tensor[] {rand(56, 3, 4)}, x -> Functional.mean(x[0], 0, true), true));
        return l;
    }

    static Stream<Arguments> backendsAndCases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : BACKENDS)
            for (Case c : cases()) out.add(Arguments.of(b, c));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("backendsAndCases")
    void gradientMatchesFiniteDifferences(String backend, Case c) {
        try (var sel = Backends.use(backend); TensorScope scope = TensorScope.open()) {
            Tensor[] in = c.inputs().get();
            for (int i = 0; i < in.length; ++i) if (c.check()[i]) in[i].requiresGrad(true);
            Tensor out = c.f().apply(in);
            Tensor r = Tensor.rand(1234, out.shape());
            Tensor loss = Functional.sum(Functional.mul(out, r));
            loss.backward();
            float[] rv = r.toArray();
            SplittableRandom pick = new SplittableRandom(5);
            for (int i = 0; i < in.length; ++i) {
                if (!c.check()[i]) continue;
                Tensor x = in[i];
                assertNotNull(x.grad(), "input " + i + " got no gradient");
                float[] ana = x.grad().toArray();
                long n = x.numel();
                for (int s = 0; s < Math.min(12, n); ++s) {
                    int j = n <= 12 ? s : pick.nextInt((int) n);
                    long[] idx = unravel(j, x.shape());
                    float orig = x.get(idx);
                    double lp, lm;
                    try (var ng = Autograd.noGrad(); TensorScope inner = TensorScope.open()) {
                        x.set((float) (orig + H), idx);
                        lp = dot(c.f().apply(in), rv);
                        x.set((float) (orig - H), idx);
                        lm = dot(c.f().apply(in), rv);
                        x.set(orig, idx);
                    }
                    double num = (lp - lm) / (2 * H);
                    assertEquals(num, ana[j], 1e-2 + 2e-2 * Math.abs(num),
                            c.name() + " on " + backend + ": d/d input" + i + "[" + j + "]");
                }
            }
        }
    }

    static double dot(Tensor out, float[] r) {
        float[] v = out.toArray();
        double s = 0;
        for (int i = 0; i < v.length; ++i) s += (double) v[i] * r[i];
        return s;
    }

    static long[] unravel(long j, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; --d) {
            idx[d] = j % shape[d];
            j /= shape[d];
        }
        return idx;
    }
}
