// The CUDA kernel tests' main: `dk_cuda_tests NAME` runs one case. Without a CUDA driver or GPU
// (the real library only; the emulator always has its one device) it prints why and exits 77,
// which ctest reports as skipped.
#include "check.h"
#include "dk_cuda.h"

#include <cstdio>

int main(int argc, char **argv) {
    char msg[256] = {0};
    int count = 0;
    if (dkc_device_count(&count, msg, sizeof msg) != DK_OK) {
        std::printf("SKIP: the CUDA tests need a GPU: %s\n", msg);
        return 77;
    }
    auto &reg = dkt::Registry::get();
    int ran = 0;
    for (auto &[name, fn] : reg.cases) {
        if (argc > 1 && name != argv[1]) continue;
        std::printf("[ RUN  ] %s\n", name.c_str());
        const int before = reg.failures;
        fn();
        std::printf("[ %s ] %s\n", reg.failures == before ? " OK " : "FAIL", name.c_str());
        ++ran;
    }
    if (ran == 0) {
        std::fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "(any)");
        return 2;
    }
    return reg.failures == 0 ? 0 : 1;
}
