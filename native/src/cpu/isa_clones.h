// One loop, compiled for AVX-512, for AVX2 + FMA and for the x86-64 baseline, and chosen at run
// time by cpu_isa() — so DK_ISA lowers the choice in tests, as for every other kernel.
//
// For element-wise and reduction loops that the compiler vectorizes by itself: write the loop
// once as a DK_CLONE_BODY function NAME_body, then DK_ISA_CLONES(NAME, (params), (args)) defines
// NAME(params) that runs the body compiled for the best ISA. The target attributes apply to the
// wrappers only; GCC inlines the body into each of them and vectorizes it for that ISA. Unlike a
// per-ISA translation unit (native/KERNELS.md), nothing compiled for AVX-512 can leak into
// another function through a shared inline definition.
#pragma once

#include "core/cpu_features.h"

#define DK_CLONE_BODY static inline __attribute__((always_inline))

#define DK_ISA_CLONES(name, params, args)                                                                  \
    __attribute__((target("arch=x86-64-v4"), noinline)) void name##_avx512 params { name##_body args; }   \
    __attribute__((target("arch=x86-64-v3"), noinline)) void name##_avx2 params { name##_body args; }     \
    __attribute__((noinline)) void name##_generic params { name##_body args; }                             \
    void name params {                                                                                     \
        switch (::dk::cpu_isa()) {                                                                         \
        case ::dk::Isa::avx512: name##_avx512 args; break;                                                 \
        case ::dk::Isa::avx2: name##_avx2 args; break;                                                     \
        default: name##_generic args; break;                                                               \
        }                                                                                                  \
    }
