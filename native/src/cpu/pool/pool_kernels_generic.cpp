// The pooling plane kernels compiled for generic (CMakeLists.txt: dk_isa_sources).
#define DK_POOL_KERNELS kernels_generic
#include "pool_kernels.inc"
