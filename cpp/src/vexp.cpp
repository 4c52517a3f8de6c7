// fialloc: Apache-2.0
#include "fialloc/vexp.hpp"

namespace fialloc {

FIALLOC_TARGET_CLONES
void exp_inplace(double* x, Eigen::Index n) {
  for (Eigen::Index i = 0; i < n; ++i) x[i] = exp_value(x[i]);
}

}  // namespace fialloc
