#include "cpu_features.h"

#include "deepkern.h"

#include <cpuid.h>
#include <cstdlib>
#include <cstring>
#include <string>

namespace dk {

namespace {

unsigned long long xgetbv0() {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<unsigned long long>(hi) << 32) | lo;
}

CpuFeatures detect() {
    CpuFeatures f;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.sse42 = c & (1u << 20);
    const bool osxsave = c & (1u << 27);
    const bool cpu_avx = c & (1u << 28);
    const bool cpu_fma = c & (1u << 12);
    const unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    const bool os_avx = (xcr0 & 0x6) == 0x6;             // XMM and YMM state
    const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0; // opmask, ZMM_Hi256, Hi16_ZMM
    const bool os_amx = (xcr0 & 0x60000) == 0x60000;       // XTILECFG, XTILEDATA
    f.avx = cpu_avx && os_avx;
    f.fma = cpu_fma && os_avx;
    if (__get_cpuid_max(0, nullptr) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = os_avx && (b & (1u << 5));
        f.avx512f = os_avx512 && (b & (1u << 16));
        f.avx512dq = os_avx512 && (b & (1u << 17));
        f.avx512bw = os_avx512 && (b & (1u << 30));
        f.avx512vl = os_avx512 && (b & (1u << 31));
        f.avx512_vnni = os_avx512 && (c & (1u << 11));
        f.amx_bf16 = os_amx && (d & (1u << 22));
        f.amx_tile = os_amx && (d & (1u << 24));
        f.amx_int8 = os_amx && (d & (1u << 25));
        __cpuid_count(7, 1, a, b, c, d);
        f.avx512_bf16 = os_avx512 && (a & (1u << 5));
    }
    return f;
}

Isa best_isa(const CpuFeatures &f) {
    if (f.avx512f && f.avx512dq && f.avx512bw && f.avx512vl && f.fma) return Isa::avx512;
    if (f.avx2 && f.fma) return Isa::avx2;
    return Isa::generic;
}

Isa choose_isa() {
    Isa isa = best_isa(cpu_features());
    if (const char *env = std::getenv("DK_ISA")) {
        Isa wanted = isa;
        if (!std::strcmp(env, "generic")) wanted = Isa::generic;
        else if (!std::strcmp(env, "avx2")) wanted = Isa::avx2;
        else if (!std::strcmp(env, "avx512")) wanted = Isa::avx512;
        if (wanted < isa) isa = wanted;
    }
    return isa;
}

} // namespace

const CpuFeatures &cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

Isa cpu_isa() {
    static const Isa isa = choose_isa();
    return isa;
}

const char *isa_name(Isa isa) {
    switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
    }
}

} // namespace dk

extern "C" const char *dk_cpu_features(void) {
    static const std::string text = [] {
        const dk::CpuFeatures &f = dk::cpu_features();
        const std::pair<bool, const char *> flags[] = {
            {f.sse42, "sse4.2"},         {f.avx, "avx"},           {f.avx2, "avx2"},
            {f.fma, "fma"},              {f.avx512f, "avx512f"},   {f.avx512dq, "avx512dq"},
            {f.avx512bw, "avx512bw"},    {f.avx512vl, "avx512vl"}, {f.avx512_vnni, "avx512_vnni"},
            {f.avx512_bf16, "avx512_bf16"}, {f.amx_tile, "amx_tile"}, {f.amx_bf16, "amx_bf16"},
            {f.amx_int8, "amx_int8"}};
        std::string s;
        for (const auto &[on, name] : flags)
            if (on) s += (s.empty() ? "" : " ") + std::string(name);
        return s;
    }();
    return text.c_str();
}

extern "C" const char *dk_cpu_isa(void) { return dk::isa_name(dk::cpu_isa()); }
