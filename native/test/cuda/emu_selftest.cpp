// Tests of the emulator itself (emulator builds only): a missing __syncthreads is caught, divergent
// barriers, early returns before a barrier and deadlocks are reported, shuffles follow PTX's
// rules (with width, in a partial warp), ballots and atomics, dynamic shared memory and the NaN
// poisoning of device memory.
#include "check.h"
#include "dk_cuda_rt.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// A case that ctest registers only where named explicitly (emu.cmake: the ThreadSanitizer tree).
#define EMU_DEMO_TEST(name) TEST(name)

namespace {

bool fiber_mode() {
    const char *m = std::getenv("DK_EMU_MODE");
    return !m || std::strcmp(m, "threads") != 0;
}

// Reverses a block's values through shared memory; with_sync = false leaves out the barrier
// between the writes and the reads of other threads' values.
__global__ void reverse_kernel(float *out, const float *in, bool with_sync) {
    DK_SHARED(float, s, [64]);
    const int i = threadIdx.x;
    s[i] = in[blockIdx.x * 64 + i];
    if (with_sync) __syncthreads();
    out[blockIdx.x * 64 + i] = s[63 - i];
}

std::vector<float> run_reverse(bool with_sync, cudaError_t *err) {
    std::vector<float> h(128);
    for (int i = 0; i < 128; ++i) h[i] = float(i);
    float *in = nullptr, *out = nullptr;
    cudaMalloc(&in, 128 * sizeof(float));
    cudaMalloc(&out, 128 * sizeof(float));
    cudaMemcpy(in, h.data(), 128 * sizeof(float), cudaMemcpyHostToDevice);
    DK_LAUNCH(reverse_kernel, dim3(2), dim3(64), 0, nullptr, out, in, with_sync);
    *err = cudaGetLastError();
    cudaMemcpy(h.data(), out, 128 * sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(in);
    cudaFree(out);
    return h;
}

} // namespace

TEST(emu_missing_syncthreads_is_caught) {
    cudaError_t err;
    const auto good = run_reverse(true, &err);
    CHECK(err == cudaSuccess);
    bool ok = true;
    for (int i = 0; i < 128; ++i) ok &= good[i] == float((i / 64) * 64 + 63 - i % 64);
    CHECK_MSG(ok, "the kernel with its __syncthreads reverses each block");
    if (!fiber_mode()) {
        // Thread mode: the racy version is run under ThreadSanitizer by emu_race_for_tsan.
        std::printf("thread mode: the race is ThreadSanitizer's to catch (emu_race_for_tsan)\n");
        return;
    }
    // Fibers run each thread up to its next barrier: without one, thread 0 reads s[63] before
    // thread 63 wrote it, and reads the poison of the fresh block.
    const auto bad = run_reverse(false, &err);
    CHECK(err == cudaSuccess);
    int nans = 0;
    for (float v : bad) nans += std::isnan(v);
    std::printf("without __syncthreads: %d of 128 outputs read unwritten shared memory (NaN)\n", nans);
    CHECK_MSG(nans >= 64, "the missing barrier shows as NaN from poisoned shared memory");
}

namespace {
// Two rounds through one shared tile; with_second_sync = false leaves out the barrier that keeps
// round 2's writes from landing before the other warp has read round 1 (a write-after-read race).
__global__ void two_rounds_kernel(float *out, const float *in, bool with_second_sync) {
    DK_SHARED(float, s, [64]);
    const int i = threadIdx.x;
    for (int round = 0; round < 2; ++round) {
        s[i] = in[round * 64 + i];
        __syncthreads();
        out[round * 64 + i] = s[63 - i];
        if (with_second_sync) __syncthreads();
    }
}
} // namespace

TEST(emu_missing_barrier_before_overwrite_is_caught) {
    std::vector<float> h(128), got(128);
    for (int i = 0; i < 128; ++i) h[i] = float(i);
    float *in = nullptr, *out = nullptr;
    cudaMalloc(&in, 128 * sizeof(float));
    cudaMalloc(&out, 128 * sizeof(float));
    cudaMemcpy(in, h.data(), 128 * sizeof(float), cudaMemcpyHostToDevice);
    for (bool with_sync : {true, false}) {
        if (!with_sync && !fiber_mode()) break; // racy: only the deterministic fiber schedule checks it
        DK_LAUNCH(two_rounds_kernel, dim3(1), dim3(64), 0, nullptr, out, in, with_sync);
        CHECK(cudaGetLastError() == cudaSuccess);
        cudaMemcpy(got.data(), out, 128 * sizeof(float), cudaMemcpyDeviceToHost);
        int wrong = 0;
        for (int i = 0; i < 128; ++i) wrong += got[i] != float((i / 64) * 64 + 63 - i % 64);
        if (with_sync) CHECK_MSG(wrong == 0, "with both barriers every round reverses its tile");
        else {
            std::printf("without the second __syncthreads: %d of 128 outputs read the next round's data\n", wrong);
            CHECK_MSG(wrong >= 32, "warp 0 runs ahead into round 2 and overwrites the tile warp 1 still has to read");
        }
    }
    cudaFree(in);
    cudaFree(out);
}

// Run by the ThreadSanitizer tree only, where ctest expects the data-race report.
EMU_DEMO_TEST(emu_race_for_tsan) {
    cudaError_t err;
    run_reverse(false, &err);
}

namespace {
__global__ void divergent_kernel(int *out) {
    if (threadIdx.x < 16) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1;
}
__global__ void early_return_kernel(int *out) {
    if (threadIdx.x == 3) return;
    __syncthreads();
    out[threadIdx.x] = 1;
}
__global__ void deadlock_kernel(int *out) {
    // Lane 0 waits for the warp at a shuffle; the others wait for lane 0 at the block barrier.
    int v = 0;
    if (threadIdx.x == 0) v = __shfl_sync(0xffffffffu, 1, 0);
    else __syncthreads();
    out[threadIdx.x] = v;
}

std::string launch_expect_failure(void (*kernel)(int *), int threads) {
    int *out = nullptr;
    cudaMalloc(&out, threads * sizeof(int));
    DK_LAUNCH(kernel, dim3(1), dim3(threads), 0, nullptr, out);
    const cudaError_t err = cudaGetLastError();
    cudaFree(out);
    CHECK_MSG(err == cudaErrorLaunchFailure, "the launch fails");
    return dkemu::last_launch_message();
}
} // namespace

TEST(emu_divergent_barrier_is_reported) {
    const std::string msg = launch_expect_failure(divergent_kernel, 40);
    CHECK_MSG(msg.find("divergent __syncthreads") != std::string::npos, msg);
}

TEST(emu_return_before_barrier_is_reported) {
    const std::string msg = launch_expect_failure(early_return_kernel, 40);
    CHECK_MSG(msg.find("must reach every __syncthreads") != std::string::npos, msg);
}

TEST(emu_deadlock_is_reported) {
    if (!fiber_mode()) {
        std::printf("thread mode detects deadlocks by a 120 s timeout: checked in fiber mode only\n");
        return;
    }
    const std::string msg = launch_expect_failure(deadlock_kernel, 32);
    CHECK_MSG(msg.find("deadlock") != std::string::npos && msg.find("__shfl_sync") != std::string::npos &&
                  msg.find("__syncthreads") != std::string::npos,
              msg);
}

namespace {
// Every lane writes, for each width and each of the four shuffles, the value (lane * 100 + 7) of
// the lane it read. 48 threads: warp 1 is a partial warp of 16 lanes.
constexpr int kWidths[] = {32, 16, 8, 4, 2, 1};
__global__ void shuffle_kernel(unsigned *out, int delta) {
    const int tid = threadIdx.x, lane = tid % 32;
    const unsigned mask = tid < 32 ? 0xffffffffu : 0x0000ffffu;
    const unsigned v = unsigned(lane * 100 + 7);
    for (int w = 0; w < 6; ++w) {
        const int width = kWidths[w];
        unsigned *o = out + (w * 4) * 48 + tid;
        o[0] = __shfl_sync(mask, v, delta + 1, width);
        o[48] = __shfl_up_sync(mask, v, delta, width);
        o[96] = __shfl_down_sync(mask, v, delta, width);
        o[144] = __shfl_xor_sync(mask, v, delta, width);
    }
}
} // namespace

TEST(emu_shuffles_follow_ptx) {
    unsigned *out = nullptr;
    cudaMalloc(&out, 6 * 4 * 48 * sizeof(unsigned));
    for (int delta : {1, 3, 5, 16}) {
        DK_LAUNCH(shuffle_kernel, dim3(1), dim3(48), 0, nullptr, out, delta);
        CHECK(cudaGetLastError() == cudaSuccess);
        std::vector<unsigned> h(6 * 4 * 48);
        cudaMemcpy(h.data(), out, h.size() * sizeof(unsigned), cudaMemcpyDeviceToHost);
        int bad = 0;
        for (int w = 0; w < 6; ++w) {
            const int width = kWidths[w];
            for (int tid = 0; tid < 48; ++tid) {
                const int lane = tid % 32, lanes = tid < 32 ? 32 : 16, seg = lane / width * width;
                // The CUDA Programming Guide's description (not PTX's formula, which the emulator uses).
                int src[4];
                src[0] = seg + (delta + 1) % width;
                src[1] = lane - seg >= delta ? lane - delta : lane;
                src[2] = lane - seg + delta < width ? lane + delta : lane;
                src[3] = (lane ^ delta) < seg + width ? lane ^ delta : lane;
                for (int op = 0; op < 4; ++op) {
                    // A source lane that does not exist (the partial warp) reads as poison.
                    const unsigned want = src[op] < lanes ? unsigned(src[op] * 100 + 7) : 0xFFFFFFFFu;
                    const unsigned got = h[(w * 4 + op) * 48 + tid];
                    if (got != want && bad++ < 5)
                        std::fprintf(stderr, "  delta %d width %d op %d thread %d: got %u want %u\n", delta, width, op,
                                     tid, got, want);
                }
            }
        }
        CHECK_MSG(bad == 0, std::to_string(bad) + " shuffle results differ, delta " + std::to_string(delta));
    }
    cudaFree(out);
}

namespace {
__global__ void ballot_atomic_kernel(unsigned *ballots, int *counter, float *fsum) {
    const unsigned b = __ballot_sync(0xffffffffu, threadIdx.x % 3 == 0);
    if (threadIdx.x % 32 == 0) ballots[blockIdx.x * 2 + threadIdx.x / 32] = b;
    atomicAdd(counter, 1);
    atomicAdd(fsum, 0.5f);
}
__global__ void bad_width_kernel(int *out) { out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1, 6); }
__global__ void lane_not_in_mask_kernel(int *out) { out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, 1, 1); }
} // namespace

TEST(emu_ballot_atomics_and_bad_shuffles) {
    unsigned *ballots = nullptr;
    int *counter = nullptr;
    float *fsum = nullptr;
    cudaMalloc(&ballots, 10 * sizeof(unsigned));
    cudaMalloc(&counter, sizeof(int));
    cudaMalloc(&fsum, sizeof(float));
    cudaMemset(counter, 0, sizeof(int));
    cudaMemset(fsum, 0, sizeof(float));
    DK_LAUNCH(ballot_atomic_kernel, dim3(5), dim3(64), 0, nullptr, ballots, counter, fsum);
    CHECK(cudaGetLastError() == cudaSuccess);
    std::vector<unsigned> b(10);
    int c = 0;
    float f = 0;
    cudaMemcpy(b.data(), ballots, 10 * sizeof(unsigned), cudaMemcpyDeviceToHost);
    cudaMemcpy(&c, counter, sizeof c, cudaMemcpyDeviceToHost);
    cudaMemcpy(&f, fsum, sizeof f, cudaMemcpyDeviceToHost);
    unsigned w0 = 0, w1 = 0;
    for (int l = 0; l < 32; ++l) w0 |= (l % 3 == 0 ? 1u : 0u) << l, w1 |= ((32 + l) % 3 == 0 ? 1u : 0u) << l;
    CHECK(b[0] == w0 && b[1] == w1 && b[8] == w0 && b[9] == w1);
    CHECK(c == 320 && f == 160.0f);
    cudaFree(ballots);
    cudaFree(counter);
    cudaFree(fsum);
    CHECK(launch_expect_failure(bad_width_kernel, 32).find("width 6") != std::string::npos);
    CHECK(launch_expect_failure(lane_not_in_mask_kernel, 32).find("not in mask") != std::string::npos);
}

namespace {
__global__ void dynamic_shared_kernel(float *out, int n) {
    float *s = dk_dynamic_shared<float>();
    out[threadIdx.x] = s[threadIdx.x]; // read before anyone wrote: poison
    __syncthreads();
    s[threadIdx.x] = float(threadIdx.x);
    __syncthreads();
    out[n + threadIdx.x] = s[n - 1 - threadIdx.x];
}
} // namespace

TEST(emu_dynamic_shared_and_poisoned_memory) {
    const int n = 40;
    float *out = nullptr;
    cudaMalloc(&out, 2 * n * sizeof(float));
    std::vector<float> h(2 * n);
    cudaMemcpy(h.data(), out, h.size() * sizeof(float), cudaMemcpyDeviceToHost);
    bool all_nan = true;
    for (float v : h) all_nan &= std::isnan(v);
    CHECK_MSG(all_nan, "fresh device memory reads as NaN");
    DK_LAUNCH(dynamic_shared_kernel, dim3(1), dim3(n), n * sizeof(float), nullptr, out, n);
    CHECK(cudaGetLastError() == cudaSuccess);
    cudaMemcpy(h.data(), out, h.size() * sizeof(float), cudaMemcpyDeviceToHost);
    bool ok = true;
    for (int i = 0; i < n; ++i) ok &= std::isnan(h[i]) && h[n + i] == float(n - 1 - i);
    CHECK_MSG(ok, "dynamic shared memory starts poisoned and works after the barrier");
    cudaFree(out);
    DK_LAUNCH(dynamic_shared_kernel, dim3(1), dim3(2000), 0, nullptr, out, n);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
}
