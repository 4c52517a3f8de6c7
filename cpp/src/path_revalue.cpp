// fialloc: Apache-2.0
#include "fialloc/path_revalue.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "fialloc/errors.hpp"
#include "fialloc/kernel_support.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc {

namespace {

using detail::b_fn;
using detail::check_finite;
using detail::check_grid;
using detail::HorizonPlan;

// Paths revalued together: each date's zero-bond exponential and each holder's multiply-add run
// over a block of this many paths. A short last block is padded, so every path goes through the
// same instructions wherever it sits in a call.
constexpr Eigen::Index kBlock = 8;

void check_holdings(const Holdings& hd, Eigen::Index ns, const char* where) {
  const Eigen::Index nh = hd.n_holders(), nk = hd.streams.size();
  FIALLOC_REQUIRE(hd.offsets.size() >= 2 && hd.offsets[0] == 0 && hd.offsets[nh] == nk,
                  where << ": `holder_offsets` must start at 0 and end at " << nk
                        << " (the number of holdings), with at least one holder");
  FIALLOC_REQUIRE(hd.units.size() == nk, where << ": `holder_units` has " << hd.units.size()
                                               << " entries for " << nk << " holdings");
  for (Eigen::Index m = 0; m < nh; ++m) {
    FIALLOC_REQUIRE(hd.offsets[m + 1] >= hd.offsets[m],
                    where << ": `holder_offsets` decrease at holder " << m);
  }
  for (Eigen::Index k = 0; k < nk; ++k) {
    FIALLOC_REQUIRE(hd.streams[k] >= 0 && hd.streams[k] < ns,
                    where << ": holding " << k << " names stream " << hd.streams[k]
                          << "; expected 0.." << (ns - 1));
    FIALLOC_REQUIRE(std::isfinite(hd.units[k]),
                    where << ": `holder_units` entry " << k << " is " << hd.units[k]);
  }
}

// F[j * kBlock + w] = ln A_j - B_a x_w - B_b y_w - ds_{g_j, w} tau_j, for the block's paths.
FIALLOC_KERNEL_CLONES
void exponents(const HorizonPlan& pl, const double* xs, const double* ys, const double* ds,
               double* f) {
  const auto n = static_cast<Eigen::Index>(pl.ln_a.size());
  for (Eigen::Index j = 0; j < n; ++j) {
    double* row = f + j * kBlock;
    const double la = pl.ln_a[j], ba = pl.ba[j], bb = pl.bb[j];
    for (Eigen::Index w = 0; w < kBlock; ++w) row[w] = la - ba * xs[w] - bb * ys[w];
    if (ds != nullptr && pl.group[j] >= 0) {
      const double* d = ds + pl.group[j] * kBlock;
      const double tau = pl.tau[j];
      for (Eigen::Index w = 0; w < kBlock; ++w) row[w] -= d[w] * tau;
    }
  }
}

// acc[w] = sum over the holder's dates of coef x F: even and odd dates in two running sums
// (independent additions overlap in the pipeline), added at the end; a fixed order either way.
FIALLOC_KERNEL_CLONES
void holder_sum(const double* coef, const std::int32_t* node, Eigen::Index n, const double* f,
                double* acc) {
  double even[kBlock] = {}, odd[kBlock] = {};
  Eigen::Index k = 0;
  for (; k + 1 < n; k += 2) {
    const double c0 = coef[k], c1 = coef[k + 1];
    const double* r0 = f + static_cast<Eigen::Index>(node[k]) * kBlock;
    const double* r1 = f + static_cast<Eigen::Index>(node[k + 1]) * kBlock;
    for (Eigen::Index w = 0; w < kBlock; ++w) {
      even[w] += c0 * r0[w];
      odd[w] += c1 * r1[w];
    }
  }
  if (k < n) {
    const double c0 = coef[k];
    const double* r0 = f + static_cast<Eigen::Index>(node[k]) * kBlock;
    for (Eigen::Index w = 0; w < kBlock; ++w) even[w] += c0 * r0[w];
  }
  for (Eigen::Index w = 0; w < kBlock; ++w) acc[w] = even[w] + odd[w];
}

}  // namespace

G2Revaluation::G2Revaluation(const G2Params& p, const CashflowView& cf, ConstVecRef log_df_flows,
                             ConstVecRef z_spreads, ConstVecRef horizons, ConstVecRef log_df_h,
                             const Holdings& holdings, ConstIdxRef groups, Eigen::Index n_groups) {
  const char* where = "g2_revalue";
  check_g2(p, where);
  check_layout(cf, where);
  const Eigen::Index nf = cf.times.size(), ns = cf.n_streams(), nh = horizons.size();
  FIALLOC_REQUIRE(nf < (Eigen::Index{1} << 31), where << ": more than 2^31 cash flows");
  check_finite(log_df_flows, nf, where, "log_df_flows");
  check_finite(z_spreads, ns, where, "z_spreads");
  check_grid(horizons, where, "horizons", true);
  check_finite(log_df_h, nh, where, "log_df_h");
  check_holdings(holdings, ns, where);
  const Eigen::Index nm = holdings.n_holders();
  const bool moves = groups.size() > 0;
  Eigen::Index ng = 0;
  if (moves) {
    FIALLOC_REQUIRE(groups.size() == ns, where << ": `groups` has " << groups.size()
                                               << " entries for " << ns << " streams");
    ng = n_groups;
    FIALLOC_REQUIRE(ng >= 1, where << ": `spread_moves` must be paths x (horizons * groups) with "
                                      "at least one group");
    for (Eigen::Index s = 0; s < ns; ++s) {
      FIALLOC_REQUIRE(groups[s] >= -1 && groups[s] < ng,
                      where << ": `groups` of stream " << s << " is " << groups[s]
                            << "; expected -1 or 0.." << (ng - 1));
    }
  }
  n_horizons_ = nh;
  n_holders_ = nm;
  n_groups_ = ng;
  moves_ = moves;
  auto group_of = [&](Eigen::Index s) { return moves ? groups[s] : std::int64_t{-1}; };
  // Distinct (date, spread group) pairs of the held streams, sorted by date: the dates after a
  // horizon are then a suffix, and each flow knows its date's index.
  std::vector<char> held(static_cast<std::size_t>(ns), 0);
  for (Eigen::Index k = 0; k < holdings.streams.size(); ++k) {
    held[static_cast<std::size_t>(holdings.streams[k])] = 1;
  }
  std::vector<std::pair<double, std::int64_t>> dates;
  for (Eigen::Index s = 0; s < ns; ++s) {
    if (!held[static_cast<std::size_t>(s)]) continue;
    for (Eigen::Index i = cf.begin(s); i < cf.end(s); ++i) dates.emplace_back(cf.times[i], group_of(s));
  }
  std::sort(dates.begin(), dates.end());
  dates.erase(std::unique(dates.begin(), dates.end()), dates.end());
  const auto nd = static_cast<Eigen::Index>(dates.size());
  std::vector<std::int32_t> date_of(static_cast<std::size_t>(nf), -1);
  std::vector<double> log_df_date(static_cast<std::size_t>(nd));
  for (Eigen::Index s = 0; s < ns; ++s) {
    if (!held[static_cast<std::size_t>(s)]) continue;
    for (Eigen::Index i = cf.begin(s); i < cf.end(s); ++i) {
      const auto it = std::lower_bound(dates.begin(), dates.end(), std::make_pair(cf.times[i], group_of(s)));
      const auto j = static_cast<std::int32_t>(it - dates.begin());
      date_of[static_cast<std::size_t>(i)] = j;
      log_df_date[static_cast<std::size_t>(j)] = log_df_flows[i];
    }
  }

  plans_.assign(static_cast<std::size_t>(nh), HorizonPlan{});
  std::vector<double> acc(static_cast<std::size_t>(nd), 0.0);
  std::vector<char> touched(static_cast<std::size_t>(nd), 0);
  std::vector<std::int32_t> used;
  for (Eigen::Index h = 0; h < nh; ++h) {
    const double th = horizons[h], vh = g2_v(p, th);
    HorizonPlan& pl = plans_[static_cast<std::size_t>(h)];
    pl.first_node = std::upper_bound(dates.begin(), dates.end(), th,
                                     [](double t, const auto& d) { return t < d.first; }) -
                    dates.begin();
    for (Eigen::Index j = pl.first_node; j < nd; ++j) {
      const double t = dates[static_cast<std::size_t>(j)].first, tau = t - th;
      pl.ln_a.push_back(log_df_date[static_cast<std::size_t>(j)] - log_df_h[h] +
                        0.5 * (g2_v(p, tau) - g2_v(p, t) + vh));
      pl.ba.push_back(b_fn(p.a, tau));
      pl.bb.push_back(b_fn(p.b, tau));
      pl.tau.push_back(tau);
      pl.group.push_back(dates[static_cast<std::size_t>(j)].second);
    }
    pl.row.assign(static_cast<std::size_t>(nm) + 1, 0);
    for (Eigen::Index m = 0; m < nm; ++m) {
      used.clear();
      for (Eigen::Index k = holdings.offsets[m]; k < holdings.offsets[m + 1]; ++k) {
        const Eigen::Index s = holdings.streams[k];
        const double u = holdings.units[k];
        for (Eigen::Index i = cf.begin(s); i < cf.end(s); ++i) {
          if (cf.times[i] <= th) continue;
          const std::int32_t j = date_of[static_cast<std::size_t>(i)];
          if (!touched[static_cast<std::size_t>(j)]) {
            touched[static_cast<std::size_t>(j)] = 1;
            used.push_back(j);
          }
          acc[static_cast<std::size_t>(j)] +=
              u * cf.amounts[i] * std::exp(-z_spreads[s] * (cf.times[i] - th));
        }
      }
      std::sort(used.begin(), used.end());
      for (const std::int32_t j : used) {
        pl.node.push_back(static_cast<std::int32_t>(j - pl.first_node));
        pl.coef.push_back(acc[static_cast<std::size_t>(j)]);
        acc[static_cast<std::size_t>(j)] = 0.0;
        touched[static_cast<std::size_t>(j)] = 0;
      }
      pl.row[static_cast<std::size_t>(m) + 1] = static_cast<Eigen::Index>(pl.node.size());
    }
  }

}

RowMatrixXd G2Revaluation::revalue(ConstMatRef x, ConstMatRef y, ConstMatRef spread_moves,
                                   int threads) const {
  const char* where = "g2_revalue";
  const Eigen::Index nh = n_horizons_, nm = n_holders_, ng = n_groups_;
  const bool moves = moves_;
  FIALLOC_REQUIRE(x.cols() == nh && y.cols() == nh && x.rows() == y.rows(),
                  where << ": `x` and `y` must both be paths x " << nh << " horizons, got "
                        << x.rows() << "x" << x.cols() << " and " << y.rows() << "x" << y.cols());
  FIALLOC_REQUIRE(x.allFinite() && y.allFinite(), where << ": `x` and `y` must be finite");
  const Eigen::Index np = x.rows();
  if (moves) {
    FIALLOC_REQUIRE(spread_moves.rows() == np && spread_moves.cols() == nh * ng,
                    where << ": `spread_moves` must be paths x (horizons * groups), got "
                          << spread_moves.rows() << "x" << spread_moves.cols());
    FIALLOC_REQUIRE(spread_moves.allFinite(), where << ": `spread_moves` must be finite");
  }
  const std::vector<HorizonPlan>& plans = plans_;
  RowMatrixXd out(np, nh * nm);
  const std::int64_t blocks = (np + kBlock - 1) / kBlock;
  detail::parallel_for(blocks, threads, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<double> f;
    std::vector<double> ds(static_cast<std::size_t>(std::max<Eigen::Index>(ng, 1) * kBlock));
    double xs[kBlock], ys[kBlock], sum[kBlock];
    for (std::int64_t blk = lo; blk < hi; ++blk) {
      const Eigen::Index p0 = blk * kBlock, nb = std::min(kBlock, np - p0);
      for (Eigen::Index h = 0; h < nh; ++h) {
        const HorizonPlan& pl = plans[static_cast<std::size_t>(h)];
        for (Eigen::Index w = 0; w < kBlock; ++w) {
          const Eigen::Index row = p0 + std::min(w, nb - 1);  // padding repeats the last path
          xs[w] = x(row, h);
          ys[w] = y(row, h);
          for (Eigen::Index g = 0; g < ng; ++g) ds[static_cast<std::size_t>(g * kBlock + w)] = spread_moves(row, h * ng + g);
        }
        const auto live = static_cast<Eigen::Index>(pl.ln_a.size());
        f.resize(static_cast<std::size_t>(live * kBlock));
        exponents(pl, xs, ys, moves ? ds.data() : nullptr, f.data());
        exp_inplace(f.data(), live * kBlock);
        for (Eigen::Index m = 0; m < nm; ++m) {
          const Eigen::Index b0 = pl.row[static_cast<std::size_t>(m)];
          holder_sum(pl.coef.data() + b0, pl.node.data() + b0,
                     pl.row[static_cast<std::size_t>(m) + 1] - b0, f.data(), sum);
          for (Eigen::Index w = 0; w < nb; ++w) out(p0 + w, h * nm + m) = sum[w];
        }
      }
    }
  });
  return out;
}

RowMatrixXd g2_revalue(const G2Params& p, const CashflowView& cf, ConstVecRef log_df_flows,
                       ConstVecRef z_spreads, ConstVecRef horizons, ConstVecRef log_df_h,
                       ConstMatRef x, ConstMatRef y, const Holdings& holdings, ConstIdxRef groups,
                       ConstMatRef spread_moves, int threads) {
  // The groups' count is read off the moves' columns (horizons x groups); the plan checks it.
  const Eigen::Index nh = horizons.size();
  const Eigen::Index ng = groups.size() > 0 && nh > 0 ? spread_moves.cols() / nh : 0;
  return G2Revaluation(p, cf, log_df_flows, z_spreads, horizons, log_df_h, holdings, groups, ng)
      .revalue(x, y, spread_moves, threads);
}

RowMatrixXd bank_monthly_cash(const std::vector<ConstMatRef>& weights,
                              const std::vector<ConstMatRef>& cashes, Eigen::Index n_paths,
                              Eigen::Index holders, ConstIdxRef cols) {
  const char* where = "bank_monthly_cash";
  FIALLOC_REQUIRE(weights.size() == cashes.size(), where << ": " << weights.size()
                                                         << " weights for " << cashes.size()
                                                         << " cash blocks");
  // Holders are a book's managers: the cap keeps every column count below int64's range.
  FIALLOC_REQUIRE(n_paths >= 0 && holders >= 0 && holders <= (std::int64_t{1} << 31),
                  where << ": needs paths >= 0 and holders in [0, 2^31], got " << n_paths
                        << " and " << holders);
  Eigen::Index months = 0;
  for (Eigen::Index j = 0; j < cols.size(); ++j) {
    FIALLOC_REQUIRE(cols[j] >= 0 && cols[j] < (std::int64_t{1} << 31),
                    where << ": `cols` entry " << j << " is " << cols[j]
                          << "; months are 0-based, below 2^31");
    months = std::max<Eigen::Index>(months, cols[j] + 1);
  }
  for (std::size_t b = 0; b < weights.size(); ++b) {
    FIALLOC_REQUIRE(weights[b].rows() == n_paths && weights[b].cols() >= months,
                    where << ": block " << b << "'s weights are " << weights[b].rows() << "x"
                          << weights[b].cols() << "; need " << n_paths << " paths x at least "
                          << months << " months");
    FIALLOC_REQUIRE((cashes[b].rows() == 1 || cashes[b].rows() == n_paths) &&
                        cashes[b].cols() >= months * holders,
                    where << ": block " << b << "'s cash is " << cashes[b].rows() << "x"
                          << cashes[b].cols() << "; need 1 or " << n_paths
                          << " rows x at least " << months << " months * " << holders
                          << " holders");
  }
  RowMatrixXd out(n_paths, cols.size() * holders);
  if (weights.empty()) out.setZero();  // no cash: nothing banked
  if (weights.empty() || out.size() == 0) return out;
  // The output columns each month fills.
  std::vector<std::vector<Eigen::Index>> filled(static_cast<std::size_t>(months));
  for (Eigen::Index j = 0; j < cols.size(); ++j) {
    filled[static_cast<std::size_t>(cols[j])].push_back(j);
  }
  std::vector<double> month(static_cast<std::size_t>(holders));
  std::vector<double> banked(static_cast<std::size_t>(holders));
  for (Eigen::Index p = 0; p < n_paths; ++p) {
    std::fill(banked.begin(), banked.end(), 0.0);
    for (Eigen::Index k = 0; k < months; ++k) {
      std::fill(month.begin(), month.end(), 0.0);
      for (std::size_t b = 0; b < weights.size(); ++b) {
        const double w = weights[b](p, k);
        const double* cash = cashes[b].row(cashes[b].rows() == 1 ? 0 : p).data() + k * holders;
        for (Eigen::Index m = 0; m < holders; ++m) month[m] += w * cash[m];
      }
      for (Eigen::Index m = 0; m < holders; ++m) banked[m] = banked[m] + month[m];
      for (const Eigen::Index j : filled[static_cast<std::size_t>(k)]) {
        std::copy(banked.begin(), banked.end(), out.row(p).data() + j * holders);
      }
    }
  }
  return out;
}

}  // namespace fialloc
