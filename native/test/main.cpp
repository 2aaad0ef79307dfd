#include "check.h"

int main(int argc, char **argv) {
    auto &reg = dkt::Registry::get();
    if (reg.skip_reason) {
        const std::string why = reg.skip_reason();
        if (!why.empty()) {
            std::printf("SKIP: %s\n", why.c_str());
            return 77;
        }
    }
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
