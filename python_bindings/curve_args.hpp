// fialloc: Apache-2.0
#pragma once
//! Shared binding glue: the six arrays and codes that describe a curve, and the cash-flow layout triple.

#include <pybind11/eigen.h>
#include <pybind11/pybind11.h>

#include "fialloc/curve.hpp"
#include "fialloc/types.hpp"

namespace fialloc::bindings {

namespace py = pybind11;

inline ZeroCurve make_curve(ConstVecRef pillar_times, ConstVecRef log_dfs, int interpolation,
                            int extrapolation, ConstVecRef spread_knots, ConstVecRef spread_values) {
  return ZeroCurve(pillar_times, log_dfs, static_cast<Interpolation>(interpolation),
                   static_cast<Extrapolation>(extrapolation), spread_knots, spread_values);
}

#define FIALLOC_CURVE_ARGS                                                                   \
  py::arg("pillar_times").noconvert(), py::arg("log_dfs").noconvert(), py::arg("interpolation"), \
      py::arg("extrapolation"), py::arg("spread_knots").noconvert(),                         \
      py::arg("spread_values").noconvert()

#define FIALLOC_LAYOUT_ARGS \
  py::arg("offsets").noconvert(), py::arg("times").noconvert(), py::arg("amounts").noconvert()

void register_curves(py::module_& m);
void register_bonds(py::module_& m);
void register_g2(py::module_& m);
void register_mbs(py::module_& m);
void register_g2_multi(py::module_& m);
void register_lattice(py::module_& m);
void register_g2_calibration(py::module_& m);
void register_mbs_paths(py::module_& m);

}  // namespace fialloc::bindings
