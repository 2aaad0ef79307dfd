// Tensor-core instructions, in one place: warp-wide mma.sync on sm_80+ and a scalar fallback for
// the emulator that gathers the warp's fragments and computes the same tile with the same input
// rounding (TF32: cvt.rna, BF16: cvt.rn), so that tolerances measured in the emulator hold on a GPU.
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k8" / "mma.m16n8k16"), with
// g = lane / 4 and t = lane % 4; A is 16 x K row-major, B is K x 8 column-major, C/D 16 x 8:
//   TF32 m16n8k8:  a0 A[g][t]    a1 A[g+8][t]    a2 A[g][t+4]    a3 A[g+8][t+4]
//                  b0 B[t][g]    b1 B[t+4][g]
//   BF16 m16n8k16: a0 A[g][2t..2t+1]  a1 A[g+8][2t..]  a2 A[g][2t+8..]  a3 A[g+8][2t+8..]
//                  b0 B[2t..2t+1][g]  b1 B[2t+8..2t+9][g]   (low half = lower k)
//   C/D:           c0 C[g][2t]   c1 C[g][2t+1]   c2 C[g+8][2t]   c3 C[g+8][2t+1]
#pragma once

#include <cstdint>
#include <cstring>

// fp32 -> tf32, round to nearest with ties away from zero; the result keeps its fp32 layout.
__device__ __forceinline__ uint32_t dk_to_tf32(float x) {
#if defined(__CUDA_ARCH__)
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
#else
    uint32_t u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u; // finite: round 13 bits away
    return u;
#endif
}

// Two fp32 -> a bf16 pair, round to nearest even; lo in bits 0..15.
__device__ __forceinline__ uint32_t dk_pack_bf16x2(float lo, float hi) {
#if defined(__CUDA_ARCH__)
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
#else
    auto bf16 = [](float x) -> uint32_t {
        uint32_t u;
        std::memcpy(&u, &x, 4);
        if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u; // NaN
        return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    };
    return bf16(lo) | (bf16(hi) << 16);
#endif
}

#ifdef DK_CUDA_EMU
namespace dkemu_mma {
inline float f32(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline float bf16_lo(uint32_t u) { return f32(u << 16); }
inline float bf16_hi(uint32_t u) { return f32(u & 0xffff0000u); }

// D = A B + C for the warp; each lane passes its fragments and gets its four outputs.
template <int K>
inline void mma_16x8(float c[4], const uint32_t a[4], const uint32_t b[2], const char *what) {
    struct Frag {
        uint32_t a[4], b[2];
    } mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}}, all[32];
    unsigned present = 0;
    ::dkemu::warp_collective(0xffffffffu, &mine, sizeof mine, all, &present, what, __FILE__, __LINE__);
    if (present != 0xffffffffu) ::dkemu::kernel_error("%s needs all 32 lanes of the warp", what);
    float A[16][K], B[K][8];
    for (int lane = 0; lane < 32; ++lane) {
        const int g = lane / 4, t = lane % 4;
        const Frag &f = all[lane];
        if (K == 8) {
            A[g][t] = f32(f.a[0]), A[g + 8][t] = f32(f.a[1]), A[g][t + 4] = f32(f.a[2]), A[g + 8][t + 4] = f32(f.a[3]);
            B[t][g] = f32(f.b[0]), B[t + 4][g] = f32(f.b[1]);
        } else {
            for (int h = 0; h < 2; ++h) {
                auto half = [&](uint32_t u) { return h ? bf16_hi(u) : bf16_lo(u); };
                A[g][2 * t + h] = half(f.a[0]), A[g + 8][2 * t + h] = half(f.a[1]);
                A[g][2 * t + 8 + h] = half(f.a[2]), A[g + 8][2 * t + 8 + h] = half(f.a[3]);
                B[2 * t + h][g] = half(f.b[0]), B[2 * t + 8 + h][g] = half(f.b[1]);
            }
        }
    }
    const int lane = ::dkemu::self().lane, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
        const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
        float acc = c[i];
        for (int k = 0; k < K; ++k) acc += A[row][k] * B[k][col];
        c[i] = acc;
    }
}
} // namespace dkemu_mma
#endif

// c += A(16x8, tf32) * B(8x8, tf32), fp32 accumulate.
__device__ __forceinline__ void dk_mma_tf32_16x8x8(float c[4], const uint32_t a[4], const uint32_t b[2]) {
#if defined(DK_CUDA_EMU)
    dkemu_mma::mma_16x8<8>(c, a, b, "mma.m16n8k8.tf32");
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap(); // only sm_80+ is built
#endif
}

// c += A(16x16, bf16) * B(16x8, bf16), fp32 accumulate.
__device__ __forceinline__ void dk_mma_bf16_16x8x16(float c[4], const uint32_t a[4], const uint32_t b[2]) {
#if defined(DK_CUDA_EMU)
    dkemu_mma::mma_16x8<16>(c, a, b, "mma.m16n8k16.bf16");
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap();
#endif
}
