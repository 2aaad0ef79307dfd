// The native backend's fp32 GEMM: C = alpha * op(A) * op(B) + beta * C, BLIS style — packing of
// A and B into micro-panels, five loops around a register-blocked microkernel, the microkernel
// chosen at run time by dk::cpu_isa() (sgemm_avx512_12x32, sgemm_avx2_6x16, sgemm_generic_4x16).
// Also: an unpacked path for small products, and B packed once and reused (dk_sgemm_pack_b).
//
// Loops (C is row-major, so a microkernel's vector dimension is n; see gemm.h):
//
//   for ic in m by MC                      A block, MC x KC (L3)
//     for pc in k by KC
//       pack A block
//       for jc in n by NC                   B block, KC x NC (L2 of the core that uses it)
//         pack B block                      (skipped when B was packed in advance)
//         for ir over the A block's micro-panels     MR x KC A micro-panel: stays in L1
//           for jr over the B block's micro-panels   KC x NR B micro-panel: streamed from L2
//             microkernel: C[ir, jr] = alpha * A~ B~ + (pc == 0 ? beta : 1) * C[ir, jr]
//             last k block: bias and activation on the tile, still in L1 (dk_matmul_batched)
//
// Block sizes for sgemm_avx512_12x32 on this CPU (48 KiB 12-way L1d and 1 MiB private L2 per
// core according to sysfs; lscpu's "2 MiB" is the sum over the 2 cores; a 2 MiB L2 only adds
// headroom):
// - MR x NR = 12 x 32: 24 zmm accumulators, the most the 32 registers hold next to two B vectors
//   and a broadcast, and >= 2 FMA pipes x 4-cycle latency = 8 independent chains.
// - KC = 384: the A micro-panel (12 x 384 x 4 B = 18 KiB) takes 3/8 of L1d, so it stays resident
//   while the B micro-panels (384 x 32 x 4 B = 48 KiB each) stream past it; a long KC also
//   amortizes the C tile's load/store (24 zmm) over 384 x 24 FMAs.
// - NC = 384: the B block (384 x 384 x 4 B = 576 KiB) fits the 1 MiB L2 with room for the A
//   micro-panels and C lines passing through.
// - MC = 1536: the A block (1536 x 384 x 4 B = 2.25 MiB) lives in the 32 MiB L3 and is reused by
//   every B block of a row band; MC is a multiple of MR.
// Measured: the microkernel alone runs at 96-98% of the FMA peak with this B block in L2; KC 256
// or 512 and NC 192 or 768 were no better at 1024 and 2048 (within this shared machine's noise).
// sgemm_avx2_6x16 (16 ymm registers) uses KC = 256 for the 32 KiB L1d of AVX2-era cores (a 6 KiB
// A micro-panel, 16 KiB B micro-panels), the same NC and MC; the generic kernel smaller blocks.
// Narrow products (n <= 512, the squares up to 512 and Linear layers of that width) skip both
// packing passes where they can: a row-major A is read in place by the direct kernel (unless its
// leading dimension is a multiple of 4 KiB, which would put the 12 rows in one L1 set), and each B
// micro-panel is packed by the multiply of the first A micro-panel that uses it (PackingKernel:
// the B loads are hidden behind that tile's FMAs; the separate pass was 3-4% of a 256^3 product).
// Threads (the ThreadLease's count): with m > 64 they share the A block, packed by all of them,
// double-buffered so that one barrier per k block suffices, and take work units of B micro-panel
// columns (each packs its own B block into its own L2; an even split into a multiple of the thread
// count) from a dynamic schedule, so a thread that loses its core on a busy machine takes fewer
// units instead of stalling the other. With A read in place there is no shared block and no
// barrier: threads take column units with the whole loop nest. With m <= 64
// (inference batches) the threads take whole column units from a dynamic schedule and pack the
// small A themselves: no barrier at all. Narrow n splits rows as well.
#include "cpu/gemm/gemm.h"

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/matmul.h"
#include "core/threading.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>

#include <emmintrin.h> // SSE2: part of the x86-64 baseline
#include <xmmintrin.h>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dk::gemm {

namespace {

const Kernels &kernels() {
    switch (cpu_isa()) {
    case Isa::avx512: return sgemm_avx512_12x32;
    case Isa::avx2: return sgemm_avx2_6x16;
    default: return sgemm_generic_4x16;
    }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A validated product: C = act(alpha * op(A) * op(B) + beta * C + bias) (see MatmulArgs and
// MatmulBatchedArgs); bias null and act NONE for a plain matmul.
struct Problem {
    int64_t m, n, k;
    bool ta, tb;
    const float *a;
    int64_t lda;
    const float *b;
    int64_t ldb;
    float *c;
    int64_t ldc;
    float alpha, beta;
    const float *bias = nullptr;
    int32_t act = DK_ACTIVATION_NONE;
    bool bias_rows = false; // bias[i] per row of C (conv2d) instead of bias[j] per column

    bool has_post() const { return bias || act != DK_ACTIVATION_NONE; }
};

// Bias and activation on the m_r x n_r tile of C at (i0, j0).
void post_tile(const Problem &P, float *c, int64_t i0, int64_t j0, int m_r, int n_r) {
    if (P.bias_rows) bias_rows_activation(c, P.ldc, m_r, n_r, P.bias ? P.bias + i0 : nullptr, P.act);
    else bias_activation(c, P.ldc, m_r, n_r, P.bias ? P.bias + j0 : nullptr, P.act);
}

// ---- packing -------------------------------------------------------------------------------

constexpr int64_t kPrefetchRows = 4; // how far ahead packing prefetches rows of a strided operand

// dst[p * stride + i] = src[i * ld + p] for i < rows, p < kc, and zeros for rows <= i < stride:
// the transposing copy both packings need when the operand is stored along k. 4 x 4 blocks go
// through SSE registers (the x86-64 baseline), the rest is scalar.
void pack_transposed(const float *src, int64_t ld, int rows, int64_t kc, float *dst, int stride) {
    int i = 0;
    for (; i + 4 <= rows; i += 4) {
        const float *s0 = src + i * ld, *s1 = s0 + ld, *s2 = s1 + ld, *s3 = s2 + ld;
        int64_t p = 0;
        const float *next = s0 + 4 * ld; // the next 4 rows: prefetched a line at a time
        const bool prefetch = i + 8 <= rows;
        for (; p + 4 <= kc; p += 4) {
            if (prefetch && p % 16 == 0)
                for (int r = 0; r < 4; ++r) _mm_prefetch(reinterpret_cast<const char *>(next + r * ld + p), _MM_HINT_T0);
            __m128 r0 = _mm_loadu_ps(s0 + p), r1 = _mm_loadu_ps(s1 + p), r2 = _mm_loadu_ps(s2 + p),
                   r3 = _mm_loadu_ps(s3 + p);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + p * stride + i, r0);
            _mm_storeu_ps(dst + (p + 1) * stride + i, r1);
            _mm_storeu_ps(dst + (p + 2) * stride + i, r2);
            _mm_storeu_ps(dst + (p + 3) * stride + i, r3);
        }
        for (; p < kc; ++p) {
            float *d = dst + p * stride + i;
            d[0] = s0[p], d[1] = s1[p], d[2] = s2[p], d[3] = s3[p];
        }
    }
    for (; i < rows; ++i)
        for (int64_t p = 0; p < kc; ++p) dst[p * stride + i] = src[i * ld + p];
    if (rows < stride)
        for (int64_t p = 0; p < kc; ++p)
            for (int r = rows; r < stride; ++r) dst[p * stride + r] = 0.0f;
}

// dst[p * stride + j] = src[p * ld + j] for j < cols, p < kc, and zeros for cols <= j < stride:
// the copy both packings need when the operand is stored along the panel's width.
void pack_straight(const float *src, int64_t ld, int cols, int64_t kc, float *dst, int stride) {
    for (int64_t p = 0; p < kc; ++p) {
        const float *s = src + p * ld;
        float *d = dst + p * stride;
        int j = 0;
        if (cols == stride)
            for (; j + 4 <= cols; j += 4) _mm_storeu_ps(d + j, _mm_loadu_ps(s + j));
        for (; j < cols; ++j) d[j] = s[j];
        for (; j < stride; ++j) d[j] = 0.0f;
    }
}

// One MR x kc micro-panel of op(A) from (i0, p0); rows past m_r are zero.
void pack_a_panel(const Problem &P, int mr, int64_t i0, int64_t p0, int m_r, int64_t kc, float *dst) {
    if (P.ta) // op(A)(i, p) = A[p * lda + i]
        pack_straight(P.a + p0 * P.lda + i0, P.lda, m_r, kc, dst, mr);
    else // op(A)(i, p) = A[i * lda + p]
        pack_transposed(P.a + i0 * P.lda + p0, P.lda, m_r, kc, dst, mr);
}

// `panels` kc x NR micro-panels of op(B) from (p0, j0), one after the other; columns past n are
// zero. A row-major B is read row by row across the whole block (long contiguous runs instead of
// one short run per page), a transposed B panel by panel along k.
void pack_b_block(const Kernels &K, const float *b, int64_t ldb, bool tb, int64_t n, int64_t p0, int64_t j0,
                  int64_t kc, int64_t panels, float *dst) {
    const int nr = K.nr;
    for (int64_t q = 0; q < panels; ++q) {
        const int64_t jq = j0 + q * nr;
        const int n_r = static_cast<int>(std::min<int64_t>(nr, n - jq));
        float *d = dst + q * kc * nr;
        if (tb) // op(B)(p, j) = B[j * ldb + p]
            pack_transposed(b + jq * ldb + p0, ldb, n_r, kc, d, nr);
        else if (n_r < nr) // op(B)(p, j) = B[p * ldb + j]
            pack_straight(b + p0 * ldb + jq, ldb, n_r, kc, d, nr);
    }
    if (tb) return;
    const int64_t full = std::min(panels, (n - j0) / nr); // panels without a column tail
    const int64_t run = full * nr; // floats per row of the block
    if (K.copy_b) {
        if (full > 0) K.copy_b(b + p0 * ldb + j0, ldb, kc, full, dst);
        return;
    }
    for (int64_t p = 0; p < kc; ++p) {
        const float *s = b + (p0 + p) * ldb + j0;
        float *d = dst + p * nr;
        if (p + kPrefetchRows < kc) // rows a page apart: help the hardware prefetcher
            for (int64_t j = 0; j < run; j += 16) _mm_prefetch(reinterpret_cast<const char *>(s + kPrefetchRows * ldb + j), _MM_HINT_T0);
        for (int64_t q = 0; q < full; ++q)
            for (int j = 0; j < nr; j += 4) _mm_storeu_ps(d + q * kc * nr + j, _mm_loadu_ps(s + q * nr + j));
    }
}

// ---- scratch memory --------------------------------------------------------------------------

// Grow-only 64-byte aligned scratch per calling thread: packing buffers are reused across calls
// instead of being mapped (and page-faulted) anew each time.
float *scratch(size_t floats) {
    struct Buffer {
        float *p = nullptr;
        size_t cap = 0;
        ~Buffer() { std::free(p); }
    };
    thread_local Buffer buf;
    if (floats > buf.cap) {
        std::free(buf.p);
        buf.p = nullptr, buf.cap = 0;
        // Whole 2 MiB pages, marked for transparent huge pages: the packed blocks are walked
        // over and over, and with 4 KiB pages a B block alone spans 144 TLB entries.
        constexpr size_t huge = size_t(2) << 20;
        const size_t bytes = (floats * sizeof(float) + huge - 1) / huge * huge;
        buf.p = static_cast<float *>(std::aligned_alloc(huge, bytes));
        if (!buf.p) throw std::bad_alloc();
        madvise(buf.p, bytes, MADV_HUGEPAGE); // advice only: failure changes nothing
        buf.cap = floats;
    }
    return buf.p;
}

} // namespace

} // namespace dk::gemm

// op(B) packed once for every call of dk_matmul_packed_b: for each k block of kc rows (the
// kernels' KC, the last one shorter), the micro-panels of NR columns, each kc x NR, padded with
// zero columns to a multiple of NR. The layout belongs to `kernels`, fixed for the process.
// For the onednn backend, `onednn` holds B in oneDNN's own layout instead (data is null).
struct dk_packed_matrix {
    static constexpr uint64_t kMagic = 0x646b2d7061636b42ull; // "dk-packB"
    uint64_t magic;
    int64_t k, n, n_padded;
    const dk::gemm::Kernels *kernels;
    float *data;
    dk::OnednnPackedB *onednn = nullptr;

    // The B block of k block p0 (a multiple of KC) starting at column j0 (a multiple of NR).
    const float *block(int64_t p0, int64_t j0) const {
        const int64_t kc = std::min(kernels->kc, k - p0);
        return data + p0 * n_padded + j0 * kc;
    }
};

namespace dk::gemm {

namespace {

// ---- the packed path ------------------------------------------------------------------------

// Up to this n, B is packed by the multiply itself (see multiply_block).
constexpr int64_t kFoldPackingMaxN = 512;

// Columns [jp0, jp1) (in B micro-panels) of rows [ir0, ir1) (in A micro-panels) of the current
// A block, for k block pc: packs each NC-wide B block (or points into the pre-packed B) and runs
// the microkernel over it, A micro-panel by A micro-panel.
void multiply_block(const Kernels &K, const Problem &P, const dk_packed_matrix *packed_b, const float *a_block,
                    float *b_block, int64_t ic, int64_t pc, int64_t kc, int64_t ir0, int64_t ir1, int64_t jp0,
                    int64_t jp1) {
    const int mr = K.mr, nr = K.nr;
    const Epilogue e{P.alpha, pc == 0 ? P.beta : 1.0f};
    const bool post = P.has_post() && pc + kc == P.k; // bias and activation after the last k block
    // B packed by the first A micro-panel's multiply (PackingKernel) instead of a separate pass;
    // for narrow products, where that pass is several percent of the time and B's rows are short
    // (a panel read along k then touches few pages).
    const bool fold = !packed_b && !P.tb && K.packing && P.n <= kFoldPackingMaxN;
    const int64_t rs_a = a_block ? 1 : P.lda, cs_a = a_block ? mr : 1; // op(A)(i, p) of a micro-panel
    for (int64_t jp = jp0; jp < jp1; jp += K.nc / nr) {
        const int64_t panels = std::min(K.nc / nr, jp1 - jp), j0 = jp * nr;
        const float *bb = b_block;
        if (packed_b)
            bb = packed_b->block(pc, j0);
        else if (!fold)
            pack_b_block(K, P.b, P.ldb, P.tb, P.n, pc, j0, kc, panels, b_block);
        else if (j0 + panels * nr > P.n) // the column tail panel: packed (zero-padded) beforehand
            pack_straight(P.b + pc * P.ldb + j0 + (panels - 1) * nr, P.ldb,
                          static_cast<int>(P.n - j0 - (panels - 1) * nr), kc, b_block + (panels - 1) * kc * nr, nr);
        for (int64_t ir = ir0; ir < ir1; ++ir) {
            const int64_t i0 = ic + ir * mr;
            const int m_r = static_cast<int>(std::min<int64_t>(mr, P.m - i0));
            const float *ap = a_block ? a_block + ir * mr * kc : P.a + i0 * P.lda + pc;
            for (int64_t q = 0; q < panels; ++q) {
                const int64_t jq = j0 + q * nr;
                const int n_r = static_cast<int>(std::min<int64_t>(nr, P.n - jq));
                float *c = P.c + i0 * P.ldc + jq;
                if (fold && ir == ir0 && n_r == nr)
                    K.packing(kc, ap, rs_a, cs_a, P.b + pc * P.ldb + jq, P.ldb, b_block + q * kc * nr, c, P.ldc, m_r, e);
                else if (a_block)
                    K.packed(kc, ap, bb + q * kc * nr, c, P.ldc, m_r, n_r, e);
                else // A read in place (a_in_place): rows of op(A) = rows of A
                    K.direct(kc, ap, P.lda, 1, bb + q * kc * nr, nr, c, P.ldc, m_r, n_r, e);
                if (post) post_tile(P, c, i0, jq, m_r, n_r); // tile still in L1
            }
        }
    }
}

// The whole loop nest for columns [jp0, jp1) on one thread with its own A and B buffers. With
// several threads and a small m, each runs this on the column units it takes: no barrier at all,
// at the price of packing A once per unit (cheap when m is small).
void run_alone(const Kernels &K, const Problem &P, const dk_packed_matrix *packed_b, float *a_block, float *b_block,
               int64_t jp0, int64_t jp1) {
    const int mr = K.mr;
    for (int64_t ic = 0; ic < P.m; ic += K.mc) {
        const int64_t mc = std::min(K.mc, P.m - ic), row_panels = ceil_div(mc, mr);
        for (int64_t pc = 0; pc < P.k; pc += K.kc) {
            const int64_t kc = std::min(K.kc, P.k - pc);
            if (a_block)
                for (int64_t r = 0; r < row_panels; ++r)
                    pack_a_panel(P, mr, ic + r * mr, pc, static_cast<int>(std::min<int64_t>(mr, mc - r * mr)), kc,
                                 a_block + r * mr * kc);
            multiply_block(K, P, packed_b, a_block, b_block, ic, pc, kc, 0, row_panels, jp0, jp1);
        }
    }
}

// Threads sharing one A block. Every thread runs the same ic and pc loops and shares the two
// worksharing loops inside. The A block is double-buffered, so one barrier per k block is enough:
// the one after packing, which also proves every thread has finished with the buffer the next
// packing overwrites (it was used two blocks ago). Work units (a column range x a row range) are
// handed out dynamically: on a shared machine a thread that loses its core for a while takes fewer
// of them. The column ranges split the B micro-panels evenly into a multiple of the thread count,
// so that on a quiet machine every thread gets the same work between two barriers (7 units of 10
// panels for 64 panels, as before, left one thread idle for a seventh of each k block).
struct SharedPlan {
    const Kernels &K;
    const Problem &P;
    const dk_packed_matrix *packed_b;
    float *a_blocks[2]; // MC x KC each, alternating between k blocks
    float *b_blocks;    // one KC x NC block per thread
    int64_t col_units;  // column ranges: unit c has B micro-panels [c * col_panels / col_units, (c + 1) * ...)
    int64_t row_chunks; // row ranges per column unit (1 unless n is narrow)
};

void run_shared(const SharedPlan &plan, int tid) {
    const Kernels &K = plan.K;
    const Problem &P = plan.P;
    const int mr = K.mr;
    const int64_t col_panels = ceil_div(P.n, K.nr), col_units = plan.col_units;
    float *b_block = plan.b_blocks + static_cast<int64_t>(tid) * K.kc * K.nc;
    int phase = 0;
    for (int64_t ic = 0; ic < P.m; ic += K.mc) {
        const int64_t mc = std::min(K.mc, P.m - ic), row_panels = ceil_div(mc, mr);
        const int64_t chunk = ceil_div(row_panels, plan.row_chunks), units = col_units * plan.row_chunks;
        for (int64_t pc = 0; pc < P.k; pc += K.kc) {
            const int64_t kc = std::min(K.kc, P.k - pc);
            float *a_block = plan.a_blocks[phase++ & 1];
#pragma omp for schedule(dynamic, 4)
            for (int64_t r = 0; r < row_panels; ++r)
                pack_a_panel(P, mr, ic + r * mr, pc, static_cast<int>(std::min<int64_t>(mr, mc - r * mr)), kc,
                             a_block + r * mr * kc);
#pragma omp for schedule(dynamic, 1) nowait
            for (int64_t u = 0; u < units; ++u) {
                const int64_t cu = u / plan.row_chunks;
                const int64_t jp0 = cu * col_panels / col_units, jp1 = (cu + 1) * col_panels / col_units;
                const int64_t ir0 = u % plan.row_chunks * chunk, ir1 = std::min(row_panels, ir0 + chunk);
                if (ir0 < ir1 && jp0 < jp1)
                    multiply_block(K, P, plan.packed_b, a_block, b_block, ic, pc, kc, ir0, ir1, jp0, jp1);
            }
        }
    }
}

// Up to this many rows, threads do not share the A block (see run_alone): packing all of A is then
// cheaper than a barrier per k block, which on a busy machine costs a scheduler time slice.
constexpr int64_t kPrivateAMaxM = 64;

// Whether the microkernel reads a row-major A where it is instead of a packed copy. On one thread
// this measured no faster than packing A at 256-512 (within the noise: the transposing copy is
// about 1.5% there); what it buys is that threads need no shared A block, hence no barrier per k
// block, which on this busy 2-core machine costs a time slice whenever the other thread is
// preempted. Unpacked, the 12 rows of an A micro-panel are 12 streams a leading dimension apart;
// when that is a multiple of 4 KiB they all fall into one set of the 12-way L1d and evict each
// other (and the B lines), so those leading dimensions keep packing, as do wide products.
bool a_in_place(const Kernels &K, const Problem &P) {
    return K.direct && !P.ta && P.n <= 512 && P.m > kPrivateAMaxM && P.lda % 1024 != 0;
}

// `threads`: at most the ThreadLease's count.
void gemm_packed(const Kernels &K, const Problem &P, const dk_packed_matrix *packed_b, int threads) {
    const int64_t col_panels = ceil_div(P.n, K.nr), nc_panels = K.nc / K.nr;
    const int64_t mc = std::min(K.mc, ceil_div(P.m, K.mr) * K.mr), kc = std::min(K.kc, P.k);
    const bool in_place = a_in_place(K, P);
    const int64_t a_floats = in_place ? 0 : (mc * kc + 15) / 16 * 16; // 64-byte multiples
    const int64_t b_floats = packed_b ? 0 : K.kc * K.nc;
    if (in_place) {
        // No shared A block, so no barrier: threads take column units (each packs its own B).
        threads = static_cast<int>(std::min<int64_t>(threads, col_panels));
        if (P.m * P.n * P.k < int64_t(1) << 22) threads = 1; // under 8 MFLOP: not worth a parallel region
        float *buf = b_floats ? scratch(static_cast<size_t>(b_floats * threads)) : nullptr;
        if (threads <= 1) {
            run_alone(K, P, packed_b, nullptr, buf, 0, col_panels);
            return;
        }
        const int64_t unit = std::max<int64_t>(1, ceil_div(col_panels, 2 * static_cast<int64_t>(threads)));
        const int64_t units = ceil_div(col_panels, unit);
#pragma omp parallel num_threads(threads)
        {
#ifdef _OPENMP
            const int t = omp_get_thread_num();
#else
            const int t = 0;
#endif
#pragma omp for schedule(dynamic, 1)
            for (int64_t u = 0; u < units; ++u)
                run_alone(K, P, packed_b, nullptr, buf ? buf + t * b_floats : nullptr, u * unit,
                          std::min(col_panels, (u + 1) * unit));
        }
        return;
    }
    if (threads > 1 && (P.m <= kPrivateAMaxM || col_panels < threads)) {
        threads = static_cast<int>(std::min<int64_t>(threads, col_panels));
        if (P.m * P.n * P.k < int64_t(1) << 22) threads = 1; // under 8 MFLOP: not worth a parallel region
        float *buf = scratch(static_cast<size_t>((a_floats + b_floats) * threads));
        if (threads == 1) {
            run_alone(K, P, packed_b, buf, buf + a_floats, 0, col_panels);
            return;
        }
        // Column units (about 4 per thread, at least 4 B micro-panels wide) from a dynamic
        // schedule, each with the whole loop nest: A is repacked per unit (m x k floats, against
        // m x k x 128+ multiply-adds), and a thread that loses its core holds up one unit at most.
        const int64_t unit = std::max<int64_t>(4, ceil_div(col_panels, 4 * static_cast<int64_t>(threads)));
        const int64_t units = ceil_div(col_panels, unit);
#pragma omp parallel num_threads(threads)
        {
#ifdef _OPENMP
            const int t = omp_get_thread_num();
#else
            const int t = 0;
#endif
            float *own = buf + t * (a_floats + b_floats);
#pragma omp for schedule(dynamic, 1)
            for (int64_t u = 0; u < units; ++u)
                run_alone(K, P, packed_b, own, own + a_floats, u * unit, std::min(col_panels, (u + 1) * unit));
        }
        return;
    }
    if (threads == 1) {
        float *buf = scratch(static_cast<size_t>(a_floats + b_floats));
        run_alone(K, P, packed_b, buf, buf + a_floats, 0, col_panels);
        return;
    }
    // About 3 units per thread, so that the dynamic schedule can even out a thread that was slowed
    // down, but no narrower than 4 B micro-panels unless n itself is that narrow (an A micro-panel,
    // loaded into L1, should serve several); when n is too narrow for a unit per thread, row ranges.
    const int64_t want_units = 3 * static_cast<int64_t>(threads);
    int64_t col_units = std::max(want_units, ceil_div(col_panels, nc_panels)); // at most NC wide
    col_units = std::min(col_units, std::max<int64_t>(1, col_panels / 4));      // at least 4 panels wide
    if (col_units >= threads) col_units = ceil_div(col_units, threads) * threads; // a multiple of threads
    col_units = std::max<int64_t>(1, std::min(col_units, col_panels));
    int64_t row_chunks = 1;
    if (col_units < threads) row_chunks = std::min(ceil_div(want_units, col_units), ceil_div(mc, K.mr));
    float *buf = scratch(static_cast<size_t>(2 * a_floats + b_floats * threads));
    const SharedPlan plan{K, P, packed_b, {buf, buf + a_floats}, buf + 2 * a_floats, col_units, row_chunks};
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
        run_shared(plan, omp_get_thread_num());
#endif
    }
}

// ---- the unpacked path ------------------------------------------------------------------------

// The unpacked path, for small products: packing costs about as much as the product itself, and
// everything fits in L1 and L2 anyway, so the direct kernel reads A and B where they are (B
// row-major only). One thread: these take a few microseconds, less than waking a second one.
// (Small m with large n and k is not one of them: the packed path's B blocks are read in long
// runs, while the direct kernel's 32-column strips of a row-major B are a page apart.)
bool wants_direct(const Kernels &K, const Problem &P) {
    return K.direct && !P.tb && P.m * P.n * P.k <= 96 * 96 * 96 && P.k <= 512;
}

void gemm_direct(const Kernels &K, const Problem &P) {
    const int64_t rs_a = P.ta ? 1 : P.lda, cs_a = P.ta ? P.lda : 1;
    const Epilogue e{P.alpha, P.beta};
    for (int64_t j0 = 0; j0 < P.n; j0 += K.nr) {
        const int n_r = static_cast<int>(std::min<int64_t>(K.nr, P.n - j0));
        for (int64_t i0 = 0; i0 < P.m; i0 += K.mr) {
            const int m_r = static_cast<int>(std::min<int64_t>(K.mr, P.m - i0));
            float *c = P.c + i0 * P.ldc + j0;
            K.direct(P.k, P.a + i0 * rs_a, rs_a, cs_a, P.b + j0, P.ldb, c, P.ldc, m_r, n_r, e);
            if (P.has_post()) post_tile(P, c, i0, j0, m_r, n_r);
        }
    }
}

Problem problem(const dk_matmul_desc &d, float *c, const float *a, const float *b) {
    return Problem{d.m, d.n, d.k, d.trans_a != 0, d.trans_b != 0, a, d.lda, b, d.ldb, c, d.ldc, d.alpha, d.beta};
}

int lease_threads() {
#ifdef _OPENMP
    return omp_get_max_threads(); // the ThreadLease's count
#else
    return 1;
#endif
}

void gemm(const Kernels &K, const Problem &P, int threads) {
    if (wants_direct(K, P))
        gemm_direct(K, P);
    else
        gemm_packed(K, P, nullptr, threads);
}

void matmul_gemm_run(const MatmulArgs &x) { gemm(kernels(), problem(x.d, x.c, x.a, x.b), lease_threads()); }

// Batches of products too small for several threads each (under 8 MFLOP) run one product per
// thread; larger ones run one after the other, each on every thread.
void matmul_batched_gemm_run(const MatmulBatchedArgs &x) {
    const Kernels &K = kernels();
    const dk_matmul_batched_desc &d = x.d;
    auto item = [&](int64_t i) {
        Problem P = problem(d.mm, x.c + i * d.stride_c, x.a + i * d.stride_a, x.b + i * d.stride_b);
        P.bias = x.bias, P.act = d.activation;
        return P;
    };
    const int threads = lease_threads();
    if (threads > 1 && d.batch > 1 && d.mm.m * d.mm.n * d.mm.k < int64_t(1) << 22) {
#pragma omp parallel for schedule(dynamic) num_threads(threads)
        for (int64_t i = 0; i < d.batch; ++i) gemm(K, item(i), 1);
        return;
    }
    for (int64_t i = 0; i < d.batch; ++i) gemm(K, item(i), threads);
}

} // namespace

} // namespace dk::gemm

namespace dk {

void native_gemm_rows_bias(const dk_matmul_desc &d, float *c, const float *a, const float *b, const float *row_bias,
                           int32_t activation, int threads) {
    gemm::Problem P = gemm::problem(d, c, a, b);
    P.bias = row_bias, P.act = activation, P.bias_rows = true;
    gemm::gemm(gemm::kernels(), P, std::max(1, std::min(threads, gemm::lease_threads())));
}

// The native backend's matmul (registry.cpp); its name is the microkernel this CPU runs.
extern const MatmulImpl matmul_gemm = {gemm::kernels().name, [](const dk_matmul_desc &) { return true; },
                                       gemm::matmul_gemm_run};
extern const MatmulBatchedImpl matmul_batched_gemm = {
    gemm::kernels().name, [](const dk_matmul_batched_desc &, bool) { return true; }, gemm::matmul_batched_gemm_run};

} // namespace dk

// ---- B packed once: the C ABI ------------------------------------------------------------------

#include "core/backend.h"

namespace dk::gemm {
namespace {

dk_packed_matrix *pack_b_native(int64_t k, int64_t n, int32_t trans_b, const float *b, int64_t ldb) {
    const Kernels &K = kernels();
    const int64_t n_padded = ceil_div(n, K.nr) * K.nr;
    int64_t floats;
    if (__builtin_mul_overflow(k, n_padded, &floats) || floats > INT64_MAX / 8)
        fail(DK_INVALID_ARGUMENT, format("k (%lld) x n (%lld) is too large to pack", (long long)k, (long long)n));
    auto *pm = new dk_packed_matrix{dk_packed_matrix::kMagic, k, n, n_padded, &K, nullptr};
    if (floats > 0) {
        pm->data = static_cast<float *>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64));
        if (!pm->data) {
            delete pm;
            fail(DK_OUT_OF_MEMORY, format("out of memory packing a %lld x %lld matrix", (long long)k, (long long)n));
        }
    }
    const int64_t panels = n_padded / K.nr;
    ThreadLease lease;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t p0 = 0; p0 < k; p0 += K.kc)
        for (int64_t q = 0; q < panels; ++q) {
            const int64_t kc = std::min(K.kc, k - p0), j0 = q * K.nr;
            pack_b_block(K, b, ldb, trans_b != 0, n, p0, j0, kc, 1, const_cast<float *>(pm->block(p0, j0)));
        }
    return pm;
}

} // namespace
} // namespace dk::gemm

extern "C" dk_status dk_sgemm_pack_b(dk_packed_matrix **out, int64_t k, int64_t n, int32_t trans_b, const float *b,
                                     int64_t ldb, int64_t b_len) {
    return dk::guarded([&] {
        if (!out) dk::fail(DK_NULL_POINTER, "out must not be null");
        *out = nullptr;
        dk::check_pack_b(k, n, trans_b, b, ldb, b_len);
        *out = dk::gemm::pack_b_native(k, n, trans_b, b, ldb);
    });
}

extern "C" dk_status dk_matmul_pack_b(dk_backend backend, dk_packed_matrix **out, int64_t m, int64_t k, int64_t n,
                                      int32_t trans_b, const float *b, int64_t ldb, int64_t b_len) {
    return dk::guarded([&] {
        if (!out) dk::fail(DK_NULL_POINTER, "out must not be null");
        *out = nullptr;
        if (m < 1) dk::fail(DK_INVALID_ARGUMENT, dk::format("m must be >= 1, got %lld", (long long)m));
        dk::check_pack_b(k, n, trans_b, b, ldb, b_len);
        dk::require_backend(backend);
        if (backend == DK_BACKEND_NATIVE) {
            *out = dk::gemm::pack_b_native(k, n, trans_b, b, ldb);
            return;
        }
#ifdef DK_HAVE_ONEDNN
        if (backend == DK_BACKEND_ONEDNN) {
            auto *pm = new dk_packed_matrix{dk_packed_matrix::kMagic, k, n, n, nullptr, nullptr};
            try {
                dk::ThreadLease lease;
                pm->onednn = dk::onednn_pack_b(m, k, n, trans_b != 0, b, ldb);
            } catch (...) {
                delete pm;
                throw;
            }
            *out = pm;
            return;
        }
#endif
        dk::fail(DK_UNSUPPORTED, dk::format("backend %d cannot pack b: packing is a feature of the native and onednn "
                                            "backends", static_cast<int>(backend)));
    });
}

extern "C" void dk_packed_matrix_free(dk_packed_matrix *p) {
    if (!p || p->magic != dk_packed_matrix::kMagic) return;
    p->magic = 0;
    std::free(p->data);
#ifdef DK_HAVE_ONEDNN
    if (p->onednn) dk::onednn_packed_b_free(p->onednn);
#endif
    delete p;
}

extern "C" dk_status dk_packed_matrix_shape(const dk_packed_matrix *p, int64_t *k, int64_t *n) {
    return dk::guarded([&] {
        if (!p) dk::fail(DK_NULL_POINTER, "packed must not be null");
        if (!k || !n) dk::fail(DK_NULL_POINTER, "k and n must not be null");
        if (p->magic != dk_packed_matrix::kMagic) dk::fail(DK_INVALID_ARGUMENT, "packed is not a live packed matrix");
        *k = p->k, *n = p->n;
    });
}

extern "C" dk_status dk_matmul_packed_b_fused(const dk_matmul_desc *desc, float *c, int64_t c_len, const float *a,
                                              int64_t a_len, const dk_packed_matrix *b, const float *bias,
                                              int64_t bias_len, int32_t activation) {
    return dk::guarded([&] {
        if (!b) dk::fail(DK_NULL_POINTER, "b (the packed matrix) must not be null");
        if (b->magic != dk_packed_matrix::kMagic) dk::fail(DK_INVALID_ARGUMENT, "b is not a live packed matrix (freed?)");
        dk::check_matmul_packed_b(desc, c, c_len, a, a_len, b->k, b->n, bias, bias_len, activation);
        const dk_matmul_desc &d = *desc;
        if (d.m == 0 || d.n == 0) return;
        if (d.k == 0 || d.alpha == 0.0f) { // C = act(beta * C + bias)
            dk::scale_c(d, c);
            dk::bias_activation(c, d.ldc, d.m, d.n, bias, activation);
            return;
        }
        dk::ThreadLease lease;
#ifdef DK_HAVE_ONEDNN
        if (b->onednn) {
            dk::onednn_matmul_packed_b(*b->onednn, d, c, a, bias, activation);
            return;
        }
#endif
        dk::gemm::Problem P = dk::gemm::problem(d, c, a, nullptr);
        P.bias = bias, P.act = activation;
        dk::gemm::gemm_packed(*b->kernels, P, b, dk::gemm::lease_threads());
    });
}

extern "C" dk_status dk_matmul_packed_b(const dk_matmul_desc *desc, float *c, int64_t c_len, const float *a,
                                        int64_t a_len, const dk_packed_matrix *b) {
    return dk_matmul_packed_b_fused(desc, c, c_len, a, a_len, b, nullptr, 0, DK_ACTIVATION_NONE);
}
