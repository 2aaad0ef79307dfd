#include "engine.h"

namespace dk::onednn {

dnnl::engine &engine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

dnnl::stream &stream() {
    thread_local dnnl::stream s(engine());
    return s;
}

} // namespace dk::onednn
