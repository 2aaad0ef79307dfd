// The thread budget. dk_set_num_threads sets how many worker threads all native and oneDNN
// calls together may use. Every entry point that runs a kernel takes a ThreadLease: it gets
// between 1 and the whole budget, waits while the budget is exhausted, and sets the calling
// thread's OpenMP team size to what it got. Concurrent JVM threads therefore split the cores
// instead of each starting a full team (oversubscription halves the speed of spinning runtimes).
#pragma once

namespace dk {

int num_threads();

class ThreadLease {
public:
    ThreadLease();
    ~ThreadLease();
    ThreadLease(const ThreadLease &) = delete;
    ThreadLease &operator=(const ThreadLease &) = delete;

    int count() const { return count_; }

private:
    int count_;
};

} // namespace dk
