// Splitting an element-wise pass between the library's threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <omp.h>

namespace dk {

// Runs chunk(begin, count) over [0, n) in one contiguous piece per thread, each a whole number
// of 64-byte lines of floats (no false sharing); below serial_below elements everything runs on
// the calling thread, where a parallel region would cost more than the work.
template <class F>
void parallel_chunks(int64_t n, int64_t serial_below, F chunk) {
    constexpr int64_t kLine = 16;
    if (n < serial_below) {
        chunk(int64_t{0}, n);
        return;
    }
#pragma omp parallel
    {
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t per = (n / nt + kLine - 1) / kLine * kLine;
        const int64_t begin = std::min(n, t * per), end = std::min(n, begin + per);
        if (end > begin) chunk(begin, end - begin);
    }
}

} // namespace dk
