# The CUDA kernel files: built by nvcc into libdeepkern_cuda and by the host compiler into the
# emulator tests (emu/emu.cmake). One file per op, kernels and their launchers together.
set(DK_CUDA_KERNEL_FILES activation attention batchnorm conv dropout embedding gemm layernorm memory nd optimizer
    pooling softmax)
set(DK_CUDA_SOURCES)
foreach(f ${DK_CUDA_KERNEL_FILES})
  list(APPEND DK_CUDA_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/native/src/cuda/${f}.cu)
endforeach()
