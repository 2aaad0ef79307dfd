#include "deepkern.h"
#include "error.h"

#include <cstdlib>

extern "C" dk_status dk_alloc(void **out, int64_t bytes) {
    if (!out) return dk::set_error(DK_NULL_POINTER, "out must not be null");
    *out = nullptr;
    if (bytes < 0) return dk::set_error(DK_INVALID_ARGUMENT, dk::format("bytes must be >= 0, got %lld", (long long)bytes));
    if (bytes == 0) return DK_OK;
    constexpr int64_t align = 64;
    if (bytes > INT64_MAX - align)
        return dk::set_error(DK_INVALID_ARGUMENT, dk::format("bytes %lld is too large", (long long)bytes));
    const int64_t rounded = (bytes + align - 1) / align * align;
    void *p = std::aligned_alloc(align, static_cast<size_t>(rounded));
    if (!p) return dk::set_error(DK_OUT_OF_MEMORY, dk::format("out of memory allocating %lld bytes", (long long)bytes));
    *out = p;
    return DK_OK;
}

extern "C" void dk_free(void *p) { std::free(p); }
