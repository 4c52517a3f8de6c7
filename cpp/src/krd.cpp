// fialloc: Apache-2.0
#include "fialloc/krd.hpp"

#include <cmath>

#include "fialloc/errors.hpp"
#include "fialloc/flow_book.hpp"

namespace fialloc {

void check_risk_args(ConstVecRef key_tenors, double bump) {
  const Eigen::Index nk = key_tenors.size();
  FIALLOC_REQUIRE(nk >= 1, "curve_risk: `key_tenors` is empty");
  for (Eigen::Index k = 0; k < nk; ++k) {
    FIALLOC_REQUIRE(std::isfinite(key_tenors[k]) && key_tenors[k] > 0.0 &&
                        (k == 0 || key_tenors[k] > key_tenors[k - 1]),
                    "curve_risk: `key_tenors` must be positive and strictly increasing; tenor "
                        << k << " is " << key_tenors[k]);
  }
  FIALLOC_REQUIRE(std::isfinite(bump) && bump > 0.0 && bump < 0.1,
                  "curve_risk: `bump` must be in (0, 0.1) as a decimal rate, got " << bump);
}

CurveRisk curve_risk(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef z_spreads,
                     ConstVecRef key_tenors, double bump) {
  check_risk_args(key_tenors, bump);
  check_offsets(cf, "curve_risk");
  return curve_risk_on(cf, curve, flow_segments(cf, curve), flow_tents(cf, key_tenors), z_spreads,
                       bump);
}

}  // namespace fialloc
