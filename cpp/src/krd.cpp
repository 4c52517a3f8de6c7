// fialloc: Apache-2.0
#include "fialloc/krd.hpp"

#include <cmath>

#include "fialloc/bond.hpp"
#include "fialloc/errors.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc {

namespace {

// sinh of every element. The bumps are tiny (1 bp x 30 years = 0.003), where an odd Taylor
// polynomial is exact to rounding (truncation below 1e-17 relative for |x| <= 0.25) and
// vectorizes; larger arguments take the exponential form.
Eigen::ArrayXd sinh_array(const Eigen::ArrayXd& x, double max_abs) {
  if (max_abs <= 0.25) {
    const Eigen::ArrayXd x2 = x * x;
    return x * (1.0 + x2 / 6.0 *
                          (1.0 + x2 / 20.0 * (1.0 + x2 / 42.0 * (1.0 + x2 / 72.0 * (1.0 + x2 / 110.0)))));
  }
  Eigen::ArrayXd e = x;
  exp_inplace(e.data(), e.size());
  return 0.5 * (e - e.inverse());
}

}  // namespace

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
  const double max_arg = nf > 0 ? bump * t.maxCoeff() : 0.0;

  // Central differences in sinh form: P(-x) - P(+x) = 2 sum v sinh(x) and
  // P(-x) + P(+x) - 2P = 4 sum v sinh(x/2)^2, free of cancellation.
  const Eigen::ArrayXd vt = v.array() * t;
  const Eigen::ArrayXd par_d = v.array() * sinh_array(bump * t, max_arg);
  const Eigen::ArrayXd half = sinh_array(0.5 * bump * t, max_arg);
  const Eigen::ArrayXd par_c = 4.0 * v.array() * half * half;

  // Each flow touches at most two tents: the left key tenor (weight w) and the next (1 - w).
  Eigen::Matrix<Eigen::Index, Eigen::Dynamic, 1> left(nf);
  Eigen::ArrayXd w1(nf), w2(nf);
  for (Eigen::Index s = 0; s < cf.n_streams(); ++s) {
    Eigen::Index k = 0;  // number of key tenors <= t, walked forward along the sorted flows
    for (Eigen::Index i = cf.begin(s); i < cf.end(s); ++i) {
      while (k < nk && t[i] >= key_tenors[k]) ++k;
      if (k == 0 || k == nk) {
        left[i] = k == 0 ? 0 : nk - 1;
        w1[i] = 1.0;
        w2[i] = 0.0;
      } else {
        left[i] = k - 1;
        w1[i] = (key_tenors[k] - t[i]) / (key_tenors[k] - key_tenors[k - 1]);
        w2[i] = 1.0 - w1[i];
      }
    }
  }
  const Eigen::ArrayXd s1 = v.array() * sinh_array(bump * w1 * t, max_arg);
  const Eigen::ArrayXd s2 = v.array() * sinh_array(bump * w2 * t, max_arg);

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
