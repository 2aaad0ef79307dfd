#include "workspace.h"

#include "deepkern.h"
#include "error.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

namespace dk {

namespace {
std::atomic<int64_t> held{0}, peak{0};
} // namespace

Workspace::Workspace(int64_t bytes) {
    if (bytes <= 0) return;
    const int64_t rounded = (bytes + 63) / 64 * 64;
    p_ = std::aligned_alloc(64, static_cast<size_t>(rounded));
    if (!p_) fail(DK_OUT_OF_MEMORY, format("out of memory allocating a %lld-byte workspace", (long long)bytes));
    bytes_ = rounded;
    const int64_t now = held.fetch_add(rounded) + rounded;
    int64_t p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {}
}

Workspace::~Workspace() {
    if (!p_) return;
    std::free(p_);
    held.fetch_sub(bytes_);
}

Workspace &Workspace::operator=(Workspace &&o) noexcept {
    if (this != &o) {
        this->~Workspace();
        p_ = o.p_, bytes_ = o.bytes_;
        o.p_ = nullptr, o.bytes_ = 0;
    }
    return *this;
}

} // namespace dk

#ifdef DK_HAVE_ONEDNN
namespace dk {
void release_attention_onednn_cache();
}
#endif

extern "C" void dk_release_workspace_cache(void) {
#ifdef DK_HAVE_ONEDNN
    dk::release_attention_onednn_cache();
#endif
}

extern "C" int64_t dk_workspace_bytes(void) { return dk::held.load(); }
extern "C" int64_t dk_workspace_peak_bytes(void) { return dk::peak.load(); }
extern "C" void dk_reset_workspace_peak(void) { dk::peak.store(dk::held.load()); }
