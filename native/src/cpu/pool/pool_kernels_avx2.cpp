// The pooling plane kernels compiled for avx2 (CMakeLists.txt: dk_isa_sources).
#define DK_POOL_KERNELS kernels_avx2
#include "pool_kernels.inc"
