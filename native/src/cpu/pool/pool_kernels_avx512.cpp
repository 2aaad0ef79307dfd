// The pooling plane kernels compiled for avx512 (CMakeLists.txt: dk_isa_sources).
#define DK_POOL_KERNELS kernels_avx512
#include "pool_kernels.inc"
