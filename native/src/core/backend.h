// Which backends can run here, and the bridge to libdeepkern_cuda.
#pragma once

#include "deepkern.h"

namespace dk {

// Throws DK_UNAVAILABLE (with the reason) or DK_INVALID_ARGUMENT (unknown backend).
void require_backend(dk_backend backend);

} // namespace dk
