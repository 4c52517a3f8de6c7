// fialloc: Apache-2.0
#include "fialloc/mbs.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fialloc/errors.hpp"
#include "fialloc/kernel_support.hpp"
#include "fialloc/solver.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc {

namespace {

constexpr double kMonth = 1.0 / 12.0;
// Highest CPR any rule may produce: a pool that prepays in full in one month is a defaulted
// input, not a prepayment speed, and log(1 - CPR) must stay finite.
constexpr double kMaxCpr = 0.999999;
constexpr std::int64_t kMaxWam = 600;  // 50 years of months: longer is not a mortgage
// OAS the solver brackets (decimal): a price outside them is not a pass-through's price.
constexpr double kOasLow = -0.5, kOasHigh = 2.0;

void require_rows(Eigen::Index got, Eigen::Index n, const char* where, const char* name) {
  FIALLOC_REQUIRE(got == n, where << ": `" << name << "` has " << got << " entries for " << n
                                  << " pools");
}

}  // namespace

void check_mbs_pools(const MbsPoolsView& pools, Eigen::Index months, const char* where) {
  const Eigen::Index n = pools.wac.size();
  require_rows(pools.net_coupon.size(), n, where, "net_coupon");
  require_rows(pools.wam.size(), n, where, "wam");
  require_rows(pools.age.size(), n, where, "age");
  require_rows(pools.factor.size(), n, where, "factor");
  require_rows(pools.kind.size(), n, where, "kind");
  require_rows(pools.speed.size(), n, where, "speed");
  for (Eigen::Index i = 0; i < n; ++i) {
    FIALLOC_REQUIRE(std::isfinite(pools.wac[i]) && pools.wac[i] >= 0.0 && pools.wac[i] < 1.0,
                    where << ": pool " << i << ": `wac` must be a decimal in [0, 1), got "
                          << pools.wac[i]);
    FIALLOC_REQUIRE(std::isfinite(pools.net_coupon[i]) && pools.net_coupon[i] >= 0.0 &&
                        pools.net_coupon[i] <= pools.wac[i],
                    where << ": pool " << i << ": `net_coupon` must be in [0, wac = "
                          << pools.wac[i] << "], got " << pools.net_coupon[i]);
    FIALLOC_REQUIRE(pools.wam[i] >= 1 && pools.wam[i] <= kMaxWam,
                    where << ": pool " << i << ": `wam` must be 1.." << kMaxWam
                          << " months, got " << pools.wam[i]);
    FIALLOC_REQUIRE(pools.wam[i] <= months,
                    where << ": pool " << i << " has " << pools.wam[i]
                          << " months left but the paths cover " << months
                          << "; simulate at least that many months");
    FIALLOC_REQUIRE(pools.age[i] >= 0 && pools.age[i] <= kMaxWam,
                    where << ": pool " << i << ": `age` must be 0.." << kMaxWam
                          << " months, got " << pools.age[i]);
    FIALLOC_REQUIRE(std::isfinite(pools.factor[i]) && pools.factor[i] > 0.0 &&
                        pools.factor[i] <= 1.0,
                    where << ": pool " << i << ": `factor` must be in (0, 1], got "
                          << pools.factor[i]);
    FIALLOC_REQUIRE(pools.kind[i] >= 0 && pools.kind[i] <= 2,
                    where << ": pool " << i << ": `kind` must be 0 (CPR), 1 (PSA) or 2 (model), got "
                          << pools.kind[i]);
    const double cap = pools.kind[i] == 0 ? kMaxCpr : 1e4;
    FIALLOC_REQUIRE(std::isfinite(pools.speed[i]) && pools.speed[i] >= 0.0 && pools.speed[i] <= cap,
                    where << ": pool " << i << ": `speed` must be in [0, " << cap << "], got "
                          << pools.speed[i]);
  }
}


namespace mbs_detail {

// SMM from an annual CPR, CPR capped where a month would take everything.
double smm_of(double cpr) { return -std::expm1(std::log1p(-std::min(cpr, kMaxCpr)) * kMonth); }

namespace {
const double kMaxSmm = smm_of(kMaxCpr);
}  // namespace

// Scheduled principal per unit balance with n payments left: c / ((1 + c)^n - 1).
double amortization(double c, std::int64_t n) {
  if (c == 0.0) return 1.0 / static_cast<double>(n);
  return c / std::expm1(static_cast<double>(n) * std::log1p(c));
}

namespace {

// The per-path loops of a pool's month, in AVX-512, AVX2 and baseline builds picked at run time:
// element by element with no reductions and no contraction, so every build gives the same bits.

// Logistic exponent of the rate model's S-curve on each path, capped where exp overflows.
FIALLOC_KERNEL_CLONES
void incentive_exponents(Eigen::Index np, const double* __restrict rate, double wac,
                         double mid, double width, double* __restrict e) {
  for (Eigen::Index p = 0; p < np; ++p) e[p] = std::min((rate[p] - wac + mid) / width, 700.0);
}

// Path p's month, shared by both rules: its balance pays the scheduled principal and `smm` of
// the rest.
[[gnu::always_inline]] inline void pay_month(Eigen::Index p, double smm, double sched_rate,
                                             double net, const double* __restrict weight,
                                             double* __restrict bal, double* __restrict flow,
                                             double* __restrict paid) {
  const double sched = bal[p] * sched_rate;
  const double prin = sched + smm * (bal[p] - sched);
  flow[p] = (bal[p] * net + prin) * weight[p];
  bal[p] -= prin;
  paid[p] = prin;
}

// The rate model's month: `e` holds exp of each path's logistic exponent.
FIALLOC_KERNEL_CLONES
void advance_model(Eigen::Index np, const double* __restrict e, double scale, double smm_low,
                   double smm_range, double burnout_floor, double burn_slope, double max_smm,
                   double sched_rate, double net, const double* __restrict weight,
                   double* __restrict bal, double* __restrict flow, double* __restrict paid) {
  for (Eigen::Index p = 0; p < np; ++p) {
    const double smm = std::min(
        scale * (smm_low + smm_range / (1.0 + e[p])) * (burnout_floor + burn_slope * bal[p]),
        max_smm);
    pay_month(p, smm, sched_rate, net, weight, bal, flow, paid);
  }
}

// A month at one SMM on every path (constant CPR or PSA).
FIALLOC_KERNEL_CLONES
void advance_constant(Eigen::Index np, double smm, double sched_rate, double net,
                      const double* __restrict weight, double* __restrict bal,
                      double* __restrict flow, double* __restrict paid) {
  for (Eigen::Index p = 0; p < np; ++p) {
    pay_month(p, smm, sched_rate, net, weight, bal, flow, paid);
  }
}

}  // namespace

void pool_month(const MbsPoolsView& pools, std::int64_t i, const PrepayModel& model,
                int calendar_month, std::int64_t k, Eigen::Index np, const double* rate,
                const double* weight, double* bal, double* flow, double* paid, double* work) {
  const auto kind = static_cast<PrepayKind>(pools.kind[i]);
  const std::int64_t wam = pools.wam[i];
  const double net = pools.net_coupon[i] * kMonth;
  const double age = static_cast<double>(pools.age[i] + k);
  const double sched_rate = amortization(pools.wac[i] * kMonth, wam - k + 1);
  if (kind == PrepayKind::RateModel) {
    // The model's multipliers act on the single monthly mortality (a hazard rate), so its
    // S-curve runs between the SMMs of cpr_low and cpr_high.
    const double smm_low = smm_of(model.cpr_low);
    const double smm_range = smm_of(model.cpr_high) - smm_low;
    // The logistic's exponentials run vectorized over paths first.
    double* e = work;
    incentive_exponents(np, rate, pools.wac[i], model.incentive_mid, model.incentive_width, e);
    exp_inplace(e, np);
    const double season =
        model.seasonality[static_cast<std::size_t>((calendar_month - 1 + k - 1) % 12)];
    const double scale = pools.speed[i] * std::min(1.0, age / model.ramp_months) * season;
    const double burn_slope = (1.0 - model.burnout_floor) * pools.factor[i];
    advance_model(np, e, scale, smm_low, smm_range, model.burnout_floor, burn_slope, kMaxSmm,
                  sched_rate, net, weight, bal, flow, paid);
  } else {
    const double smm = kind == PrepayKind::Psa
                           ? smm_of(0.06 * std::min(1.0, age / 30.0) * pools.speed[i] / 100.0)
                           : smm_of(pools.speed[i]);
    advance_constant(np, smm, sched_rate, net, weight, bal, flow, paid);
  }
}

}  // namespace mbs_detail

using mbs_detail::amortization;
using mbs_detail::smm_of;

void check_prepay_model(const PrepayModel& m, const char* where) {
  FIALLOC_REQUIRE(std::isfinite(m.cpr_low) && m.cpr_low >= 0.0 && m.cpr_low < 1.0,
                  where << ": `cpr_low` must be a decimal in [0, 1), got " << m.cpr_low);
  FIALLOC_REQUIRE(std::isfinite(m.cpr_high) && m.cpr_high >= m.cpr_low && m.cpr_high < 1.0,
                  where << ": `cpr_high` must be in [cpr_low, 1), got " << m.cpr_high);
  FIALLOC_REQUIRE(std::isfinite(m.incentive_mid) && std::fabs(m.incentive_mid) < 0.2,
                  where << ": `incentive_mid` must be a decimal in (-0.2, 0.2), got "
                        << m.incentive_mid);
  FIALLOC_REQUIRE(std::isfinite(m.incentive_width) && m.incentive_width >= 1e-5 &&
                      m.incentive_width <= 0.1,
                  where << ": `incentive_width` must be in [1e-5, 0.1], got " << m.incentive_width);
  FIALLOC_REQUIRE(std::isfinite(m.ramp_months) && m.ramp_months >= 1.0 && m.ramp_months <= 360.0,
                  where << ": `ramp_months` must be in [1, 360], got " << m.ramp_months);
  FIALLOC_REQUIRE(std::isfinite(m.burnout_floor) && m.burnout_floor >= 0.0 &&
                      m.burnout_floor <= 1.0,
                  where << ": `burnout_floor` must be in [0, 1], got " << m.burnout_floor);
  for (std::size_t k = 0; k < 12; ++k) {
    FIALLOC_REQUIRE(std::isfinite(m.seasonality[k]) && m.seasonality[k] >= 0.0 &&
                        m.seasonality[k] <= 3.0,
                    where << ": `seasonality` of month " << (k + 1) << " must be in [0, 3], got "
                          << m.seasonality[k]);
  }
}

RowMatrixXd mbs_mortgage_rates(const G2Params& p, ConstVecRef times, ConstVecRef log_df_t,
                               ConstVecRef log_df_t_tenor, ConstMatRef x, ConstMatRef y,
                               double tenor, double spread) {
  const char* where = "mbs_mortgage_rates";
  check_g2(p, where);
  const Eigen::Index nt = times.size();
  FIALLOC_REQUIRE(std::isfinite(tenor) && tenor > 0.0 && tenor <= 50.0,
                  where << ": `tenor` must be in (0, 50] years, got " << tenor);
  FIALLOC_REQUIRE(std::isfinite(spread) && std::fabs(spread) < 0.2,
                  where << ": `spread` must be a decimal in (-0.2, 0.2), got " << spread);
  FIALLOC_REQUIRE(log_df_t.size() == nt && log_df_t_tenor.size() == nt,
                  where << ": `log_df_t` and `log_df_t_tenor` need one entry per time (" << nt
                        << ")");
  FIALLOC_REQUIRE(x.cols() == nt && y.cols() == nt && x.rows() == y.rows(),
                  where << ": `x` and `y` must both be paths x " << nt << " times, got "
                        << x.rows() << "x" << x.cols() << " and " << y.rows() << "x" << y.cols());
  FIALLOC_REQUIRE(x.allFinite() && y.allFinite(), where << ": `x` and `y` must be finite");
  Eigen::ArrayXd ln_a(nt);
  for (Eigen::Index k = 0; k < nt; ++k) {
    const double t = times[k];
    FIALLOC_REQUIRE(std::isfinite(t) && t >= 0.0 && (k == 0 || t > times[k - 1]),
                    where << ": `times` must be >= 0 and increasing; entry " << k << " is " << t);
    FIALLOC_REQUIRE(std::isfinite(log_df_t[k]) && std::isfinite(log_df_t_tenor[k]),
                    where << ": log discount factors at time " << t << " must be finite");
    ln_a[k] = log_df_t_tenor[k] - log_df_t[k] +
              0.5 * (g2_v(p, tenor) - g2_v(p, t + tenor) + g2_v(p, t));
  }
  const double ba = -std::expm1(-p.a * tenor) / p.a, bb = -std::expm1(-p.b * tenor) / p.b;
  RowMatrixXd out(x.rows(), nt);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    out.row(i) = spread - (ln_a.matrix().transpose() - ba * x.row(i) - bb * y.row(i)).array() / tenor;
  }
  return out;
}

MbsValues mbs_value(const MbsPoolsView& pools, const PrepayModel& model, int calendar_month,
                    ConstMatRef discount, ConstMatRef mortgage_rate, ConstVecRef target,
                    bool solve, bool antithetic, int threads) {
  const char* where = "mbs_value";
  check_prepay_model(model, where);
  const Eigen::Index np = discount.rows(), nm = discount.cols(), n = pools.wac.size();
  FIALLOC_REQUIRE(np >= 1 && nm >= 1, where << ": `discount` is empty");
  FIALLOC_REQUIRE(mortgage_rate.rows() == np && mortgage_rate.cols() == nm,
                  where << ": `mortgage_rate` is " << mortgage_rate.rows() << "x"
                        << mortgage_rate.cols() << "; expected paths x months = " << np << "x"
                        << nm);
  FIALLOC_REQUIRE(discount.allFinite() && (discount.array() > 0.0).all(),
                  where << ": `discount` must be positive and finite");
  FIALLOC_REQUIRE(mortgage_rate.allFinite(), where << ": `mortgage_rate` must be finite");
  FIALLOC_REQUIRE(calendar_month >= 1 && calendar_month <= 12,
                  where << ": `calendar_month` must be 1..12, got " << calendar_month);
  FIALLOC_REQUIRE(!antithetic || np % 2 == 0,
                  where << ": antithetic paths come in pairs; got " << np << " paths");
  check_mbs_pools(pools, nm, where);
  require_rows(target.size(), n, where, "target");
  for (Eigen::Index i = 0; i < n; ++i) {
    const bool ok = solve ? (std::isfinite(target[i]) && target[i] > 0.0 && target[i] <= 1000.0)
                          : (std::isfinite(target[i]) && target[i] > kOasLow && target[i] < kOasHigh);
    FIALLOC_REQUIRE(ok, where << ": pool " << i << ": `target` "
                              << (solve ? "price must be in (0, 1000] per 100 face"
                                        : "OAS must be a decimal in (-0.5, 2)")
                              << ", got " << target[i]);
  }

  // Months x paths copies so each month's step reads contiguous memory across paths.
  const RowMatrixXd disc_t = discount.transpose();
  const RowMatrixXd rate_t = mortgage_rate.transpose();
  MbsValues out{VectorXd(n), VectorXd(n), VectorXd(n), VectorXd(n), RowMatrixXd::Zero(n, nm)};
  detail::parallel_for(n, threads, [&](std::int64_t lo, std::int64_t hi) {
    RowMatrixXd flows;  // months x paths: discounted cash flow per unit face
    Eigen::ArrayXd balance(np), buf(np), principal(np);
    std::vector<double> mean_flow;
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::int64_t wam = pools.wam[i];
      flows.resize(wam, np);
      mean_flow.assign(static_cast<std::size_t>(wam), 0.0);
      balance.setOnes();
      for (std::int64_t k = 1; k <= wam; ++k) {
        const Eigen::Index row = k - 1;
        mbs_detail::pool_month(pools, i, model, calendar_month, k, np, rate_t.row(row).data(),
                               disc_t.row(row).data(), balance.data(), flows.row(row).data(),
                               principal.data(), buf.data());
        out.principal(i, row) = principal.mean();
        mean_flow[static_cast<std::size_t>(row)] = 100.0 * flows.row(row).mean();
      }
      // Value at spread s: sum_k mean_flow_k e^{-s k / 12}; decreasing in s.
      auto value_at = [&](double s) {
        double v = 0.0, dv = 0.0;
        for (std::int64_t k = 1; k <= wam; ++k) {
          const double t = static_cast<double>(k) * kMonth;
          const double term = mean_flow[static_cast<std::size_t>(k - 1)] * std::exp(-s * t);
          v += term;
          dv -= t * term;
        }
        return std::make_pair(v, dv);
      };
      double oas = target[i];
      if (solve) {
        const double price = target[i];
        oas = solve_bracketed_newton(
            [&](double s) {
              auto [v, dv] = value_at(s);
              return std::make_pair(v - price, dv);
            },
            kOasLow, kOasHigh, 0.0, 1e-13, 200, "mbs_value: OAS");
      }
      const auto [value, dv] = value_at(oas);
      out.oas[i] = oas;
      out.value[i] = value;
      out.spread_dv[i] = -dv;
      // Path values at the OAS, pair-averaged when antithetic, for the standard error.
      buf.setZero();
      for (std::int64_t k = 1; k <= wam; ++k) {
        buf += flows.row(k - 1).array().transpose() * (100.0 * std::exp(-oas * static_cast<double>(k) * kMonth));
      }
      Eigen::ArrayXd samples = buf;
      if (antithetic) {
        samples = Eigen::ArrayXd(np / 2);
        for (Eigen::Index p = 0; p < np / 2; ++p) samples[p] = 0.5 * (buf[2 * p] + buf[2 * p + 1]);
      }
      const auto m = static_cast<double>(samples.size());
      out.std_error[i] = m > 1.0 ? std::sqrt((samples - samples.mean()).square().sum() / (m - 1.0) / m)
                                 : 0.0;
    }
  });
  return out;
}

}  // namespace fialloc
