// dk_conv_bench: the native conv2d kernels against oneDNN's convolution primitive, in one process,
// interleaved rep by rep, medians (and minima, which a loaded machine disturbs less). The kernels' own timing harness (issue 4) until ConvBench (JMH)
// runs them through Java; it calls oneDNN directly, so it does not depend on the onednn backend.
//
//   dk_conv_bench [--threads T] [--reps R] [--pass fwd|bwd_data|bwd_weights] SHAPE...
//   SHAPE = NxCxHxW:KxRxS:sS:pP[:gG] (ConvBench's format)
//
// oneDNN is timed two ways: "prim" is the primitive alone on tensors already in the blocked
// formats it chose (format_tag::any), its best case; "call" adds what a call with NCHW / OIHW
// tensors costs: the reorders of the inputs into its formats and of the output back to NCHW.
// The native kernels always take NCHW / OIHW.
#include "deepkern.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <random>
#include <string>
#include <vector>

#include <omp.h>

using namespace dnnl;

namespace {

struct Shape {
    int64_t n, c, h, w, k, r, s, stride, pad, groups = 1;
    int64_t oh() const { return (h + 2 * pad - r) / stride + 1; }
    int64_t ow() const { return (w + 2 * pad - s) / stride + 1; }
    double flops() const { return 2.0 * n * k * oh() * ow() * (c / groups) * r * s; }
};

bool parse(const char *text, Shape &s) {
    long long n, c, h, w, k, r, q, st, p, g = 1;
    const int got = std::sscanf(text, "%lldx%lldx%lldx%lld:%lldx%lldx%lld:s%lld:p%lld:g%lld", &n, &c, &h, &w, &k, &r, &q,
                                &st, &p, &g);
    if (got != 9 && got != 10) return false;
    s = {n, c, h, w, k, r, q, st, p, g};
    return true;
}

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::vector<float> random_vec(size_t n, std::mt19937 &rng) {
    std::uniform_real_distribution<float> d(-1, 1);
    std::vector<float> v(n);
    for (float &x : v) x = d(rng);
    return v;
}

// oneDNN: the primitive for one pass with format any, user memories in NCHW/OIHW, reorders.
struct OneDnn {
    engine eng{engine::kind::cpu, 0};
    stream strm{eng};
    std::function<void()> prim, call;
    std::vector<memory> keep;
};

void setup_onednn(OneDnn &o, const Shape &s, const std::string &pass, float *x, float *w, float *b, float *y) {
    using tag = memory::format_tag;
    using dt = memory::data_type;
    const memory::dims src{s.n, s.c, s.h, s.w}, bia{s.k}, dst{s.n, s.k, s.oh(), s.ow()};
    const memory::dims wei = s.groups == 1 ? memory::dims{s.k, s.c, s.r, s.s}
                                           : memory::dims{s.groups, s.k / s.groups, s.c / s.groups, s.r, s.s};
    const memory::dims strides{s.stride, s.stride}, dil{0, 0}, pad{s.pad, s.pad};
    auto any = [](const memory::dims &d) { return memory::desc(d, dt::f32, tag::any); };
    memory::desc src_md = any(src), wei_md = any(wei), dst_md = any(dst), bia_md(bia, dt::f32, tag::x);
    convolution_forward::primitive_desc fwd(o.eng, prop_kind::forward_training, algorithm::convolution_direct, src_md,
                                            wei_md, bia_md, dst_md, strides, dil, pad, pad);
    memory ux({src, dt::f32, tag::nchw}, o.eng, x), uw({wei, dt::f32, s.groups == 1 ? tag::oihw : tag::goihw}, o.eng, w),
        ub({bia, dt::f32, tag::x}, o.eng, b), uy({dst, dt::f32, tag::nchw}, o.eng, y);
    // the two tensors read and the one written, in the primitive's formats
    memory::desc in1_md, in2_md, out_md;
    memory u_in1, u_in2, u_out;
    primitive p;
    std::unordered_map<int, memory> args;
    int a_in1, a_in2, a_out;
    std::string impl;
    if (pass == "fwd") {
        in1_md = fwd.src_desc(), in2_md = fwd.weights_desc(), out_md = fwd.dst_desc();
        u_in1 = ux, u_in2 = uw, u_out = uy;
        p = convolution_forward(fwd);
        impl = fwd.impl_info_str();
        a_in1 = DNNL_ARG_SRC, a_in2 = DNNL_ARG_WEIGHTS, a_out = DNNL_ARG_DST;
        args[DNNL_ARG_BIAS] = ub;
    } else if (pass == "bwd_data") {
        convolution_backward_data::primitive_desc bd(o.eng, algorithm::convolution_direct, any(src), any(wei), any(dst),
                                                     strides, dil, pad, pad, fwd);
        in1_md = bd.diff_dst_desc(), in2_md = bd.weights_desc(), out_md = bd.diff_src_desc();
        u_in1 = uy, u_in2 = uw, u_out = ux;
        p = convolution_backward_data(bd);
        impl = bd.impl_info_str();
        a_in1 = DNNL_ARG_DIFF_DST, a_in2 = DNNL_ARG_WEIGHTS, a_out = DNNL_ARG_DIFF_SRC;
    } else {
        convolution_backward_weights::primitive_desc bw(o.eng, algorithm::convolution_direct, any(src), any(wei),
                                                        bia_md, any(dst), strides, dil, pad, pad, fwd);
        in1_md = bw.diff_dst_desc(), in2_md = bw.src_desc(), out_md = bw.diff_weights_desc();
        u_in1 = uy, u_in2 = ux, u_out = uw;
        p = convolution_backward_weights(bw);
        impl = bw.impl_info_str();
        a_in1 = DNNL_ARG_DIFF_DST, a_in2 = DNNL_ARG_SRC, a_out = DNNL_ARG_DIFF_WEIGHTS;
        args[DNNL_ARG_DIFF_BIAS] = ub;
    }
    memory m1(in1_md, o.eng), m2(in2_md, o.eng), mo(out_md, o.eng);
    args[a_in1] = m1, args[a_in2] = m2, args[a_out] = mo;
    reorder r1(u_in1, m1), r2(u_in2, m2), ro(mo, u_out);
    r1.execute(o.strm, u_in1, m1), r2.execute(o.strm, u_in2, m2);
    o.strm.wait();
    o.prim = [=, &o]() mutable {
        p.execute(o.strm, args);
        o.strm.wait();
    };
    o.call = [=, &o]() mutable {
        r1.execute(o.strm, u_in1, m1);
        r2.execute(o.strm, u_in2, m2);
        p.execute(o.strm, args);
        ro.execute(o.strm, mo, u_out);
        o.strm.wait();
    };
    std::printf("#   onednn %s: %s\n", pass.c_str(), impl.c_str());
}

} // namespace

int main(int argc, char **argv) {
    int threads = 1, reps = 15;
    std::string pass = "fwd";
    std::vector<Shape> shapes;
    std::vector<std::string> names;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
        else if (a == "--pass" && i + 1 < argc) pass = argv[++i];
        else {
            Shape s;
            if (!parse(argv[i], s)) {
                std::fprintf(stderr, "bad shape %s (NxCxHxW:KxRxS:sS:pP)\n", argv[i]);
                return 2;
            }
            shapes.push_back(s), names.push_back(a);
        }
    }
    dk_set_num_threads(threads);
    omp_set_num_threads(threads);
    std::mt19937 rng(1);
    std::printf("# pass %s, threads %d, reps %d, medians in ms; ratio = onednn time / native time (>1: native faster)\n",
                pass.c_str(), threads, reps);
    std::printf("%-28s %9s %9s %9s %8s %8s %8s %8s %8s\n", "shape", "native", "dnn_prim", "dnn_call", "GF/s", "r_prim",
                "r_call", "rmin_prm", "rmin_cll");
    double log_prim = 0, log_call = 0, log_min_prim = 0, log_min_call = 0;
    for (size_t i = 0; i < shapes.size(); ++i) {
        const Shape &s = shapes[i];
        dk_conv2d_desc d{};
        d.n = s.n, d.c = s.c, d.h = s.h, d.w = s.w, d.oc = s.k, d.kernel_h = s.r, d.kernel_w = s.s;
        d.stride_h = d.stride_w = s.stride, d.pad_h = d.pad_w = d.pad_h_end = d.pad_w_end = s.pad;
        d.dilation_h = d.dilation_w = 1, d.groups = s.groups, d.activation = DK_ACTIVATION_NONE;
        auto x = random_vec(s.n * s.c * s.h * s.w, rng), w = random_vec(s.k * (s.c / s.groups) * s.r * s.s, rng),
             b = random_vec(s.k, rng), y = random_vec(s.n * s.k * s.oh() * s.ow(), rng);
        auto x2 = x, w2 = w, b2 = b, y2 = y; // oneDNN's own buffers
        auto native = [&]() {
            dk_status st;
            if (pass == "fwd")
                st = dk_conv2d_forward(DK_BACKEND_NATIVE, &d, y.data(), y.size(), x.data(), x.size(), w.data(), w.size(),
                                       b.data(), b.size());
            else if (pass == "bwd_data")
                st = dk_conv2d_backward_data(DK_BACKEND_NATIVE, &d, x.data(), x.size(), y.data(), y.size(), w.data(),
                                             w.size());
            else
                st = dk_conv2d_backward_weights(DK_BACKEND_NATIVE, &d, w.data(), w.size(), b.data(), b.size(), y.data(),
                                                y.size(), x.data(), x.size());
            if (st != DK_OK) {
                std::fprintf(stderr, "native: %s\n", dk_last_error());
                std::exit(1);
            }
        };
        OneDnn o;
        setup_onednn(o, s, pass, x2.data(), w2.data(), b2.data(), y2.data());
        std::vector<double> tn, tp, tc;
        auto timed = [](const std::function<void()> &f) {
            const double t0 = now_ms();
            f();
            return now_ms() - t0;
        };
        for (int r = 0; r < 2; ++r) native(), o.prim(), o.call(); // warm-up
        for (int r = 0; r < reps; ++r) {
            tn.push_back(timed(native));
            tp.push_back(timed(o.prim));
            tc.push_back(timed(o.call));
        }
        const double mn = median(tn), mp = median(tp), mc = median(tc);
        log_prim += std::log(mp / mn), log_call += std::log(mc / mn);
        const double nn = *std::min_element(tn.begin(), tn.end()), np = *std::min_element(tp.begin(), tp.end()),
                     nc = *std::min_element(tc.begin(), tc.end());
        log_min_prim += std::log(np / nn), log_min_call += std::log(nc / nn);
        std::printf("%-28s %9.3f %9.3f %9.3f %8.1f %8.2f %8.2f %8.2f %8.2f\n", names[i].c_str(), mn, mp, mc,
                    s.flops() / mn * 1e-6, mp / mn, mc / mn, np / nn, nc / nn);
        std::fflush(stdout);
    }
    const double k = static_cast<double>(shapes.size());
    std::printf("geomean ratio of medians: vs prim %.3f, vs call %.3f; of minima: vs prim %.3f, vs call %.3f\n",
                std::exp(log_prim / k), std::exp(log_call / k), std::exp(log_min_prim / k), std::exp(log_min_call / k));
    return 0;
}
