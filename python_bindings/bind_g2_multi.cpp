// fialloc: Apache-2.0
#include <pybind11/stl.h>

#include "curve_args.hpp"
#include "fialloc/g2_multi.hpp"

namespace fialloc::bindings {

void register_g2_multi(py::module_& m) {
  m.def(
      "simulate_g2_multi",
      [](ConstMatRef params, ConstVecRef times, ConstMatRef log_dfs, ConstIdxRef parents,
         ConstVecRef link_spots, ConstVecRef link_vols, ConstMatRef correlation,
         std::int64_t first_path, std::int64_t n_paths, std::uint64_t seed, int threads) {
        G2MultiPaths out = simulate_g2_multi(params, times, log_dfs, parents, link_spots, link_vols,
                                             correlation, first_path, n_paths, seed, threads);
        return std::make_tuple(std::move(out.x), std::move(out.y), std::move(out.discount),
                               std::move(out.link));
      },
      py::arg("params").noconvert(), py::arg("times").noconvert(), py::arg("log_dfs").noconvert(),
      py::arg("parents").noconvert(), py::arg("link_spots").noconvert(),
      py::arg("link_vols").noconvert(), py::arg("correlation").noconvert(), py::arg("first_path"),
      py::arg("n_paths"), py::arg("seed"), py::arg("threads"),
      py::call_guard<py::gil_scoped_release>(),
      "Correlated G2++ economies linked by lognormal FX and price indices: lists per economy of "
      "x, y, discount factors and links (paths x times).");
}

}  // namespace fialloc::bindings
