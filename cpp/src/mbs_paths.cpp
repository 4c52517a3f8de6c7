// fialloc: Apache-2.0
#include "fialloc/mbs_paths.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fialloc/errors.hpp"
#include "fialloc/kernel_support.hpp"

namespace fialloc {

namespace {

constexpr double kMonth = 1.0 / 12.0;

double b_of(double k, double tau) { return -std::expm1(-k * tau) / k; }

}  // namespace

MbsPathValues mbs_path_values(const MbsPoolsView& pools, const PrepayModel& model,
                              int calendar_month, const G2Params& g2, ConstVecRef log_df,
                              ConstVecRef log_df_tenor, double tenor, double mortgage_spread,
                              ConstMatRef x, ConstMatRef y, ConstMatRef bank,
                              ConstIdxRef horizon_months, ConstVecRef spread, bool realized,
                              int threads) {
  const char* where = "mbs_path_values";
  check_prepay_model(model, where);
  check_g2(g2, where);
  FIALLOC_REQUIRE(calendar_month >= 1 && calendar_month <= 12,
                  where << ": `calendar_month` must be 1..12, got " << calendar_month);
  FIALLOC_REQUIRE(std::isfinite(tenor) && tenor > 0.0 && tenor <= 50.0,
                  where << ": `tenor` must be in (0, 50] years, got " << tenor);
  FIALLOC_REQUIRE(std::isfinite(mortgage_spread) && std::fabs(mortgage_spread) < 0.2,
                  where << ": `mortgage_spread` must be a decimal in (-0.2, 0.2), got "
                        << mortgage_spread);
  const Eigen::Index np = x.rows(), nk = x.cols(), n = pools.wac.size();
  const Eigen::Index nh = horizon_months.size();
  FIALLOC_REQUIRE(y.rows() == np && y.cols() == nk && bank.rows() == np && bank.cols() == nk,
                  where << ": `x`, `y` and `bank` must all be paths x months; got " << np << "x"
                        << nk << ", " << y.rows() << "x" << y.cols() << " and " << bank.rows()
                        << "x" << bank.cols());
  FIALLOC_REQUIRE(nk >= 1, where << ": the grid has no months");
  // Factors are decimal rates: beyond +-100% a path is not a rate path.
  FIALLOC_REQUIRE(x.allFinite() && y.allFinite() && (x.array().abs() < 1.0).all() &&
                      (y.array().abs() < 1.0).all(),
                  where << ": `x` and `y` must be finite decimal rate factors within +-1");
  FIALLOC_REQUIRE(bank.allFinite() && (bank.array() > 0.0).all(),
                  where << ": `bank` must be positive and finite");
  FIALLOC_REQUIRE(log_df.size() == nk && log_df_tenor.size() == nk,
                  where << ": `log_df` and `log_df_tenor` need one entry per grid month (" << nk
                        << "); got " << log_df.size() << " and " << log_df_tenor.size());
  FIALLOC_REQUIRE(log_df.allFinite() && log_df_tenor.allFinite(),
                  where << ": log discount factors must be finite");
  check_mbs_pools(pools, realized ? nk : 600, where);
  FIALLOC_REQUIRE(spread.size() == n, where << ": `spread` has " << spread.size()
                                            << " entries for " << n << " pools");
  for (Eigen::Index i = 0; i < n; ++i) {
    FIALLOC_REQUIRE(std::isfinite(spread[i]) && std::fabs(spread[i]) < 1.0,
                    where << ": pool " << i << ": `spread` must be a decimal in (-1, 1), got "
                          << spread[i]);
  }
  for (Eigen::Index j = 0; j < nh; ++j) {
    FIALLOC_REQUIRE(horizon_months[j] >= 1 && horizon_months[j] <= nk &&
                        (j == 0 || horizon_months[j] > horizon_months[j - 1]),
                    where << ": `horizon_months` must be increasing months in 1.." << nk
                          << "; entry " << j << " is " << horizon_months[j]);
  }

  // Months x paths copies so each month's step reads contiguous memory across paths.
  const RowMatrixXd x_t = x.transpose(), y_t = y.transpose(), bank_t = bank.transpose();
  // The mortgage rate at the start of month k + 1 is spread - (r0_k - rx x - ry y) / tenor
  // with the state at k / 12 (ln P(t, t + tenor | x, y) = r0_k - rx x - ry y, see g2.hpp).
  const double inv_tenor = 1.0 / tenor;
  const double rx_t = b_of(g2.a, tenor) * inv_tenor, ry_t = b_of(g2.b, tenor) * inv_tenor;
  std::vector<double> r0(static_cast<std::size_t>(nk));
  for (Eigen::Index k = 0; k < nk; ++k) {
    const double t = static_cast<double>(k) * kMonth;
    r0[static_cast<std::size_t>(k)] =
        log_df_tenor[k] - log_df[k] + 0.5 * (g2_v(g2, tenor) - g2_v(g2, t + tenor) + g2_v(g2, t));
  }
  const std::int64_t last_h = nh ? horizon_months[nh - 1] : 0;

  const Eigen::Index cells = nh * n;
  const Eigen::Index kept = realized ? cells : 0;
  MbsPathValues out{RowMatrixXd::Zero(np, cells), RowMatrixXd::Zero(np, cells),
                    RowMatrixXd::Zero(np, kept), RowMatrixXd::Zero(np, kept)};
  detail::parallel_for(n, threads, [&](std::int64_t lo, std::int64_t hi) {
    Eigen::ArrayXd bal(np), paid(np), work(np), rate(np), banked(np);
    Eigen::ArrayXd value(np), dv(np);
    RowMatrixXd flows;  // months x paths: each month's cash x bank weight on the path
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::int64_t wam = pools.wam[i];
      const std::int64_t months = realized ? wam : std::min(wam, last_h);
      flows.resize(months, np);
      bal.setOnes();
      banked.setZero();
      std::int64_t k = 0;  // months paid so far on the path
      // Cash per unit of today's face times the bank weight; the outputs scale by 100 once.
      auto path_month = [&]() {
        const double c0 = mortgage_spread - r0[static_cast<std::size_t>(k)] * inv_tenor;
        if (k == 0) {
          rate.setConstant(c0);  // every path starts at today's curve
        } else {
          const double* xs = x_t.row(k - 1).data();
          const double* ys = y_t.row(k - 1).data();
          for (Eigen::Index p = 0; p < np; ++p) rate[p] = c0 + rx_t * xs[p] + ry_t * ys[p];
        }
        double* row = flows.row(k).data();
        mbs_detail::pool_month(pools, i, model, calendar_month, k + 1, np, rate.data(),
                               bank_t.row(k).data(), bal.data(), row, paid.data(), work.data());
        for (Eigen::Index p = 0; p < np; ++p) banked[p] += row[p];
        ++k;
      };
      for (Eigen::Index j = 0; j < nh; ++j) {
        const std::int64_t m_h = horizon_months[j];
        while (k < std::min(m_h, wam)) path_month();
        const Eigen::Index col = j * n + i;
        for (Eigen::Index p = 0; p < np; ++p) out.banked(p, col) = 100.0 * banked[p];
        if (m_h >= wam) continue;  // paid off by the horizon
        for (Eigen::Index p = 0; p < np; ++p) out.balance(p, col) = bal[p];
      }
      if (!realized) continue;
      // The path's own flows after each horizon, at the spread, over the bank weight then:
      // backwards, R_k = q (f_{k+1} + R_{k+1}) and D_k = q D_{k+1} + R_k / 12 with
      // q = exp(-spread / 12) are the flows after month k discounted to it and minus their
      // derivative in the spread.
      while (k < wam) path_month();
      const double q = std::exp(-spread[i] * kMonth);
      value.setZero();
      dv.setZero();
      Eigen::Index j = nh - 1;
      while (j >= 0 && horizon_months[j] >= wam) --j;
      for (std::int64_t m = wam - 1; m >= 0 && j >= 0; --m) {
        const double* f = flows.row(m).data();
        for (Eigen::Index p = 0; p < np; ++p) {
          value[p] = q * (f[p] + value[p]);
          dv[p] = q * dv[p] + value[p] * kMonth;
        }
        if (m != horizon_months[j]) continue;
        const Eigen::Index col = j * n + i;
        for (Eigen::Index p = 0; p < np; ++p) {
          out.realized(p, col) = 100.0 * value[p] / bank(p, m - 1);
          out.realized_dv(p, col) = 100.0 * dv[p] / bank(p, m - 1);
        }
        --j;
      }
    }
  });
  return out;
}

}  // namespace fialloc
