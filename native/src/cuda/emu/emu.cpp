// The emulator's runtime: the launch loop over blocks, the two ways of running a block's threads
// (fibers or real threads), barriers, warp collectives, shuffles and "device" memory. See emu.h.
#include "emu.h"

#include <ucontext.h>
#include <sys/mman.h>

#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define DK_EMU_ASAN 1
#endif

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer's dynamic annotations (exported by libtsan).
extern "C" void AnnotateIgnoreSyncBegin(const char *file, int line);
extern "C" void AnnotateIgnoreSyncEnd(const char *file, int line);
extern "C" void AnnotateIgnoreReadsBegin(const char *file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char *file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char *file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char *file, int line);
#endif

struct CUstream_st {
    int unused;
};

namespace dkemu {

thread_local ThreadCtx *tl_self = nullptr;
dim3 g_block_dim, g_grid_dim;

namespace {

// Thrown inside a kernel thread to unwind it once the launch has failed.
struct Abort {};

enum class Mode { Fiber, Threads };

Mode mode_from_env() {
    const char *m = std::getenv("DK_EMU_MODE");
    if (!m || !*m || std::strcmp(m, "fiber") == 0) return Mode::Fiber;
    if (std::strcmp(m, "threads") == 0) return Mode::Threads;
    std::fprintf(stderr, "dkemu: DK_EMU_MODE must be 'fiber' or 'threads', got '%s'\n", m);
    std::abort();
}

std::string vformat(const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    std::string s(n > 0 ? n : 0, '\0');
    std::vsnprintf(s.data(), s.size() + 1, fmt, ap);
    return s;
}

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = vformat(fmt, ap);
    va_end(ap);
    return s;
}

enum class State { Running, Waiting, Done };

struct Barrier {
    int arrived = 0;
    unsigned gen = 0;
    const char *file = nullptr;
    int line = 0;
    unsigned mask = 0;
    int first = -1; // the thread that arrived first (for messages)
};

struct Thread {
    ThreadCtx ctx;
    State state = State::Running;
    const char *what = "";
    const char *file = "";
    int line = 0;
    unsigned char slot[64];
    // fiber mode
    ucontext_t uc;
    char *stack = nullptr;
    void *fake_stack = nullptr;
    bool started = false;
    const unsigned *wait_gen = nullptr; // while Waiting: runnable again once *wait_gen != wait_seen
    unsigned wait_seen = 0;
};

constexpr size_t kFiberStack = 256 * 1024;
constexpr int kDeadlockSeconds = 120; // thread mode: a barrier that long is a deadlock

struct Block {
    int nthreads = 0;
    std::vector<Thread> threads;
    std::mutex m;
    std::condition_variable cv;
    Barrier bar;
    Barrier warp_bar[32][2];
    int exited = 0;
    int first_exited = -1;
    bool aborted = false;
    std::string message;
    std::set<void *> poisoned;
    uint3 idx{0, 0, 0};
};

struct LaunchState {
    Mode mode = Mode::Fiber;
    Block block;
    const std::function<void()> *kernel = nullptr;
    unsigned char *dyn = nullptr;
    size_t dyn_bytes = 0;
    // fiber scheduler
    ucontext_t sched;
    const void *sched_stack = nullptr;
    size_t sched_stack_size = 0;
    Thread *starting = nullptr;
};

std::mutex g_launch_mutex; // one launch at a time: __shared__ storage is a static
LaunchState *g_launch = nullptr;
thread_local cudaError_t tl_last_error = cudaSuccess;
std::string g_last_message;

Thread &me() { return *static_cast<Thread *>(tl_self->impl); }

// The emulator's own bookkeeping inside a kernel (a thread's exit, the poisoning of a __shared__
// array) takes the block's mutex, which ThreadSanitizer would otherwise count as synchronization
// between the kernel's threads: a thread that returns and one that starts later would look
// ordered, and the race of a missing __syncthreads would go unreported. Within this scope
// ThreadSanitizer ignores the synchronization and the memory accesses. (No effect without TSan.)
struct Bookkeeping {
#if defined(__SANITIZE_THREAD__)
    Bookkeeping() {
        AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
        AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
        AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
    }
    ~Bookkeeping() {
        AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
        AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
        AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
    }
#endif
};
Block &blk() { return g_launch->block; }

std::string thread_name(const Block &b, int linear) {
    const unsigned bx = g_block_dim.x, by = g_block_dim.y;
    return format("(%u,%u,%u) of block (%u,%u,%u)", linear % bx, (linear / bx) % by, linear / (bx * by), b.idx.x,
                  b.idx.y, b.idx.z);
}

[[noreturn]] void raise(Block &b, std::string msg) {
    if (!b.aborted) {
        b.aborted = true;
        b.message = std::move(msg);
    }
    b.cv.notify_all();
    throw Abort{};
}

// ---- fibers -------------------------------------------------------------------------------------

void fiber_to_scheduler(Thread &t, bool exiting) {
#ifdef DK_EMU_ASAN
    __sanitizer_start_switch_fiber(exiting ? nullptr : &t.fake_stack, g_launch->sched_stack,
                                   g_launch->sched_stack_size);
#endif
    swapcontext(&t.uc, &g_launch->sched);
#ifdef DK_EMU_ASAN
    __sanitizer_finish_switch_fiber(t.fake_stack, nullptr, nullptr);
#endif
}

void on_thread_exit(Block &b, Thread &t) {
    [[maybe_unused]] Bookkeeping ignore;
    std::unique_lock<std::mutex> lk(b.m);
    t.state = State::Done;
    ++b.exited;
    if (b.first_exited < 0) b.first_exited = t.ctx.linear;
    if (!b.aborted) {
        if (b.bar.arrived > 0) {
            b.aborted = true;
            b.message = format("thread %s returned while thread %s waits at __syncthreads (%s:%d): every thread of a "
                               "block must reach every __syncthreads",
                               thread_name(b, t.ctx.linear).c_str(), thread_name(b, b.bar.first).c_str(), b.bar.file,
                               b.bar.line);
        }
        for (int phase = 0; phase < 2 && !b.aborted; ++phase) {
            const Barrier &w = b.warp_bar[t.ctx.warp][phase];
            if (w.arrived > 0 && (w.mask >> t.ctx.lane & 1u)) {
                b.aborted = true;
                b.message = format("thread %s (lane %d) returned while lane %d waits for it at a warp collective "
                                   "(%s:%d) with mask 0x%08x",
                                   thread_name(b, t.ctx.linear).c_str(), t.ctx.lane, w.first % 32, w.file, w.line,
                                   w.mask);
            }
        }
    }
    b.cv.notify_all();
}

void run_kernel_body(Block &b, Thread &t) {
    try {
        (*g_launch->kernel)();
    } catch (const Abort &) {
    } catch (const std::exception &e) {
        std::lock_guard<std::mutex> lk(b.m);
        if (!b.aborted) b.aborted = true, b.message = std::string("exception in kernel: ") + e.what();
    }
    on_thread_exit(b, t);
}

void fiber_entry() {
    Thread &t = *g_launch->starting;
#ifdef DK_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g_launch->sched_stack, &g_launch->sched_stack_size);
#endif
    run_kernel_body(g_launch->block, t);
    fiber_to_scheduler(t, true);
    std::abort(); // a finished fiber is never resumed
}

void switch_to_fiber(Thread &t) {
    tl_self = &t.ctx;
    [[maybe_unused]] void *fake = nullptr;
#ifdef DK_EMU_ASAN
    __sanitizer_start_switch_fiber(&fake, t.stack, kFiberStack);
#endif
    swapcontext(&g_launch->sched, &t.uc);
#ifdef DK_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    tl_self = nullptr;
}

std::string deadlock_report(Block &b) {
    std::string s = format("deadlock in block (%u,%u,%u): no thread can proceed;", b.idx.x, b.idx.y, b.idx.z);
    // Group consecutive threads waiting at the same site.
    int i = 0;
    while (i < b.nthreads) {
        const Thread &t = b.threads[i];
        int j = i + 1;
        while (j < b.nthreads && b.threads[j].state == t.state && b.threads[j].line == t.line &&
               std::strcmp(b.threads[j].file, t.file) == 0 && std::strcmp(b.threads[j].what, t.what) == 0)
            ++j;
        if (t.state == State::Done)
            s += format(" threads %d-%d returned;", i, j - 1);
        else
            s += format(" threads %d-%d wait at %s (%s:%d);", i, j - 1, t.what, t.file, t.line);
        i = j;
    }
    return s;
}

// Kept out of run_block_fibers: getcontext returns twice, which would make the compiler treat the
// caller's locals as clobbered.
__attribute__((noinline)) void init_fiber(Thread &t) {
    getcontext(&t.uc);
    t.uc.uc_stack.ss_sp = t.stack;
    t.uc.uc_stack.ss_size = kFiberStack;
    t.uc.uc_link = nullptr;
    makecontext(&t.uc, fiber_entry, 0);
    t.state = State::Running;
}

// Fiber scheduling: always resume the lowest-numbered thread that can run. A warp therefore runs
// ahead of the higher warps as far as the barriers let it (its lanes advance together through warp
// collectives), and thread 0 ahead of thread 1 between them, so that a missing __syncthreads shows
// up deterministically: a read of shared data runs before the other warps have written it (and
// finds the NaN poison), or a write of the next tile lands before they have read the current one.
bool runnable(const Block &b, const Thread &t) {
    if (t.state == State::Done) return false;
    if (t.state == State::Running || b.aborted) return true;
    return *t.wait_gen != t.wait_seen;
}

void run_block_fibers(Block &b) {
    for (Thread &t : b.threads) init_fiber(t), t.started = false;
    for (;;) {
        Thread *next = nullptr;
        bool alive = false;
        for (Thread &t : b.threads) {
            if (t.state == State::Done) continue;
            alive = true;
            if (runnable(b, t)) {
                next = &t;
                break;
            }
        }
        if (!alive) return;
        if (!next) { // everyone left waits for something that cannot happen
            b.aborted = true;
            b.message = deadlock_report(b);
            continue; // now every waiting fiber is runnable and unwinds
        }
        if (!next->started) {
            next->started = true;
            g_launch->starting = next;
        }
        switch_to_fiber(*next);
    }
}

// Waits (lock held) until done() holds; fibers yield to the scheduler, threads sleep on the
// block's condition variable. Throws Abort when the launch has failed meanwhile.
// `gen` is the barrier generation the caller waits to change (the fiber scheduler checks it
// without resuming the fiber).
template <class Pred>
void wait_until(Block &b, std::unique_lock<std::mutex> &lk, Thread &t, Pred done, const unsigned *gen) {
    if (g_launch->mode == Mode::Fiber) {
        while (!done()) {
            if (b.aborted) throw Abort{};
            t.state = State::Waiting;
            t.wait_gen = gen;
            t.wait_seen = *gen;
            lk.unlock();
            fiber_to_scheduler(t, false);
            lk.lock();
        }
    } else {
        while (!done()) {
            if (b.aborted) throw Abort{};
            if (b.cv.wait_for(lk, std::chrono::seconds(kDeadlockSeconds)) == std::cv_status::timeout && !done() &&
                !b.aborted)
                raise(b, format("thread %s waited %d s at %s (%s:%d): deadlock (a thread that never reaches the "
                                "barrier, or lanes missing from a warp collective)",
                                thread_name(b, t.ctx.linear).c_str(), kDeadlockSeconds, t.what, t.file, t.line));
        }
    }
    if (b.aborted) throw Abort{};
    t.state = State::Running;
}

// ---- threads ------------------------------------------------------------------------------------

// Runs every block of the grid with one OS thread per CUDA thread; blocks still run one after
// another (the coordinator resets the block between them), so statics work as shared memory.
void run_grid_threads(LaunchState &L, const dim3 &grid) {
    Block &b = L.block;
    std::mutex gm;
    std::condition_variable gcv;
    long epoch = -1; // the block the workers should run
    int finished = 0;
    // Every worker passes this gate before any runs the kernel. It is a relaxed atomic on purpose:
    // it orders nothing for ThreadSanitizer, whereas a late worker acquiring `gm` after an early
    // one released it at the end of its kernel would hide the races between their kernels.
    std::atomic<int> gate{0};
    bool stop = false;
    std::vector<std::thread> workers;
    workers.reserve(b.nthreads);
    for (int i = 0; i < b.nthreads; ++i)
        workers.emplace_back([&, i] {
            long seen = -1;
            for (;;) {
                {
                    std::unique_lock<std::mutex> lk(gm);
                    gcv.wait(lk, [&] { return stop || epoch != seen; });
                    if (stop) return;
                    seen = epoch;
                }
                gate.fetch_add(1, std::memory_order_relaxed);
                while (gate.load(std::memory_order_relaxed) < b.nthreads) std::this_thread::yield();
                Thread &t = b.threads[i];
                tl_self = &t.ctx;
                run_kernel_body(b, t);
                tl_self = nullptr;
                std::lock_guard<std::mutex> lk(gm);
                if (++finished == b.nthreads) gcv.notify_all();
            }
        });
    const long nblocks = static_cast<long>(grid.x) * grid.y * grid.z;
    auto aborted = [&] {
        std::lock_guard<std::mutex> lk(b.m);
        return b.aborted;
    };
    for (long i = 0; i < nblocks && !aborted(); ++i) {
        {
            std::lock_guard<std::mutex> lk(gm);
            const uint3 idx{static_cast<unsigned>(i % grid.x), static_cast<unsigned>((i / grid.x) % grid.y),
                            static_cast<unsigned>(i / (static_cast<long>(grid.x) * grid.y))};
            b.idx = idx;
            for (Thread &t : b.threads) t.ctx.block_idx = idx, t.state = State::Running;
            b.exited = 0, b.first_exited = -1, b.poisoned.clear();
            if (L.dyn_bytes) std::memset(L.dyn, 0xFF, L.dyn_bytes);
            finished = 0;
            gate.store(0, std::memory_order_relaxed);
            epoch = i;
        }
        gcv.notify_all();
        std::unique_lock<std::mutex> lk(gm);
        gcv.wait(lk, [&] { return finished == b.nthreads; });
    }
    {
        std::lock_guard<std::mutex> lk(gm);
        stop = true;
    }
    gcv.notify_all();
    for (auto &w : workers) w.join();
}

} // namespace

// ---- launch -------------------------------------------------------------------------------------

cudaError_t launch(dim3 grid, dim3 block, size_t dynamic_smem, cudaStream_t, const std::function<void()> &kernel) {
    const long nthreads = static_cast<long>(block.x) * block.y * block.z;
    auto bad = [](std::string msg) {
        g_last_message = std::move(msg);
        std::fprintf(stderr, "dkemu: %s\n", g_last_message.c_str());
        return tl_last_error = cudaErrorInvalidConfiguration;
    };
    if (nthreads < 1 || nthreads > 1024 || block.z > 64)
        return bad(format("block (%u,%u,%u) must have 1 to 1024 threads and z <= 64", block.x, block.y, block.z));
    if (grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.y > 65535 || grid.z > 65535)
        return bad(format("grid (%u,%u,%u) must be >= 1 in every dimension, y and z <= 65535", grid.x, grid.y, grid.z));
    if (dynamic_smem > 227 * 1024) return bad(format("%zu bytes of dynamic shared memory exceed 227 KiB", dynamic_smem));

    std::lock_guard<std::mutex> launch_lock(g_launch_mutex);
    auto L = std::make_unique<LaunchState>();
    L->mode = mode_from_env();
    L->kernel = &kernel;
    L->dyn_bytes = dynamic_smem;
    L->dyn = static_cast<unsigned char *>(std::malloc(dynamic_smem ? dynamic_smem : 1));
    g_launch = L.get();
    g_block_dim = block;
    g_grid_dim = grid;
    Block &b = L->block;
    b.nthreads = static_cast<int>(nthreads);
    b.threads.resize(nthreads);
    for (int i = 0; i < b.nthreads; ++i) {
        Thread &t = b.threads[i];
        t.ctx.thread_idx = {i % block.x, (i / block.x) % block.y, static_cast<unsigned>(i / (block.x * block.y))};
        t.ctx.linear = i;
        t.ctx.lane = i % 32;
        t.ctx.warp = i / 32;
        t.ctx.impl = &t;
    }
    if (L->mode == Mode::Fiber) {
        for (Thread &t : b.threads) {
            void *s = mmap(nullptr, kFiberStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                           -1, 0);
            if (s == MAP_FAILED) {
                std::fprintf(stderr, "dkemu: cannot map a fiber stack\n");
                std::abort();
            }
            t.stack = static_cast<char *>(s);
        }
        for (unsigned z = 0; z < grid.z && !b.aborted; ++z)
            for (unsigned y = 0; y < grid.y && !b.aborted; ++y)
                for (unsigned x = 0; x < grid.x && !b.aborted; ++x) {
                    b.idx = {x, y, z};
                    for (Thread &t : b.threads) t.ctx.block_idx = b.idx;
                    b.exited = 0, b.first_exited = -1, b.poisoned.clear();
                    if (L->dyn_bytes) std::memset(L->dyn, 0xFF, L->dyn_bytes);
                    run_block_fibers(b);
                }
        for (Thread &t : b.threads) munmap(t.stack, kFiberStack);
    } else {
        run_grid_threads(*L, grid);
    }
    std::free(L->dyn);
    g_launch = nullptr;
    if (b.aborted) {
        g_last_message = b.message;
        std::fprintf(stderr, "dkemu: kernel failed: %s\n", b.message.c_str());
        return tl_last_error = cudaErrorLaunchFailure;
    }
    return cudaSuccess;
}

const char *last_launch_message() { return g_last_message.c_str(); }

void kernel_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string msg = vformat(fmt, ap);
    va_end(ap);
    Block &b = blk();
    std::unique_lock<std::mutex> lk(b.m);
    raise(b, format("thread %s: %s", thread_name(b, tl_self->linear).c_str(), msg.c_str()));
}

// ---- barriers and collectives --------------------------------------------------------------------

void syncthreads(const char *file, int line) {
    Block &b = blk();
    Thread &t = me();
    std::unique_lock<std::mutex> lk(b.m);
    if (b.aborted) throw Abort{};
    if (b.exited > 0)
        raise(b, format("thread %s reached __syncthreads (%s:%d) after thread %s returned: every thread of a block "
                        "must reach every __syncthreads",
                        thread_name(b, t.ctx.linear).c_str(), file, line, thread_name(b, b.first_exited).c_str()));
    Barrier &bar = b.bar;
    if (bar.arrived > 0 && (bar.line != line || std::strcmp(bar.file, file) != 0))
        raise(b, format("divergent __syncthreads: thread %s waits at %s:%d while thread %s reached %s:%d",
                        thread_name(b, bar.first).c_str(), bar.file, bar.line, thread_name(b, t.ctx.linear).c_str(),
                        file, line));
    if (bar.arrived == 0) bar.file = file, bar.line = line, bar.first = t.ctx.linear;
    t.what = "__syncthreads", t.file = file, t.line = line;
    const unsigned gen = bar.gen;
    if (++bar.arrived == b.nthreads) {
        bar.arrived = 0;
        ++bar.gen;
        b.cv.notify_all();
        return;
    }
    wait_until(b, lk, t, [&] { return bar.gen != gen; }, &bar.gen);
}

namespace {

// One phase of a warp collective: every lane of `need` arrives at the same site with the same mask.
void warp_arrive(Block &b, std::unique_lock<std::mutex> &lk, Thread &t, int phase, unsigned mask, unsigned need,
                 const char *what, const char *file, int line) {
    Barrier &bar = b.warp_bar[t.ctx.warp][phase];
    if (bar.arrived > 0 && (bar.line != line || std::strcmp(bar.file, file) != 0 || bar.mask != mask))
        raise(b, format("divergent warp collective: lane %d waits at %s (%s:%d, mask 0x%08x) while lane %d reached "
                        "%s (%s:%d, mask 0x%08x) in warp %d of block (%u,%u,%u)",
                        bar.first % 32, b.threads[bar.first].what, bar.file, bar.line, bar.mask, t.ctx.lane, what,
                        file, line, mask, t.ctx.warp, b.idx.x, b.idx.y, b.idx.z));
    const int base = t.ctx.warp * 32;
    for (int l = 0; l < 32; ++l)
        if ((need >> l & 1u) && b.threads[base + l].state == State::Done)
            raise(b, format("%s (%s:%d) in warp %d of block (%u,%u,%u): lane %d named in mask 0x%08x has returned",
                            what, file, line, t.ctx.warp, b.idx.x, b.idx.y, b.idx.z, l, mask));
    if (bar.arrived == 0) bar.file = file, bar.line = line, bar.mask = mask, bar.first = t.ctx.linear;
    t.what = what, t.file = file, t.line = line;
    const unsigned gen = bar.gen;
    if (++bar.arrived == __builtin_popcount(need)) {
        bar.arrived = 0;
        ++bar.gen;
        b.cv.notify_all();
        return;
    }
    wait_until(b, lk, t, [&] { return bar.gen != gen; }, &bar.gen);
}

unsigned existing_lanes(const Block &b, int warp) {
    const int n = b.nthreads - warp * 32;
    return n >= 32 ? 0xffffffffu : (1u << n) - 1u;
}

} // namespace

void warp_collective(unsigned mask, const void *mine, size_t bytes, void *all, unsigned *present, const char *what,
                     const char *file, int line) {
    Block &b = blk();
    Thread &t = me();
    std::unique_lock<std::mutex> lk(b.m);
    if (b.aborted) throw Abort{};
    if (!(mask >> t.ctx.lane & 1u))
        raise(b, format("%s (%s:%d): calling lane %d of thread %s is not in mask 0x%08x", what, file, line, t.ctx.lane,
                        thread_name(b, t.ctx.linear).c_str(), mask));
    if (bytes > sizeof t.slot) raise(b, format("%s: %zu bytes per lane exceed the emulator's 64", what, bytes));
    const unsigned need = mask & existing_lanes(b, t.ctx.warp);
    std::memcpy(t.slot, mine, bytes);
    warp_arrive(b, lk, t, 0, mask, need, what, file, line);
    unsigned char *out = static_cast<unsigned char *>(all);
    const int base = t.ctx.warp * 32;
    for (int l = 0; l < 32; ++l) {
        if (need >> l & 1u)
            std::memcpy(out + l * bytes, b.threads[base + l].slot, bytes);
        else
            std::memset(out + l * bytes, 0xFF, bytes);
    }
    if (present) *present = need;
    // Nobody deposits again before every lane has read.
    warp_arrive(b, lk, t, 1, mask, need, what, file, line);
}

void syncwarp(unsigned mask, const char *file, int line) {
    unsigned char dummy = 0, all[32];
    warp_collective(mask, &dummy, 1, all, nullptr, "__syncwarp", file, line);
}

uint32_t shfl32(ShflMode mode, unsigned mask, uint32_t v, int b, int width, const char *file, int line) {
    static const char *names[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync"};
    if (width < 1 || width > 32 || (width & (width - 1)))
        kernel_error("%s (%s:%d): width %d must be a power of two in [1, 32]", names[mode], file, line, width);
    uint32_t all[32];
    unsigned present = 0;
    warp_collective(mask, &v, 4, all, &present, names[mode], file, line);
    // PTX shfl.sync with c = ((32 - width) << 8) | (up ? 0 : 31), as CUDA's intrinsics pass it.
    const int lane = tl_self->lane;
    const int segmask = 32 - width;
    const int cval = mode == SHFL_UP ? 0 : 31;
    const int bval = b & 31;
    const int max_lane = (lane & segmask) | (cval & ~segmask);
    const int min_lane = lane & segmask;
    int j = lane;
    bool pval = false;
    switch (mode) {
    case SHFL_UP: j = lane - bval, pval = j >= max_lane; break;
    case SHFL_DOWN: j = lane + bval, pval = j <= max_lane; break;
    case SHFL_BFLY: j = lane ^ bval, pval = j <= max_lane; break;
    case SHFL_IDX: j = min_lane | (bval & ~segmask), pval = j <= max_lane; break;
    }
    if (!pval) j = lane;
    // Reading a lane that is not in the mask (or not in the block) is undefined: poison.
    return (present >> j & 1u) ? all[j] : 0xFFFFFFFFu;
}

unsigned ballot(unsigned mask, bool pred, const char *file, int line) {
    unsigned char p = pred ? 1 : 0, all[32];
    unsigned present = 0;
    warp_collective(mask, &p, 1, all, &present, "__ballot_sync", file, line);
    unsigned r = 0;
    for (int l = 0; l < 32; ++l)
        if ((present >> l & 1u) && all[l]) r |= 1u << l;
    return r;
}

void shared_poison(void *p, size_t bytes) {
    Block &b = blk();
    [[maybe_unused]] Bookkeeping ignore;
    std::lock_guard<std::mutex> lk(b.m);
    if (b.poisoned.insert(p).second) std::memset(p, 0xFF, bytes);
}

void *dynamic_shared() { return g_launch->dyn; }

} // namespace dkemu

// ---- runtime API ---------------------------------------------------------------------------------

using dkemu::tl_last_error;

cudaError_t cudaMalloc(void **p, size_t bytes) {
    if (!p) return tl_last_error = cudaErrorInvalidValue;
    if (bytes == 0) {
        *p = nullptr;
        return cudaSuccess;
    }
    *p = std::malloc(bytes); // the exact size: AddressSanitizer reports any overrun
    if (!*p) return tl_last_error = cudaErrorMemoryAllocation;
    std::memset(*p, 0xFF, bytes); // NaN as float: reads of memory nobody wrote show up
    return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
    std::free(p);
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind) {
    if (bytes && (!dst || !src)) return tl_last_error = cudaErrorInvalidValue;
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void *p, int value, size_t bytes) {
    if (bytes && !p) return tl_last_error = cudaErrorInvalidValue;
    if (bytes) std::memset(p, value, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t) { return cudaMemset(p, value, bytes); }
cudaError_t cudaStreamCreate(cudaStream_t *s) {
    *s = new CUstream_st{0};
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) { return cudaStreamCreate(s); }
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaGetLastError() {
    const cudaError_t e = tl_last_error;
    tl_last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError() { return tl_last_error; }
cudaError_t cudaGetDeviceCount(int *count) {
    *count = 1;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int *device) {
    *device = 0;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : (tl_last_error = cudaErrorInvalidDevice); }
const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}
const char *cudaGetErrorString(cudaError_t e) {
    if (e == cudaErrorLaunchFailure || e == cudaErrorInvalidConfiguration) return dkemu::last_launch_message();
    return cudaGetErrorName(e);
}
