#include "backend.h"

#include "cuda/dk_cuda.h"
#include "error.h"
#include "matmul.h"

#include <cstdlib>
#include <dlfcn.h>
#include <string>

namespace dk {

namespace {

// libdeepkern_cuda, found by soname: already loaded by the Java side from the native jar, or
// next to libdeepkern ($ORIGIN runpath), or on the library path. Loaded once.
struct CudaLibrary {
    decltype(&dkc_device_count) device_count = nullptr;
    decltype(&dkc_matmul) matmul = nullptr;
    std::string unavailable; // the reason, empty when usable
    void *handle = nullptr;
};

const CudaLibrary &cuda_library() {
    static const CudaLibrary lib = [] {
        CudaLibrary l;
        // DK_CUDA_LIBRARY names another build of the same interface: the tests load the CUDA
        // kernels compiled for the CPU emulator (libdeepkern_cuda_emu.so) through it.
        const char *override_path = std::getenv("DK_CUDA_LIBRARY");
        const char *path = override_path && *override_path ? override_path : "libdeepkern_cuda.so";
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            l.unavailable = path == override_path ? std::string("DK_CUDA_LIBRARY=") + path + " cannot be loaded: " + dlerror()
                                                  : "libdeepkern_cuda was not built or not found (built without nvcc?)";
            return l;
        }
        l.handle = h;
        l.device_count = reinterpret_cast<decltype(&dkc_device_count)>(dlsym(h, "dkc_device_count"));
        l.matmul = reinterpret_cast<decltype(&dkc_matmul)>(dlsym(h, "dkc_matmul"));
        if (!l.device_count || !l.matmul) {
            l.unavailable = "libdeepkern_cuda does not match this libdeepkern (missing symbols)";
            return l;
        }
        char msg[256] = {0};
        int count = 0;
        if (l.device_count(&count, msg, sizeof msg) != 0 || count < 1)
            l.unavailable = msg[0] ? msg : "no CUDA driver or GPU found";
        return l;
    }();
    return lib;
}

void run_cuda_status(int status, const char *msg) {
    if (status != 0) fail(static_cast<dk_status>(status), msg);
}

} // namespace

void *cuda_symbol(const char *name) {
    require_backend(DK_BACKEND_CUDA);
    void *sym = dlsym(cuda_library().handle, name);
    if (!sym) fail(DK_UNAVAILABLE, format("libdeepkern_cuda does not match this libdeepkern (no %s)", name));
    return sym;
}

void fail_cuda(int status) {
    const char *msg = reinterpret_cast<decltype(&dkc_last_error)>(cuda_symbol("dkc_last_error"))();
    fail(static_cast<dk_status>(status), msg && *msg ? msg : "CUDA call failed");
}

void require_backend(dk_backend backend) {
    switch (backend) {
    case DK_BACKEND_NATIVE:
    case DK_BACKEND_REF: return;
    case DK_BACKEND_ONEDNN:
#ifdef DK_HAVE_ONEDNN
        return;
#else
        fail(DK_UNAVAILABLE, "this libdeepkern was built without oneDNN");
#endif
    case DK_BACKEND_CUDA:
        if (!cuda_library().unavailable.empty()) fail(DK_UNAVAILABLE, cuda_library().unavailable);
        return;
    }
    fail(DK_INVALID_ARGUMENT, format("backend must be one of NATIVE, ONEDNN, CUDA, REF; got %d", backend));
}

// The cuda backend's matmul: forwards device pointers to libdeepkern_cuda.
extern const MatmulImpl matmul_cuda = {
    "cuda",
    [](const dk_matmul_desc &) { return true; },
    [](const MatmulArgs &x) {
        char msg[256] = {0};
        run_cuda_status(cuda_library().matmul(&x.d, x.c, x.a, x.b, msg, sizeof msg), msg);
    },
};

} // namespace dk

extern "C" dk_status dk_backend_check(dk_backend backend) {
    return dk::guarded([&] { dk::require_backend(backend); });
}

extern "C" const char *dk_version(void) { return DK_VERSION; }
