// Temporary memory of kernels, counted: dk_workspace_bytes / dk_workspace_peak_bytes report what
// the implementations held, so benchmarks report a measured extra-memory figure.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dk {

// 64-byte aligned, uninitialized, freed on destruction. Throws DK_OUT_OF_MEMORY.
class Workspace {
public:
    Workspace() = default;
    explicit Workspace(int64_t bytes);
    ~Workspace();
    Workspace(Workspace &&o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
    Workspace &operator=(Workspace &&o) noexcept;
    Workspace(const Workspace &) = delete;
    Workspace &operator=(const Workspace &) = delete;

    float *floats() const { return static_cast<float *>(p_); }
    void *data() const { return p_; }
    int64_t bytes() const { return bytes_; }

private:
    void *p_ = nullptr;
    int64_t bytes_ = 0;
};

} // namespace dk
