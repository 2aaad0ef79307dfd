// Device memory (a caching allocator), host-device copies, streams, the device count, and the
// launchers' thread-local error message.
//
// The allocator keeps freed blocks in per-size-class free lists: requests are rounded up to a
// power of two from 512 bytes to 1 GiB (at most 2x waste, few classes, high reuse for the
// shapes of a training loop), larger ones are exact. cudaMalloc and cudaFree synchronize the
// device, which the cache avoids on every step after the first. A block is reused only after
// dkc_free, so work still queued on a stream that uses it must be ordered by the caller (the same
// rule as for cudaFree without the implicit synchronization: callers free on the stream's
// completion or synchronize first).
#include "dk_cuda_rt.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

struct Cache {
    std::mutex m;
    std::map<int64_t, std::vector<void *>> free_blocks; // size class -> blocks
    std::unordered_map<void *, int64_t> live;            // block -> size class
    int64_t in_use = 0, cached = 0;
};

Cache &cache() {
    static Cache *c = new Cache; // never destroyed: frees may come from static destructors
    return *c;
}

// In the emulator the cache is off unless DK_EMU_CACHING_ALLOCATOR=1: every block then has its
// exact size and is freed at once, so AddressSanitizer sees overruns and uses after free.
bool caching() {
#ifdef DK_CUDA_EMU
    static const bool on = [] {
        const char *e = std::getenv("DK_EMU_CACHING_ALLOCATOR");
        return e && std::strcmp(e, "1") == 0;
    }();
    return on;
#else
    return true;
#endif
}

int64_t size_class(int64_t bytes) {
    if (!caching()) return bytes;
    if (bytes > (int64_t(1) << 30)) return (bytes + 511) / 512 * 512;
    int64_t c = 512;
    while (c < bytes) c <<= 1;
    return c;
}

} // namespace

extern "C" const char *dkc_last_error(void) { return dkc::last_error_buffer(); }

extern "C" int dkc_device_count(int *count, char *msg, int msg_len) {
    *count = 0;
    int status = dkc::cuda_status(cudaGetDeviceCount(count), "cudaGetDeviceCount");
    if (status == DK_OK && *count < 1) status = dkc::fail(DK_UNAVAILABLE, "no CUDA driver or GPU found");
    if (status != DK_OK) std::snprintf(msg, msg_len, "%s", dkc_last_error());
    return status;
}

extern "C" int dkc_malloc(void **p, int64_t bytes) {
    DKC_NOT_NULL(p);
    *p = nullptr;
    DKC_REQUIRE(bytes >= 0, "bytes (%lld) must be >= 0", (long long)bytes);
    if (bytes == 0) return DK_OK;
    const int64_t cls = size_class(bytes);
    Cache &c = cache();
    {
        std::lock_guard<std::mutex> lk(c.m);
        auto it = c.free_blocks.find(cls);
        if (it != c.free_blocks.end() && !it->second.empty()) {
            *p = it->second.back();
            it->second.pop_back();
            c.cached -= cls;
            c.in_use += cls;
            c.live[*p] = cls;
            return DK_OK;
        }
    }
    cudaError_t err = cudaMalloc(p, static_cast<size_t>(cls));
    if (err == cudaErrorMemoryAllocation) { // give the cache back and try once more
        cudaGetLastError();
        dkc_empty_cache();
        err = cudaMalloc(p, static_cast<size_t>(cls));
    }
    if (int s = dkc::cuda_status(err, "cudaMalloc")) {
        *p = nullptr;
        return s;
    }
    std::lock_guard<std::mutex> lk(c.m);
    c.in_use += cls;
    c.live[*p] = cls;
    return DK_OK;
}

extern "C" int dkc_free(void *p) {
    if (!p) return DK_OK;
    Cache &c = cache();
    std::lock_guard<std::mutex> lk(c.m);
    auto it = c.live.find(p);
    if (it == c.live.end()) return dkc::fail(DK_INVALID_ARGUMENT, "p (%p) was not returned by dkc_malloc or was already freed", p);
    if (!caching()) {
        c.in_use -= it->second;
        c.live.erase(it);
        return dkc::cuda_status(cudaFree(p), "cudaFree");
    }
    c.free_blocks[it->second].push_back(p);
    c.in_use -= it->second;
    c.cached += it->second;
    c.live.erase(it);
    return DK_OK;
}

extern "C" int dkc_empty_cache(void) {
    Cache &c = cache();
    std::lock_guard<std::mutex> lk(c.m);
    int status = DK_OK;
    for (auto &[cls, blocks] : c.free_blocks) {
        for (void *p : blocks)
            if (int s = dkc::cuda_status(cudaFree(p), "cudaFree")) status = s;
        c.cached -= cls * static_cast<int64_t>(blocks.size());
        blocks.clear();
    }
    return status;
}

extern "C" int dkc_memory_stats(int64_t *in_use, int64_t *cached) {
    DKC_NOT_NULL(in_use);
    DKC_NOT_NULL(cached);
    Cache &c = cache();
    std::lock_guard<std::mutex> lk(c.m);
    *in_use = c.in_use;
    *cached = c.cached;
    return DK_OK;
}

extern "C" int dkc_memcpy(void *dst, const void *src, int64_t bytes, int32_t kind, dkc_stream stream) {
    DKC_REQUIRE(bytes >= 0, "bytes (%lld) must be >= 0", (long long)bytes);
    if (bytes == 0) return DK_OK;
    DKC_NOT_NULL(dst);
    DKC_NOT_NULL(src);
    cudaMemcpyKind k;
    switch (kind) {
    case DKC_HOST_TO_DEVICE: k = cudaMemcpyHostToDevice; break;
    case DKC_DEVICE_TO_HOST: k = cudaMemcpyDeviceToHost; break;
    case DKC_DEVICE_TO_DEVICE: k = cudaMemcpyDeviceToDevice; break;
    default: return dkc::fail(DK_INVALID_ARGUMENT, "kind (%d) must be HOST_TO_DEVICE, DEVICE_TO_HOST or DEVICE_TO_DEVICE", kind);
    }
    const auto s = static_cast<cudaStream_t>(stream);
    if (int st = dkc::cuda_status(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), k, s), "cudaMemcpyAsync"))
        return st;
    // Pageable host memory: wait, so that the caller may reuse or read its buffer.
    if (kind != DKC_DEVICE_TO_DEVICE) return dkc::cuda_status(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    return DK_OK;
}

extern "C" int dkc_memset_zero(void *p, int64_t bytes, dkc_stream stream) {
    DKC_REQUIRE(bytes >= 0, "bytes (%lld) must be >= 0", (long long)bytes);
    if (bytes == 0) return DK_OK;
    DKC_NOT_NULL(p);
    return dkc::cuda_status(cudaMemsetAsync(p, 0, static_cast<size_t>(bytes), static_cast<cudaStream_t>(stream)),
                            "cudaMemsetAsync");
}

extern "C" int dkc_stream_create(dkc_stream *stream) {
    DKC_NOT_NULL(stream);
    cudaStream_t s = nullptr;
    if (int st = dkc::cuda_status(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate")) return st;
    *stream = s;
    return DK_OK;
}

extern "C" int dkc_stream_destroy(dkc_stream stream) {
    if (!stream) return DK_OK;
    return dkc::cuda_status(cudaStreamDestroy(static_cast<cudaStream_t>(stream)), "cudaStreamDestroy");
}

extern "C" int dkc_stream_synchronize(dkc_stream stream) {
    return dkc::cuda_status(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
}
