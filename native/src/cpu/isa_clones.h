// One loop, compiled for AVX-512, for AVX2 + FMA and for the x86-64 baseline, and chosen at run
// time by cpu_isa() — so DK_ISA lowers the choice in tests, as for every other kernel.
//
// For element-wise and reduction loops that the compiler vectorizes by itself: write the loop
// once as a DK_CLONE_BODY function NAME_body, then DK_ISA_CLONES(NAME, (params), (args)) defines
// NAME(params) that runs the body compiled for the best ISA (DK_ISA_CLONES_RETURNING when the
// body returns a value). The target attributes apply to the
// wrappers only; GCC inlines the body into each of them and vectorizes it for that ISA. Unlike a
// per-ISA translation unit (native/KERNELS.md), nothing compiled for AVX-512 can leak into
// another function through a shared inline definition.
#pragma once

#include "core/cpu_features.h"

#define DK_CLONE_BODY static inline __attribute__((always_inline))

#define DK_ISA_CLONES(name, params, args) DK_ISA_CLONES_RETURNING(void, name, params, args)

// The same for a body that returns a value (a reduction).
#define DK_ISA_CLONES_RETURNING(type, name, params, args)                                                    \
    DK_ISA_VARIANTS(type, name, params, args)                                                                \
    type name params {                                                                                       \
        switch (::dk::cpu_isa()) {                                                                           \
        case ::dk::Isa::avx512: return name##_avx512 args;                                                   \
        case ::dk::Isa::avx2: return name##_avx2 args;                                                       \
        default: return name##_generic args;                                                                 \
        }                                                                                                    \
    }

// The three compiled variants alone, NAME_avx512 / NAME_avx2 / NAME_generic (tests call each).
#define DK_ISA_VARIANTS(type, name, params, args)                                                            \
    __attribute__((target("arch=x86-64-v4"), noinline)) type name##_avx512 params { return name##_body args; } \
    __attribute__((target("arch=x86-64-v3"), noinline)) type name##_avx2 params { return name##_body args; }   \
    __attribute__((noinline)) type name##_generic params { return name##_body args; }
