// Which backends can run here, and the bridge to libdeepkern_cuda.
#pragma once

#include "deepkern.h"

namespace dk {

// Throws DK_UNAVAILABLE (with the reason) or DK_INVALID_ARGUMENT (unknown backend).
void require_backend(dk_backend backend);

// A function of libdeepkern_cuda; throws DK_UNAVAILABLE (with the reason) when the cuda
// backend cannot run here or the library lacks the symbol.
void *cuda_symbol(const char *name);

// Throws the dk::Error for a failed dkc_* status, with libdeepkern_cuda's message.
[[noreturn]] void fail_cuda(int status);

// Calls libdeepkern_cuda's function `name` (of type F, returning a dk_status) and throws on failure.
template <class F, class... Args>
void cuda_call(const char *name, Args... args) {
    const int status = reinterpret_cast<F *>(cuda_symbol(name))(args...);
    if (status != DK_OK) fail_cuda(status);
}

} // namespace dk

// DKC_CALL(dkc_x, args...): runs dkc_x of the loaded libdeepkern_cuda (declared in cuda/dk_cuda.h).
#define DKC_CALL(fn, ...) ::dk::cuda_call<decltype(fn)>(#fn, __VA_ARGS__)

namespace dk {

} // namespace dk
