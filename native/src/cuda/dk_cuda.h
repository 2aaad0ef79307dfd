/* The C interface of libdeepkern_cuda, used only by libdeepkern (src/core/cuda_bridge.cpp),
 * which loads the library with dlopen so that libdeepkern itself never depends on CUDA.
 * Each function returns 0 on success; otherwise a dk_status and a message in msg. */
#ifndef DK_CUDA_H
#define DK_CUDA_H

#include "deepkern.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The number of CUDA devices (>= 1) on success. */
DK_API int dkc_device_count(int *count, char *msg, int msg_len);

/* dk_matmul on device pointers; the descriptor was validated by libdeepkern. */
DK_API int dkc_matmul(const dk_matmul_desc *desc, float *c, const float *a, const float *b, char *msg,
                      int msg_len);

#ifdef __cplusplus
}
#endif

#endif
