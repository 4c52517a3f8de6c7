// fialloc: Apache-2.0
#include <cmath>

#include "fialloc/errors.hpp"
#include "fialloc/types.hpp"

namespace fialloc {

void check_offsets(const CashflowView& cf, const char* where) {
  FIALLOC_REQUIRE(cf.offsets.size() >= 1, where << ": `offsets` must have at least one entry");
  FIALLOC_REQUIRE(cf.times.size() == cf.amounts.size(),
                  where << ": `times` has " << cf.times.size() << " entries but `amounts` has "
                        << cf.amounts.size());
  FIALLOC_REQUIRE(cf.offsets[0] == 0, where << ": `offsets[0]` must be 0, got " << cf.offsets[0]);
  FIALLOC_REQUIRE(cf.offsets[cf.offsets.size() - 1] == cf.times.size(),
                  where << ": last offset must equal the number of flows " << cf.times.size()
                        << ", got " << cf.offsets[cf.offsets.size() - 1]);
  for (Eigen::Index s = 0; s < cf.n_streams(); ++s) {
    FIALLOC_REQUIRE(cf.offsets[s + 1] > cf.offsets[s],
                    where << ": stream " << s << " has no cash flows (offsets " << cf.offsets[s]
                          << ", " << cf.offsets[s + 1] << ")");
  }
}

void check_layout(const CashflowView& cf, const char* where) {
  check_offsets(cf, where);
  for (Eigen::Index s = 0; s < cf.n_streams(); ++s) {
    double prev = 0.0;
    for (Eigen::Index i = cf.begin(s); i < cf.end(s); ++i) {
      const double t = cf.times[i];
      FIALLOC_REQUIRE(std::isfinite(t) && t >= prev,
                      where << ": stream " << s << " flow " << (i - cf.begin(s))
                            << " has time " << t
                            << "; times must be finite, non-negative and non-decreasing");
      FIALLOC_REQUIRE(std::isfinite(cf.amounts[i]),
                      where << ": stream " << s << " flow " << (i - cf.begin(s))
                            << " has non-finite amount " << cf.amounts[i]);
      prev = t;
    }
  }
}

}  // namespace fialloc
