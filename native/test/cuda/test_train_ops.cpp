// The kernels behind the cuda backend's training ops that have no test of their own elsewhere
// (log-softmax, dk_softmax_xent_*, batch norm inference, embedding, dropout, every optimizer, the
// strided n-d ops) against deepkern's reference implementations (native/src/ref, linked into this
// executable), on ragged shapes: sizes 1, not multiples of a warp or a block, broadcast and
// transposed strides.
#include "core/train_ops.h"
#include "cuda_test.h"

namespace dk {
extern const SoftmaxImpl softmax_forward_ref_impl, softmax_backward_ref_impl;
extern const XentImpl xent_forward_ref_impl, xent_backward_ref_impl;
extern const BatchnormImpl batchnorm_forward_ref_impl;
extern const EmbeddingImpl embedding_forward_ref_impl, embedding_backward_ref_impl;
extern const DropoutImpl dropout_ref_impl;
extern const OptimImpl optimizer_ref_impl;
extern const BinaryImpl binary_ref_impl;
extern const ReduceImpl reduce_ref_impl;
extern const CopyImpl copy_ref_impl;
} // namespace dk

namespace {

using dkct::Dev;

std::vector<double> widen(const std::vector<float> &v) { return std::vector<double>(v.begin(), v.end()); }

std::string shape(int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); }

// Class labels / row indices as floats, in [0, limit).
std::vector<float> labels(int64_t n, int64_t limit, std::mt19937 &rng) {
    std::vector<float> v(n);
    for (float &x : v) x = static_cast<float>(rng() % limit);
    return v;
}

} // namespace

TEST(cuda_softmax_log_matches_ref) {
    std::mt19937 rng(11);
    for (int log : {0, 1})
        for (int64_t rows : {1, 9, 37})
            for (int64_t cols : {1, 31, 33, 517}) {
                auto x = dkct::random_vec(rows * cols, rng, -8.0f, 8.0f);
                const auto dy = dkct::random_vec(x.size(), rng);
                const dk_softmax_desc d{rows, cols, log};
                std::vector<float> y(x.size()), dx(x.size());
                dk::softmax_forward_ref_impl.run({d, y.data(), x.data(), nullptr});
                dk::softmax_backward_ref_impl.run({d, dx.data(), dy.data(), y.data()});
                Dev<float> gx(x), gdy(dy), gy(x.size()), gdx(x.size());
                if (!DKC_OK(dkc_softmax_forward(gy.p, gx.p, rows, cols, log, nullptr))) return;
                if (!DKC_OK(dkc_softmax_backward(gdx.p, gdy.p, gy.p, rows, cols, log, nullptr))) return;
                const std::string what = (log ? "log_softmax " : "softmax ") + shape(rows, cols);
                dkct::close(gy.get(), widen(y), 1e-6, 1e-5, what);
                dkct::close(gdx.get(), widen(dx), 1e-6, 1e-4, what + " backward");
            }
    float *p = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_softmax_forward(p, p, 2, 3, 2, nullptr), DK_INVALID_ARGUMENT, "log", "log = 2");
}

TEST(cuda_softmax_xent_matches_ref) {
    std::mt19937 rng(12);
    for (float smoothing : {0.0f, 0.1f})
        for (int64_t n : {1, 13, 300})
            for (int64_t classes : {1, 5, 33, 1000}) {
                const auto x = dkct::random_vec(n * classes, rng, -6.0f, 6.0f);
                const auto lab = labels(n, classes, rng);
                const dk_xent_desc d{n, classes, smoothing};
                std::vector<float> loss(1), probs(x.size()), dl(x.size());
                dk::xent_forward_ref_impl.run({d, 0.0f, loss.data(), probs.data(), x.data(), lab.data()});
                dk::xent_backward_ref_impl.run({d, 0.7f, nullptr, dl.data(), probs.data(), lab.data()});
                Dev<float> gx(x), glab(lab), gloss(1), gprobs(x.size()), gdl(x.size());
                if (!DKC_OK(dkc_softmax_xent_forward(&d, gloss.p, gprobs.p, gx.p, glab.p, nullptr))) return;
                if (!DKC_OK(dkc_softmax_xent_backward(&d, 0.7f, gdl.p, gprobs.p, glab.p, nullptr))) return;
                const std::string what = "xent " + shape(n, classes) + " smoothing " + std::to_string(smoothing);
                dkct::close(gloss.get(), widen(loss), 1e-6, 1e-5, what + " loss");
                dkct::close(gprobs.get(), widen(probs), 1e-7, 1e-5, what + " probs");
                dkct::close(gdl.get(), widen(dl), 1e-7, 1e-5, what + " dlogits");
            }
    const dk_xent_desc bad{2, 3, 1.0f};
    float *p = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_softmax_xent_forward(&bad, p, p, p, p, nullptr), DK_INVALID_ARGUMENT, "smoothing",
                       "smoothing = 1");
}

TEST(cuda_batchnorm_inference_matches_ref) {
    std::mt19937 rng(13);
    for (int64_t n : {1, 3})
        for (int64_t c : {1, 7})
            for (int64_t hw : {1, 33, 300}) {
                const auto x = dkct::random_vec(n * c * hw, rng, -3.0f, 3.0f), g = dkct::random_vec(c, rng),
                           b = dkct::random_vec(c, rng), rm = dkct::random_vec(c, rng);
                auto rv = dkct::random_vec(c, rng, 0.1f, 2.0f);
                const dk_batchnorm_desc d{n, c, hw, 1e-5f, 0.1f, 0};
                std::vector<float> y(x.size());
                dk::NormArgs a{};
                a.y = y.data(), a.running_mean = const_cast<float *>(rm.data()), a.running_var = rv.data();
                a.x = x.data(), a.gamma = g.data(), a.beta = b.data();
                dk::batchnorm_forward_ref_impl.run({d, a});
                Dev<float> gx(x), gg(g), gb(b), grm(rm), grv(rv), gy(x.size());
                if (!DKC_OK(dkc_batchnorm_inference(gy.p, gx.p, gg.p, gb.p, grm.p, grv.p, n, c, hw, 1e-5f, nullptr)))
                    return;
                dkct::close(gy.get(), widen(y), 1e-6, 1e-5, "batchnorm inference " + shape(n * c, hw));
            }
}

TEST(cuda_embedding_and_dropout_match_ref) {
    std::mt19937 rng(14);
    for (int64_t n : {1, 37, 500})
        for (int64_t vocab : {1, 7, 100})
            for (int64_t dim : {1, 33}) {
                const auto table = dkct::random_vec(vocab * dim, rng), dy = dkct::random_vec(n * dim, rng);
                const auto idx = labels(n, vocab, rng); // small vocabularies: many repeated rows
                const dk_embedding_desc d{n, vocab, dim};
                std::vector<float> y(n * dim), dt(vocab * dim);
                dk::embedding_forward_ref_impl.run({d, y.data(), table.data(), idx.data()});
                dk::embedding_backward_ref_impl.run({d, dt.data(), dy.data(), idx.data()});
                Dev<float> gt(table), gdy(dy), gidx(idx), gy(y.size()), gdt(dt.size());
                if (!DKC_OK(dkc_embedding_forward(gy.p, gt.p, gidx.p, n, vocab, dim, nullptr))) return;
                if (!DKC_OK(dkc_embedding_backward(gdt.p, gdy.p, gidx.p, n, vocab, dim, nullptr))) return;
                const std::string what = "embedding n=" + std::to_string(n) + " " + shape(vocab, dim);
                dkct::close(gy.get(), widen(y), 0, 0, what + " forward");
                dkct::close(gdt.get(), widen(dt), 1e-5, 1e-5, what + " backward"); // atomics: any order
            }
    for (int64_t n : {1, 255, 10007})
        for (float p : {0.0f, 0.3f, 0.9f}) {
            const dk_dropout_desc d{n, p, 0x1234567890abcdefULL + uint64_t(n)};
            std::vector<float> mask(n);
            dk::dropout_ref_impl.run({d, mask.data()});
            Dev<float> gm(n);
            if (!DKC_OK(dkc_dropout_mask(gm.p, n, p, d.seed, nullptr))) return;
            dkct::close(gm.get(), widen(mask), 0, 0, "dropout n=" + std::to_string(n) + " p=" + std::to_string(p));
        }
    float *q = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_dropout_mask(q, 4, 1.0f, 0, nullptr), DK_INVALID_ARGUMENT, "p", "p = 1");
    dkct::expect_error(dkc_embedding_forward(q, q, q, 4, 0, 2, nullptr), DK_INVALID_ARGUMENT, "vocab", "vocab = 0");
}

TEST(cuda_optimizers_match_ref) {
    std::mt19937 rng(15);
    struct Case {
        int alg;
        float momentum;
        int nesterov;
        float wd, l1;
    };
    const Case cases[] = {{DK_OPTIM_SGD, 0.0f, 0, 0.0f, 0.0f},  {DK_OPTIM_SGD, 0.9f, 1, 1e-2f, 1e-3f},
                          {DK_OPTIM_SGD, 0.5f, 0, 0.0f, 0.0f},  {DK_OPTIM_ADAM, 0.0f, 0, 1e-2f, 0.0f},
                          {DK_OPTIM_ADAMW, 0.0f, 0, 1e-1f, 1e-3f}, {DK_OPTIM_RMSPROP, 0.0f, 0, 0.0f, 0.0f},
                          {DK_OPTIM_RMSPROP, 0.9f, 0, 1e-2f, 0.0f}};
    for (const Case &c : cases)
        for (int64_t n : {1, 1000, 3001}) {
            auto p = dkct::random_vec(n, rng), s1 = std::vector<float>(n, 0.0f), s2 = s1;
            Dev<float> gp(p), gs1(s1), gs2(s2), gg(n);
            for (int64_t step = 1; step <= 3; ++step) {
                dk_optim_desc d{};
                d.alg = c.alg, d.n = n, d.lr = 1e-2f, d.momentum = c.momentum, d.nesterov = c.nesterov;
                d.beta1 = 0.9f, d.beta2 = 0.99f, d.eps = 1e-6f, d.weight_decay = c.wd, d.l1 = c.l1, d.step = step;
                const auto g = dkct::random_vec(n, rng);
                gg.put(g);
                dk::optimizer_ref_impl.run({d, p.data(), s1.data(), s2.data(), g.data()});
                if (!DKC_OK(dkc_optimizer_step(&d, gp.p, gs1.p, gs2.p, gg.p, nullptr))) return;
            }
            const std::string what = "optimizer " + std::to_string(c.alg) + " momentum " + std::to_string(c.momentum) +
                                     " n=" + std::to_string(n);
            dkct::close(gp.get(), widen(p), 1e-6, 1e-5, what + " param");
            dkct::close(gs1.get(), widen(s1), 1e-7, 1e-4, what + " state1");
            dkct::close(gs2.get(), widen(s2), 1e-8, 1e-4, what + " state2");
        }
    dk_optim_desc bad{};
    bad.alg = DK_OPTIM_RMSPROP, bad.n = 4, bad.beta2 = 0.9f, bad.eps = 1e-8f;
    float *q = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_optimizer_step(&bad, q, nullptr, nullptr, q, nullptr), DK_INVALID_ARGUMENT, "state2",
                       "rmsprop without its mean square");
    bad.alg = 7;
    dkct::expect_error(dkc_optimizer_step(&bad, q, q, q, q, nullptr), DK_INVALID_ARGUMENT, "alg", "alg = 7");
}

namespace {

// A rank-3 descriptor [d0, d1, d2] with the given strides.
dk_nd_desc nd3(const int64_t (&shape)[3], const int64_t (&out)[3], const int64_t (&a)[3], const int64_t (&b)[3]) {
    dk_nd_desc d{};
    d.rank = 3;
    for (int i = 0; i < 3; ++i) d.shape[i] = shape[i], d.out_strides[i] = out[i], d.a_strides[i] = a[i], d.b_strides[i] = b[i];
    return d;
}

} // namespace

TEST(cuda_nd_ops_match_ref) {
    std::mt19937 rng(16);
    const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {2, 33, 65}, {1, 300, 3}};
    for (const auto &s : shapes) {
        const int64_t n0 = s[0], n1 = s[1], n2 = s[2], total = n0 * n1 * n2;
        const int64_t dense[3] = {n1 * n2, n2, 1};
        // binary: a dense, b broadcast along dimension 1 (a [d0, 1, d2] operand); every op.
        const auto a = dkct::random_vec(total, rng), b = dkct::random_vec(n0 * n2, rng);
        for (int op = DK_BINARY_ADD; op <= DK_BINARY_MUL; ++op) {
            const dk_nd_desc d = nd3(s, dense, dense, {n2, 0, 1});
            std::vector<float> out(total);
            dk::binary_ref_impl.run({static_cast<dk_binary_op>(op), d, out.data(), a.data(), b.data()});
            Dev<float> ga(a), gb(b), gout(total);
            if (!DKC_OK(dkc_binary(op, &d, gout.p, ga.p, gb.p, nullptr))) return;
            dkct::close(gout.get(), widen(out), 0, 0, "binary " + std::to_string(op));
        }
        // copy: out dense [d0, d1, d2] gathered from a stored [d2, d1, d0] (a transposed view).
        {
            const dk_nd_desc d = nd3(s, dense, {1, n0, n0 * n1}, {0, 0, 0});
            std::vector<float> out(total);
            dk::copy_ref_impl.run({d, out.data(), a.data()});
            Dev<float> ga(a), gout(total);
            if (!DKC_OK(dkc_copy(&d, gout.p, ga.p, nullptr))) return;
            dkct::close(gout.get(), widen(out), 0, 0, "copy (transposed)");
        }
        // reduce_sum over dimensions {1}, {0, 2}, {0, 1, 2}, with alpha and beta.
        const int64_t outs[][3] = {{n2, 0, 1}, {0, 1, 0}, {0, 0, 0}};
        for (const auto &os : outs) {
            const dk_nd_desc d = nd3(s, os, dense, {0, 0, 0});
            const int64_t out_len = 1 + (n0 - 1) * os[0] + (n1 - 1) * os[1] + (n2 - 1) * os[2];
            for (float beta : {0.0f, 0.5f}) {
                auto out = dkct::random_vec(out_len, rng);
                Dev<float> ga(a), gout(out);
                dk::reduce_ref_impl.run({d, 2.0f, beta, out.data(), a.data()});
                if (!DKC_OK(dkc_reduce_sum(&d, 2.0f, beta, gout.p, ga.p, nullptr))) return;
                dkct::close(gout.get(), widen(out), 1e-5, 1e-5,
                            "reduce_sum " + shape(n0, n1) + "x" + std::to_string(n2) + " beta " + std::to_string(beta));
            }
        }
    }
    { // an empty sum: out = beta * out
        const dk_nd_desc d = nd3({3, 0, 4}, {4, 0, 1}, {0, 4, 1}, {0, 0, 0});
        auto out = dkct::random_vec(12, rng);
        Dev<float> gout(out);
        dk::reduce_ref_impl.run({d, 2.0f, 0.5f, out.data(), nullptr});
        if (!DKC_OK(dkc_reduce_sum(&d, 2.0f, 0.5f, gout.p, nullptr, nullptr))) return;
        dkct::close(gout.get(), widen(out), 0, 0, "reduce_sum over an empty dimension");
    }
    dk_nd_desc bad{};
    bad.rank = 9;
    float *q = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_copy(&bad, q, q, nullptr), DK_INVALID_ARGUMENT, "rank", "rank = 9");
    bad.rank = 1, bad.shape[0] = 2;
    dkct::expect_error(dkc_binary(5, &bad, q, q, q, nullptr), DK_INVALID_ARGUMENT, "op", "op = 5");
}
