// The process-wide oneDNN CPU engine and a per-thread stream.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace dk::onednn {

dnnl::engine &engine();
dnnl::stream &stream(); // the calling thread's in-order stream on engine()

} // namespace dk::onednn
