// CPU feature detection by CPUID flags (never by model number: the model is masked on some
// hosts) plus the OS's XSAVE state, and the ISA level the kernels dispatch on.
#pragma once

namespace dk {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

struct CpuFeatures {
    bool sse42 = false, avx = false, avx2 = false, fma = false;
    bool avx512f = false, avx512dq = false, avx512bw = false, avx512vl = false;
    bool avx512_vnni = false, avx512_bf16 = false;
    bool amx_tile = false, amx_bf16 = false, amx_int8 = false;
};

const CpuFeatures &cpu_features();

// The ISA kernels use: the best the CPU and OS support, lowered (never raised) by the
// environment variable DK_ISA=generic|avx2|avx512, so tests can exercise every path.
Isa cpu_isa();
const char *isa_name(Isa isa);

} // namespace dk
