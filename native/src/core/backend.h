// Which backends can run here, and the bridge to libdeepkern_cuda.
#pragma once

#include "deepkern.h"

namespace dk {

// Throws DK_UNAVAILABLE (with the reason) or DK_INVALID_ARGUMENT (unknown backend).
void require_backend(dk_backend backend);

// A function of libdeepkern_cuda; throws DK_UNAVAILABLE (with the reason) when the cuda
// backend cannot run here or the library lacks the symbol.
void *cuda_symbol(const char *name);

} // namespace dk
