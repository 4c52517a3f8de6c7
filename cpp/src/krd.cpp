// fialloc: Apache-2.0
#include "fialloc/krd.hpp"

#include <algorithm>
#include <cmath>

#include "fialloc/bond.hpp"
#include "fialloc/errors.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc {

std::pair<Eigen::Index, double> tent_weights(ConstVecRef key_tenors, double t) {
  const Eigen::Index k = key_tenors.size();
  if (t <= key_tenors[0]) return {0, 1.0};
  if (t >= key_tenors[k - 1]) return {k - 1, 1.0};
  const double* first = key_tenors.data();
  const auto j = static_cast<Eigen::Index>(std::upper_bound(first, first + k, t) - first) - 1;
  const double w = (key_tenors[j + 1] - t) / (key_tenors[j + 1] - key_tenors[j]);
  return {j, w};
}

CurveRisk curve_risk(const CashflowView& cf, const ZeroCurve& curve, ConstVecRef z_spreads,
                     ConstVecRef key_tenors, double bump) {
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

  const VectorXd v = discounted_flows(cf, curve, z_spreads);
  const Eigen::Index nf = v.size();
  const auto t = cf.times.array();

  // Parallel bump via half-angle: sinh(x) = 2 sh ch and 2 cosh(x) - 2 = 4 sh^2 with sh = sinh(x/2),
  // so neither central difference loses digits to cancellation.
  Eigen::ArrayXd eh = 0.5 * bump * t;
  exp_inplace(eh.data(), nf);
  const Eigen::ArrayXd sh = 0.5 * (eh - eh.inverse());
  const Eigen::ArrayXd ch = 0.5 * (eh + eh.inverse());
  const Eigen::ArrayXd par_d = v.array() * 2.0 * sh * ch;
  const Eigen::ArrayXd par_c = v.array() * 4.0 * sh * sh;
  const Eigen::ArrayXd vt = v.array() * t;

  // Each flow touches at most two tents: the left key tenor (weight w) and the next (1 - w).
  Eigen::Matrix<Eigen::Index, Eigen::Dynamic, 1> left(nf);
  Eigen::ArrayXd w1(nf), w2(nf);
  for (Eigen::Index i = 0; i < nf; ++i) {
    const auto [k, w] = tent_weights(key_tenors, t[i]);
    left[i] = k;
    w1[i] = w;
    w2[i] = (k + 1 < nk) ? 1.0 - w : 0.0;
  }
  Eigen::ArrayXd e1 = bump * w1 * t;
  Eigen::ArrayXd e2 = bump * w2 * t;
  exp_inplace(e1.data(), nf);
  exp_inplace(e2.data(), nf);
  const Eigen::ArrayXd s1 = v.array() * 0.5 * (e1 - e1.inverse());
  const Eigen::ArrayXd s2 = v.array() * 0.5 * (e2 - e2.inverse());

  const Eigen::Index ns = cf.n_streams();
  CurveRisk r{VectorXd(ns), VectorXd(ns), VectorXd(ns), VectorXd(ns), RowMatrixXd::Zero(ns, nk)};
  for (Eigen::Index s = 0; s < ns; ++s) {
    double pv = 0.0, dur = 0.0, conv = 0.0, sdur = 0.0;
    double* row = r.krd.row(s).data();
    for (Eigen::Index i = cf.begin(s); i < cf.end(s); ++i) {
      pv += v[i];
      dur += par_d[i];
      conv += par_c[i];
      sdur += vt[i];
      row[left[i]] += s1[i];
      if (w2[i] > 0.0) row[left[i] + 1] += s2[i];
    }
    FIALLOC_REQUIRE(pv != 0.0, "curve_risk: stream " << s
                                                     << " has zero present value; durations undefined");
    r.pv[s] = pv;
    r.effective_duration[s] = dur / (bump * pv);
    r.effective_convexity[s] = conv / (bump * bump * pv);
    r.spread_duration[s] = sdur / pv;
    r.krd.row(s) /= bump * pv;
  }
  return r;
}

}  // namespace fialloc
