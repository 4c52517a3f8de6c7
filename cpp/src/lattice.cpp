// fialloc: Apache-2.0
#include "fialloc/lattice.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "fialloc/errors.hpp"
#include "fialloc/kernel_support.hpp"
#include "fialloc/solver.hpp"

namespace fialloc {

namespace {

constexpr double kMinReversion = 1e-6;
constexpr double kMaxReversion = 100.0;
// Nodes on either side of the centre: beyond, a step's branching is meaningless.
constexpr double kMaxNodes = 1e8;
constexpr double kMinVol = 1e-6;
constexpr double kMaxVol = 1.0;
constexpr std::int64_t kMaxSteps = 100000;
// Times closer than this (years, about 3 ms) are the same grid time.
constexpr double kSameTime = 1e-10;
constexpr double kSpreadTol = 1e-12;
constexpr int kMaxIter = 200;

// One step of many curves' values, stored curve-innermost (nc per node): node k's children
// start at child[k] (three consecutive nodes of the next step) with probabilities p[3k..3k+2].
// The node discount exp(-x_k dt) is shared; each curve c has its drift's discount g[c].

// Backward: out[k][c] = node[k] g[c] sum_b p_b v[child[k] + b][c].
FIALLOC_KERNEL_CLONES void roll_back_step(std::size_t w, std::size_t nc, const std::size_t* child,
                                          const double* p, const double* node, const double* g,
                                          const double* v, double* out) {
  for (std::size_t k = 0; k < w; ++k) {
    const double* v0 = v + child[k] * nc;
    const double* v1 = v0 + nc;
    const double* v2 = v1 + nc;
    const double p0 = p[3 * k], p1 = p[3 * k + 1], p2 = p[3 * k + 2];
    double* o = out + k * nc;
    for (std::size_t c = 0; c < nc; ++c) {
      o[c] = node[k] * g[c] * (p0 * v0[c] + p1 * v1[c] + p2 * v2[c]);
    }
  }
}

// Forward (Arrow-Debreu prices): next[child[k] + b][c] += q[k][c] g[c] node[k] p_b.
FIALLOC_KERNEL_CLONES void spread_step(std::size_t w, std::size_t nc, const std::size_t* child,
                                       const double* p, const double* node, const double* g,
                                       const double* q, double* next) {
  for (std::size_t k = 0; k < w; ++k) {
    const double* from = q + k * nc;
    for (std::size_t b = 0; b < 3; ++b) {
      const double pb = p[3 * k + b] * node[k];
      double* to = next + (child[k] + b) * nc;
      for (std::size_t c = 0; c < nc; ++c) to[c] += from[c] * g[c] * pb;
    }
  }
}

// One stream's grid, tree and the events (flows, exercise) at each grid time.
class Lattice {
 public:
  // The geometry only (grid, nodes, branching, events): it does not depend on the curve.
  Lattice(const HullWhiteParams& p, const CashflowView& cf, const ExerciseView& ex,
          Eigen::Index s, std::int64_t steps) {
    build_grid(cf, ex, s, steps);
    build_tree(p);
    build_branches();
    place_events(cf, ex, s);
  }
  Lattice(const HullWhiteParams& p, const CashflowView& cf, const ExerciseView& ex,
          const ZeroCurve& curve, Eigen::Index s, std::int64_t steps)
      : Lattice(p, cf, ex, s, steps) {
    fit(curve);
  }

  const std::vector<double>& times() const { return t_; }

  //! Value at spread `spread` and its derivative in the spread.
  std::pair<double, double> rollback(double spread) const {
    const std::size_t n = t_.size() - 1;
    std::vector<double> v(static_cast<std::size_t>(width_[n]), 0.0), d(v.size(), 0.0);
    adjust(n, v, d);
    std::vector<double> vn, dn;
    for (std::size_t i = n; i-- > 0;) {
      const double dt = t_[i + 1] - t_[i];
      const int w = width_[i];
      vn.assign(static_cast<std::size_t>(w), 0.0);
      dn.assign(static_cast<std::size_t>(w), 0.0);
      // exp(-(x_q + phi + s) dt) node by node: x_q steps by dx, so the factor is a power.
      double disc = std::exp(-(jmin_[i] * dx_[i] + phi_[i] + spread) * dt);
      const double ratio = std::exp(-dx_[i] * dt);
      for (int q = 0; q < w; ++q, disc *= ratio) {
        const Branch br = branch(i, q);
        const double cont = br.p[0] * v[br.c] + br.p[1] * v[br.c + 1] + br.p[2] * v[br.c + 2];
        const double dcont = br.p[0] * d[br.c] + br.p[1] * d[br.c + 1] + br.p[2] * d[br.c + 2];
        vn[static_cast<std::size_t>(q)] = disc * cont;
        dn[static_cast<std::size_t>(q)] = disc * dcont - dt * disc * cont;
      }
      std::swap(v, vn);
      std::swap(d, dn);
      if (i > 0) adjust(i, v, d);  // events at time 0 are not part of the value
    }
    return {v[0], d[0]};
  }

  /*! Values at spread `spread` on `nc` curves at once: `log_df[i * nc + c]` is curve c's
      ln P(0, t_{i+1}) at grid time i + 1. Each curve has its own fitted drift on this one
      geometry, so node values differ between curves only through the drift; node values are
      stored curve-innermost, which makes every node's step one vectorizable loop over the
      curves, the branching and the node discount being shared. */
  std::vector<double> values_on_curves(const std::vector<double>& log_df, std::size_t nc,
                                       double spread) const {
    const std::size_t n = t_.size() - 1;
    // phi[i * nc + c]: curve c's drift over step i (forward induction, as fit()).
    std::vector<double> phi(n * nc), q(nc, 1.0), next, node, value(nc), p;
    std::vector<std::size_t> child;
    for (std::size_t i = 0; i < n; ++i) {
      const double dt = t_[i + 1] - t_[i];
      const auto w = static_cast<std::size_t>(width_[i]);
      node_discounts(i, node);
      branches(i, child, p);
      std::fill(value.begin(), value.end(), 0.0);
      for (std::size_t k = 0; k < w; ++k) {
        for (std::size_t c = 0; c < nc; ++c) value[c] += q[k * nc + c] * node[k];
      }
      for (std::size_t c = 0; c < nc; ++c) {
        phi[i * nc + c] = (std::log(value[c]) - log_df[i * nc + c]) / dt;
        value[c] = std::exp(-phi[i * nc + c] * dt);  // reused as the drift's discount
      }
      next.assign(static_cast<std::size_t>(width_[i + 1]) * nc, 0.0);
      spread_step(w, nc, child.data(), p.data(), node.data(), value.data(), q.data(),
                  next.data());
      std::swap(q, next);
    }
    std::vector<double> v(static_cast<std::size_t>(width_[n]) * nc, 0.0), vn, g(nc);
    adjust_many(n, v);
    for (std::size_t i = n; i-- > 0;) {
      const double dt = t_[i + 1] - t_[i];
      const auto w = static_cast<std::size_t>(width_[i]);
      node_discounts(i, node);
      branches(i, child, p);
      for (std::size_t c = 0; c < nc; ++c) g[c] = std::exp(-(phi[i * nc + c] + spread) * dt);
      vn.resize(w * nc);
      roll_back_step(w, nc, child.data(), p.data(), node.data(), g.data(), v.data(), vn.data());
      std::swap(v, vn);
      if (i > 0) adjust_many(i, v);
    }
    return {v.begin(), v.begin() + static_cast<std::ptrdiff_t>(nc)};
  }

 private:
  void build_grid(const CashflowView& cf, const ExerciseView& ex, Eigen::Index s,
                  std::int64_t steps) {
    std::vector<double> mandatory;
    for (Eigen::Index i = cf.begin(s); i < cf.end(s); ++i) mandatory.push_back(cf.times[i]);
    for (auto i = ex.offsets[s]; i < ex.offsets[s + 1]; ++i) {
      mandatory.push_back(ex.times[static_cast<Eigen::Index>(i)]);
    }
    std::sort(mandatory.begin(), mandatory.end());
    mandatory.erase(std::unique(mandatory.begin(), mandatory.end(),
                                [](double x, double y) { return y - x < kSameTime; }),
                    mandatory.end());
    const double dt_max = mandatory.back() / static_cast<double>(steps);
    t_.assign(1, 0.0);
    double begin = 0.0;
    for (const double end : mandatory) {
      const long n = std::max(std::lround((end - begin) / dt_max), 1L);
      const double dt = (end - begin) / static_cast<double>(n);
      for (long m = 1; m < n; ++m) t_.push_back(begin + static_cast<double>(m) * dt);
      t_.push_back(end);
      begin = end;
    }
  }

  // Branching of node q at step i: the index (at step i + 1) of its lowest child and the
  // probabilities of the three children.
  struct Branch {
    std::size_t c;
    std::array<double, 3> p;
  };
  // The branching of level j (its middle child's level and the probabilities) depends on the
  // step only through dx_i, decay_i and dx_{i+1}, which a run of equal steps repeats: each
  // distinct triple (a "geometry") is computed once per level, by the same operations as node
  // by node, so the rollbacks and the fit read the same bits instead of six divisions a node.
  struct Level {
    int k;
    std::array<double, 3> p;
  };
  Branch branch(std::size_t i, int q) const {
    const std::vector<Level>& table = levels_[geometry_[i]];
    const Level& l = table[static_cast<std::size_t>(jmin_[i] + q - jlo_[geometry_[i]])];
    return {static_cast<std::size_t>(l.k - jmin_[i + 1] - 1), l.p};
  }
  int middle(std::size_t i, int j) const {
    const double k = std::floor(j * dx_[i] * decay_[i] / dx_[i + 1] + 0.5);
    FIALLOC_REQUIRE(std::isfinite(k) && std::fabs(k) < kMaxNodes,
                    "hw_lattice: the tree cannot branch at step " << i << " (time " << t_[i]
                                                                  << "); check `a`, `sigma` "
                                                                     "and the flow times");
    return static_cast<int>(k);
  }
  Level level(std::size_t i, int j) const {
    const int k = middle(i, j);
    const double e = j * dx_[i] * decay_[i] - k * dx_[i + 1];
    // dx_{i+1}^2 = 3 V_i: the moments of the branching match the mean and variance.
    const double e2 = 3.0 * e * e / (dx_[i + 1] * dx_[i + 1]);
    const double e3 = 3.0 * e / dx_[i + 1];
    return {k, {(1.0 + e2 - e3) / 6.0, (2.0 - e2) / 3.0, (1.0 + e2 + e3) / 6.0}};
  }

  void build_branches() {
    const std::size_t n = t_.size() - 1;
    geometry_.assign(n, 0);
    std::vector<std::size_t> first;  // a step of each geometry
    std::vector<int> jhi;
    jlo_.clear();
    for (std::size_t i = 0; i < n; ++i) {
      // Equal steps are consecutive: look back over the last few geometries only.
      std::size_t g = first.size();
      for (std::size_t b = first.size(); b-- > 0 && first.size() - b <= 4;) {
        const std::size_t f = first[b];
        if (dx_[f] == dx_[i] && decay_[f] == decay_[i] && dx_[f + 1] == dx_[i + 1]) {
          g = b;
          break;
        }
      }
      const int lo = jmin_[i], hi = jmin_[i] + width_[i] - 1;
      if (g == first.size()) {
        first.push_back(i);
        jlo_.push_back(lo);
        jhi.push_back(hi);
      } else {
        jlo_[g] = std::min(jlo_[g], lo);
        jhi[g] = std::max(jhi[g], hi);
      }
      geometry_[i] = g;
    }
    levels_.assign(first.size(), {});
    for (std::size_t g = 0; g < first.size(); ++g) {
      levels_[g].reserve(static_cast<std::size_t>(jhi[g] - jlo_[g] + 1));
      for (int j = jlo_[g]; j <= jhi[g]; ++j) levels_[g].push_back(level(first[g], j));
    }
  }

  void build_tree(const HullWhiteParams& p) {
    const std::size_t n = t_.size() - 1;
    dx_.assign(n + 1, 0.0);
    decay_.assign(n, 0.0);
    jmin_.assign(n + 1, 0);
    width_.assign(n + 1, 1);
    for (std::size_t i = 0; i < n; ++i) {
      const double dt = t_[i + 1] - t_[i];
      const double v2 = -std::expm1(-2.0 * p.a * dt) * p.sigma * p.sigma / (2.0 * p.a);
      dx_[i + 1] = std::sqrt(3.0 * v2);
      FIALLOC_REQUIRE(std::isfinite(dx_[i + 1]) && dx_[i + 1] > 0.0,
                      "hw_lattice: zero or non-finite variance over step " << i << " (time "
                                                                           << t_[i] << ")");
      decay_[i] = std::exp(-p.a * dt);
      // The middle child never decreases with the node, so the ends bound the next step.
      const int kmin = middle(i, jmin_[i]);
      const int kmax = middle(i, jmin_[i] + width_[i] - 1);
      jmin_[i + 1] = kmin - 1;
      width_[i + 1] = kmax - kmin + 3;
    }
  }

  std::size_t grid_index(double time) const {
    const auto it = std::lower_bound(t_.begin(), t_.end(), time - kSameTime);
    return static_cast<std::size_t>(it - t_.begin());
  }

  void place_events(const CashflowView& cf, const ExerciseView& ex, Eigen::Index s) {
    const std::size_t n = t_.size();
    flow_.assign(n, 0.0);
    strike_.assign(n, 0.0);
    kind_.assign(n, 0);
    for (Eigen::Index i = cf.begin(s); i < cf.end(s); ++i) {
      flow_[grid_index(cf.times[i])] += cf.amounts[i];
    }
    for (auto i = ex.offsets[s]; i < ex.offsets[s + 1]; ++i) {
      const auto e = static_cast<Eigen::Index>(i);
      const std::size_t g = grid_index(ex.times[e]);
      strike_[g] = ex.prices[e];
      kind_[g] = static_cast<int>(ex.kinds[e]);
    }
  }

  // phi_i so that the Arrow-Debreu prices at step i discount to the curve's P(0, t_{i+1}).
  void fit(const ZeroCurve& curve) {
    const std::size_t n = t_.size() - 1;
    phi_.assign(n, 0.0);
    std::vector<double> q(1, 1.0), next, disc;
    for (std::size_t i = 0; i < n; ++i) {
      const double dt = t_[i + 1] - t_[i];
      const double ratio = std::exp(-dx_[i] * dt);
      const auto w = static_cast<std::size_t>(width_[i]);
      disc.resize(w);
      double value = 0.0, f = std::exp(-jmin_[i] * dx_[i] * dt);
      for (std::size_t k = 0; k < w; ++k, f *= ratio) {
        disc[k] = f;
        value += q[k] * f;
      }
      phi_[i] = (std::log(value) - curve.log_discount(t_[i + 1])) / dt;
      const double shift = std::exp(-phi_[i] * dt);
      next.assign(static_cast<std::size_t>(width_[i + 1]), 0.0);
      for (std::size_t k = 0; k < w; ++k) {
        const double reach = q[k] * disc[k] * shift;
        const Branch br = branch(i, static_cast<int>(k));
        for (std::size_t b = 0; b < 3; ++b) next[br.c + b] += reach * br.p[b];
      }
      std::swap(q, next);
    }
  }

  // exp(-x_k dt) at every node k of step i (the drift-free part of a node's discount).
  void node_discounts(std::size_t i, std::vector<double>& out) const {
    const double dt = t_[i + 1] - t_[i];
    const double ratio = std::exp(-dx_[i] * dt);
    out.resize(static_cast<std::size_t>(width_[i]));
    double f = std::exp(-jmin_[i] * dx_[i] * dt);
    for (double& x : out) {
      x = f;
      f *= ratio;
    }
  }

  // Every node's branching at step i: lowest child (index at step i + 1) and probabilities.
  void branches(std::size_t i, std::vector<std::size_t>& child, std::vector<double>& p) const {
    const auto w = static_cast<std::size_t>(width_[i]);
    child.resize(w);
    p.resize(3 * w);
    for (std::size_t k = 0; k < w; ++k) {
      const Branch br = branch(i, static_cast<int>(k));
      child[k] = br.c;
      std::copy(br.p.begin(), br.p.end(), p.begin() + static_cast<std::ptrdiff_t>(3 * k));
    }
  }

  // adjust() for values of many curves, stored curve-innermost.
  void adjust_many(std::size_t i, std::vector<double>& v) const {
    if (kind_[i] != 0) {
      const double k = strike_[i];
      if (kind_[i] > 0) {
        for (double& x : v) x = std::min(x, k);
      } else {
        for (double& x : v) x = std::max(x, k);
      }
    }
    if (flow_[i] != 0.0) {
      for (double& x : v) x += flow_[i];
    }
  }

  void adjust(std::size_t i, std::vector<double>& v, std::vector<double>& d) const {
    if (kind_[i] != 0) {
      const double k = strike_[i];
      const bool call = kind_[i] > 0;
      for (std::size_t q = 0; q < v.size(); ++q) {
        if (call ? v[q] > k : v[q] < k) {
          v[q] = k;
          d[q] = 0.0;
        }
      }
    }
    if (flow_[i] != 0.0) {
      for (double& x : v) x += flow_[i];
    }
  }

  std::vector<double> t_, dx_, decay_, phi_, flow_, strike_;
  std::vector<int> jmin_, width_, kind_;
  std::vector<std::size_t> geometry_;      // each step's geometry
  std::vector<int> jlo_;                   // the lowest level of each geometry's table
  std::vector<std::vector<Level>> levels_;  // each geometry's branching by level
};

void check_inputs(const CashflowView& cf, const ExerciseView& ex, ConstVecRef per_stream,
                  const char* per_stream_name, ConstIdxRef steps, const char* where) {
  check_layout(cf, where);
  const Eigen::Index n = cf.n_streams();
  FIALLOC_REQUIRE(per_stream.size() == n, where << ": `" << per_stream_name << "` has "
                                                << per_stream.size() << " entries for " << n
                                                << " streams");
  FIALLOC_REQUIRE(steps.size() == n,
                  where << ": `steps` has " << steps.size() << " entries for " << n << " streams");
  FIALLOC_REQUIRE(ex.offsets.size() == n + 1,
                  where << ": exercise `offsets` has " << ex.offsets.size() << " entries for "
                        << n << " streams (expected " << n + 1 << ")");
  const Eigen::Index m = ex.times.size();
  FIALLOC_REQUIRE(ex.prices.size() == m && ex.kinds.size() == m,
                  where << ": exercise times, prices and kinds differ in length (" << m << ", "
                        << ex.prices.size() << ", " << ex.kinds.size() << ")");
  FIALLOC_REQUIRE(ex.offsets[0] == 0 && ex.offsets[n] == m,
                  where << ": exercise `offsets` must start at 0 and end at " << m);
  for (Eigen::Index s = 0; s < n; ++s) {
    FIALLOC_REQUIRE(std::isfinite(per_stream[s]), where << ": `" << per_stream_name
                                                         << "` of stream " << s << " is "
                                                         << per_stream[s]);
    FIALLOC_REQUIRE(steps[s] >= 1 && steps[s] <= kMaxSteps,
                    where << ": `steps` of stream " << s << " is " << steps[s]
                          << "; expected 1 .. " << kMaxSteps);
    FIALLOC_REQUIRE(cf.times[cf.begin(s)] > kSameTime,
                    where << ": stream " << s << " has a flow at time "
                          << cf.times[cf.begin(s)] << "; flows must fall after the valuation date");
    const double last = cf.times[cf.end(s) - 1];
    FIALLOC_REQUIRE(ex.offsets[s + 1] >= ex.offsets[s],
                    where << ": exercise `offsets` decrease at stream " << s);
    double prev = 0.0;
    for (auto i = ex.offsets[s]; i < ex.offsets[s + 1]; ++i) {
      const auto e = static_cast<Eigen::Index>(i);
      const double te = ex.times[e];
      FIALLOC_REQUIRE(std::isfinite(te) && te > prev + kSameTime && te < last - kSameTime,
                      where << ": exercise time " << te << " of stream " << s
                            << " must be after the valuation date and the previous exercise "
                               "and before the last flow ("
                            << last << ")");
      FIALLOC_REQUIRE(std::isfinite(ex.prices[e]) && ex.prices[e] > 0.0,
                      where << ": exercise price " << ex.prices[e] << " of stream " << s
                            << " must be positive");
      FIALLOC_REQUIRE(ex.kinds[e] == 1 || ex.kinds[e] == -1,
                      where << ": exercise kind " << ex.kinds[e] << " of stream " << s
                            << "; expected 1 (call) or -1 (put)");
      prev = te;
    }
  }
}

// The OAS of stream s: the spread at which its lattice value is prices[s].
double solve_spread(const HullWhiteParams& p, const CashflowView& cf, const ExerciseView& ex,
                    const ZeroCurve& curve, ConstVecRef prices, ConstIdxRef steps,
                    Eigen::Index s) {
  const Lattice lattice(p, cf, ex, curve, s, steps[s]);
  auto fn = [&](double spread) {
    const auto [value, slope] = lattice.rollback(spread);
    return std::make_pair(prices[s] - value, -slope);  // increasing in the spread
  };
  double spread = 0.0;
  try {
    spread = solve_bracketed_newton(fn, -1.0, 5.0, 0.0, kSpreadTol, kMaxIter, "hw_lattice_spreads");
  } catch (const std::domain_error&) {
    FIALLOC_REQUIRE(false, "hw_lattice_spreads: price " << prices[s] << " of stream " << s
                                                        << " implies an option-adjusted "
                                                           "spread outside [-100%, 500%]");
  }
  return spread;
}

// Zero-rate shift of one bump row at time t: linear between the knots, flat beyond.
double overlay_at(ConstVecRef knots, const double* values, double t) {
  const Eigen::Index m = knots.size();
  if (t <= knots[0]) return values[0];
  if (t >= knots[m - 1]) return values[m - 1];
  const auto j = static_cast<Eigen::Index>(
      std::upper_bound(knots.data(), knots.data() + m, t) - knots.data());
  const double w = (t - knots[j - 1]) / (knots[j] - knots[j - 1]);
  return values[j - 1] + w * (values[j] - values[j - 1]);
}

}  // namespace

RowMatrixXd hw_lattice_prices_on_curves(const HullWhiteParams& p, const CashflowView& cf,
                                        const ExerciseView& ex, const ZeroCurve& curve,
                                        ConstVecRef knots, ConstMatRef bumps, ConstVecRef spreads,
                                        ConstIdxRef steps, int threads) {
  const char* where = "hw_lattice_prices_on_curves";
  check_hull_white(p, where);
  check_inputs(cf, ex, spreads, "spreads", steps, where);
  const Eigen::Index m = knots.size();
  FIALLOC_REQUIRE(m >= 1, where << ": `knots` is empty");
  for (Eigen::Index j = 0; j < m; ++j) {
    FIALLOC_REQUIRE(std::isfinite(knots[j]) && (j == 0 || knots[j] > knots[j - 1]),
                    where << ": `knots` must be finite and strictly increasing (entry " << j
                          << " is " << knots[j] << ")");
  }
  FIALLOC_REQUIRE(bumps.rows() >= 1 && bumps.cols() == m,
                  where << ": `bumps` is " << bumps.rows() << " x " << bumps.cols()
                        << "; expected one row per curve and " << m << " columns (the knots)");
  FIALLOC_REQUIRE(bumps.allFinite(), where << ": `bumps` holds a non-finite value");
  const auto nc = static_cast<std::size_t>(bumps.rows());
  RowMatrixXd out(cf.n_streams(), bumps.rows());
  detail::parallel_for(cf.n_streams(), threads, [&](std::int64_t lo, std::int64_t hi) {
    for (Eigen::Index s = lo; s < hi; ++s) {
      const Lattice lattice(p, cf, ex, s, steps[s]);
      const std::vector<double>& t = lattice.times();
      std::vector<double> log_df((t.size() - 1) * nc);
      for (std::size_t i = 1; i < t.size(); ++i) {
        const double base = curve.log_discount(t[i]);
        for (std::size_t c = 0; c < nc; ++c) {
          const double* row = bumps.data() + static_cast<Eigen::Index>(c) * m;
          log_df[(i - 1) * nc + c] = base - t[i] * overlay_at(knots, row, t[i]);
        }
      }
      const std::vector<double> v = lattice.values_on_curves(log_df, nc, spreads[s]);
      for (std::size_t c = 0; c < nc; ++c) out(s, static_cast<Eigen::Index>(c)) = v[c];
    }
  });
  return out;
}

void check_hull_white(const HullWhiteParams& p, const char* where) {
  FIALLOC_REQUIRE(std::isfinite(p.a) && p.a >= kMinReversion && p.a <= kMaxReversion,
                  where << ": `a` (mean reversion) is " << p.a << "; expected [" << kMinReversion
                        << ", " << kMaxReversion << "] per year");
  FIALLOC_REQUIRE(std::isfinite(p.sigma) && p.sigma >= kMinVol && p.sigma <= kMaxVol,
                  where << ": `sigma` is " << p.sigma << "; expected [" << kMinVol << ", "
                        << kMaxVol << "] (decimal rate per sqrt(year))");
}

VectorXd hw_lattice_prices(const HullWhiteParams& p, const CashflowView& cf,
                           const ExerciseView& ex, const ZeroCurve& curve, ConstVecRef spreads,
                           ConstIdxRef steps, int threads) {
  check_hull_white(p, "hw_lattice_prices");
  check_inputs(cf, ex, spreads, "spreads", steps, "hw_lattice_prices");
  VectorXd out(cf.n_streams());
  detail::parallel_for(cf.n_streams(), threads, [&](std::int64_t lo, std::int64_t hi) {
    for (Eigen::Index s = lo; s < hi; ++s) {
      out[s] = Lattice(p, cf, ex, curve, s, steps[s]).rollback(spreads[s]).first;
    }
  });
  return out;
}

VectorXd hw_lattice_spreads(const HullWhiteParams& p, const CashflowView& cf,
                            const ExerciseView& ex, const ZeroCurve& curve, ConstVecRef prices,
                            ConstIdxRef steps, int threads) {
  check_hull_white(p, "hw_lattice_spreads");
  check_inputs(cf, ex, prices, "prices", steps, "hw_lattice_spreads");
  for (Eigen::Index s = 0; s < cf.n_streams(); ++s) {
    FIALLOC_REQUIRE(prices[s] > 0.0, "hw_lattice_spreads: price " << prices[s] << " of stream "
                                                                   << s << " must be positive");
  }
  VectorXd out(cf.n_streams());
  // Streams are independent: each thread solves its own, so results do not depend on threads.
  detail::parallel_for(cf.n_streams(), threads, [&](std::int64_t lo, std::int64_t hi) {
    for (Eigen::Index s = lo; s < hi; ++s) {
      out[s] = solve_spread(p, cf, ex, curve, prices, steps, s);
    }
  });
  return out;
}

}  // namespace fialloc
