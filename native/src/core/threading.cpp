#include "threading.h"

#include "deepkern.h"
#include "error.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dk {

namespace {

int default_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

struct Budget {
    std::mutex mutex;
    std::condition_variable freed;
    int total = default_threads();
    int in_use = 0;
    int peak = 0;
};

Budget &budget() {
    static Budget b;
    return b;
}

} // namespace

int num_threads() {
    Budget &b = budget();
    std::lock_guard<std::mutex> lock(b.mutex);
    return b.total;
}

ThreadLease::ThreadLease() {
    Budget &b = budget();
    std::unique_lock<std::mutex> lock(b.mutex);
    b.freed.wait(lock, [&] { return b.in_use < b.total; });
    count_ = b.total - b.in_use;
    b.in_use += count_;
    b.peak = std::max(b.peak, b.in_use);
    lock.unlock();
#ifdef _OPENMP
    omp_set_num_threads(count_);
#endif
}

ThreadLease::~ThreadLease() {
    Budget &b = budget();
    {
        std::lock_guard<std::mutex> lock(b.mutex);
        b.in_use -= count_;
    }
    b.freed.notify_all();
}

} // namespace dk

extern "C" dk_status dk_set_num_threads(int32_t n) {
    if (n < 1) return dk::set_error(DK_INVALID_ARGUMENT, dk::format("threads must be >= 1, got %d", n));
    if (n > 4096) return dk::set_error(DK_INVALID_ARGUMENT, dk::format("threads must be <= 4096, got %d", n));
    dk::Budget &b = dk::budget();
    {
        std::lock_guard<std::mutex> lock(b.mutex);
        b.total = n;
    }
    b.freed.notify_all();
    return DK_OK;
}

extern "C" int32_t dk_get_num_threads(void) { return dk::num_threads(); }

extern "C" int32_t dk_peak_threads_in_use(void) {
    dk::Budget &b = dk::budget();
    std::lock_guard<std::mutex> lock(b.mutex);
    return b.peak;
}

extern "C" void dk_reset_peak_threads_in_use(void) {
    dk::Budget &b = dk::budget();
    std::lock_guard<std::mutex> lock(b.mutex);
    b.peak = b.in_use;
}
