// The portable kernels of attention_kernels_generic.cpp compiled with AVX2 + FMA flags
// (dk_isa_sources): the compiler vectorizes their lane loops 8 wide with FMA. Chosen when the CPU
// has AVX2 but not AVX-512.
#define DK_ATTENTION_KERNELS kernels_avx2
#include "attention_kernels_generic.cpp"
