// The conv2d shape-list syntax of native/test/shapes/conv2d.txt and ConvBench:
//   NxCxHxW:OCxKHxKW[:sSH[xSW]][:pP | :pTxL | :pT,L,B,R][:dDH[xDW]][:gG][:relu | :gelu]
#pragma once

#include "deepkern.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dkt {

inline dk_conv2d_desc parse_conv_shape(const std::string &line) {
    dk_conv2d_desc d{};
    d.stride_h = d.stride_w = d.dilation_h = d.dilation_w = d.groups = 1;
    std::vector<std::string> parts;
    std::stringstream ss(line);
    for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
    long long a, b, c, e;
    if (parts.size() < 2 || std::sscanf(parts[0].c_str(), "%lldx%lldx%lldx%lld", &a, &b, &c, &e) != 4)
        throw std::runtime_error("bad conv shape: " + line);
    d.n = a, d.c = b, d.h = c, d.w = e;
    if (std::sscanf(parts[1].c_str(), "%lldx%lldx%lld", &a, &b, &c) != 3) throw std::runtime_error("bad conv shape: " + line);
    d.oc = a, d.kernel_h = b, d.kernel_w = c;
    for (size_t i = 2; i < parts.size(); ++i) {
        const std::string &p = parts[i];
        const char *v = p.c_str() + 1;
        if (p == "relu") d.activation = DK_ACTIVATION_RELU;
        else if (p == "gelu") d.activation = DK_ACTIVATION_GELU;
        else if (p[0] == 's') {
            int k = std::sscanf(v, "%lldx%lld", &a, &b);
            d.stride_h = a, d.stride_w = k == 2 ? b : a;
        } else if (p[0] == 'd') {
            int k = std::sscanf(v, "%lldx%lld", &a, &b);
            d.dilation_h = a, d.dilation_w = k == 2 ? b : a;
        } else if (p[0] == 'g') {
            d.groups = std::atoll(v);
        } else if (p[0] == 'p') {
            if (std::sscanf(v, "%lld,%lld,%lld,%lld", &a, &b, &c, &e) == 4) {
                d.pad_h = a, d.pad_w = b, d.pad_h_end = c, d.pad_w_end = e;
            } else {
                int k = std::sscanf(v, "%lldx%lld", &a, &b);
                d.pad_h = d.pad_h_end = a;
                d.pad_w = d.pad_w_end = k == 2 ? b : a;
            }
        } else
            throw std::runtime_error("bad conv shape field '" + p + "' in " + line);
    }
    return d;
}

inline std::vector<std::pair<std::string, dk_conv2d_desc>> read_conv_shapes(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::vector<std::pair<std::string, dk_conv2d_desc>> out;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        out.emplace_back(line, parse_conv_shape(line));
    }
    return out;
}

inline int64_t conv_oh(const dk_conv2d_desc &d) {
    return (d.h + d.pad_h + d.pad_h_end - d.dilation_h * (d.kernel_h - 1) - 1) / d.stride_h + 1;
}
inline int64_t conv_ow(const dk_conv2d_desc &d) {
    return (d.w + d.pad_w + d.pad_w_end - d.dilation_w * (d.kernel_w - 1) - 1) / d.stride_w + 1;
}

} // namespace dkt
