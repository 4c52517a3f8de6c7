// fialloc: Apache-2.0
#include <pybind11/pybind11.h>

#include "curve_args.hpp"
#include "fialloc/errors.hpp"

#define FIALLOC_STRINGIFY(x) #x
#define FIALLOC_MACRO_STRINGIFY(x) FIALLOC_STRINGIFY(x)

PYBIND11_MODULE(_core, m, pybind11::mod_gil_not_used()) {
  m.doc() = "fialloc numeric core (private): curves, cash-flow pricing and risk kernels";
  // The core's convergence failures are fialloc.errors.ConvergenceError (a FiallocError).
  const pybind11::object base = pybind11::module_::import("fialloc.errors").attr("ConvergenceError");
  pybind11::register_exception<fialloc::ConvergenceError>(m, "ConvergenceError", base);
  fialloc::bindings::register_curves(m);
  fialloc::bindings::register_bonds(m);
  fialloc::bindings::register_g2(m);
  fialloc::bindings::register_mbs(m);
  fialloc::bindings::register_g2_multi(m);
  fialloc::bindings::register_lattice(m);
  fialloc::bindings::register_g2_calibration(m);
  fialloc::bindings::register_mbs_paths(m);
#ifdef VERSION_INFO
  m.attr("__version__") = FIALLOC_MACRO_STRINGIFY(VERSION_INFO);
#else
  m.attr("__version__") = "dev";
#endif
}
