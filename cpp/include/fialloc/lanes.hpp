// fialloc: Apache-2.0
#pragma once
//! Sums in four fixed lanes: the same additions in the same order on every CPU and vector width.

#include <Eigen/Core>
#include <array>
#include <cstddef>

namespace fialloc {

/*! Sums of M columns over [0, n): lane l takes entries l, l + 4, l + 8, ..., and the result is
    (l0 + l1) + (l2 + l3). The compiler vectorizes the lanes; the order of additions is fixed by
    the code, not by the vector width, so results are bitwise reproducible. */
template <int M>
std::array<double, M> lane_sums(const std::array<const double*, M>& x, Eigen::Index n) {
  std::array<std::array<double, 4>, M> acc{};
  Eigen::Index i = 0;
  for (; i + 4 <= n; i += 4) {
    for (std::size_t m = 0; m < M; ++m) {
      for (std::size_t l = 0; l < 4; ++l) acc[m][l] += x[m][i + static_cast<Eigen::Index>(l)];
    }
  }
  for (std::size_t l = 0; i < n; ++i, ++l) {
    for (std::size_t m = 0; m < M; ++m) acc[m][l] += x[m][i];
  }
  std::array<double, M> out{};
  for (std::size_t m = 0; m < M; ++m) out[m] = (acc[m][0] + acc[m][1]) + (acc[m][2] + acc[m][3]);
  return out;
}

}  // namespace fialloc
