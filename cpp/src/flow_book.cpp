// fialloc: Apache-2.0
#include "fialloc/flow_book.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "fialloc/errors.hpp"
#include "fialloc/lanes.hpp"
#include "fialloc/stream_prices.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc {

namespace {

// Flows per chunk: its seven per-flow columns (28 KB) stay in the first-level cache.
constexpr Eigen::Index kChunk = 512;

// The curve's polynomials as columns, so a flow's coefficients are gathers by segment index.
struct Columns {
  std::array<std::vector<double>, 5> coef;
  int degree;

  explicit Columns(const ZeroCurve& curve) : degree(curve.degree()) {
    const std::size_t n = curve.knots().size();
    for (int d = 0; d < 5; ++d) {
      auto& col = coef[static_cast<std::size_t>(d)];
      col.resize(n);
      for (std::size_t j = 0; j < n; ++j) col[j] = curve.coefficient(static_cast<Eigen::Index>(j), d);
    }
  }
};

// One chunk's inputs (flows b..e of the layout) and per-flow outputs.
struct Chunk {
  const double* u;  // the flow's offset into its segment
  std::array<const double*, 5> coef;
  const std::int32_t* seg;
  const double* t;
  const double* a;
  const double* z;  // the flow's stream's z-spread
  const double* w_left;
  const double* w_right;
  double bump;
  Eigen::Index n;
  double* v;   // a P e^{-z t}
  double* vt;  // v t
  double* d;   // v sinh(h t)
  double* c;   // 4 v sinh(h t / 2)^2
  double* sl;  // v sinh(h w_left t)
  double* sr;  // v sinh(h w_right t)
};

// The loops below take the chunk's columns as restrict parameters: reading them through the
// struct, the compiler cannot rule out aliasing and leaves the loops scalar.
#define FIALLOC_INPUT_PARAMS                                                                   \
  const double *__restrict uu, const double *__restrict c0, const double *__restrict c1,       \
      const double *__restrict c2, const double *__restrict c3, const double *__restrict c4,   \
      const std::int32_t *__restrict seg, const double *__restrict tt,                         \
      const double *__restrict aa, const double *__restrict zz, Eigen::Index n
#define FIALLOC_INPUT_ARGS(k)                                                                  \
  (k).u, (k).coef[0], (k).coef[1], (k).coef[2], (k).coef[3], (k).coef[4], (k).seg, (k).t,       \
      (k).a, (k).z, (k).n

// ln(P(0, t) e^{-z t}): ln P from the flow's segment polynomial at u = t - knot (Horner, as
// ZeroCurve does) less z t.
template <int Deg>
[[gnu::always_inline]] inline double log_discount(double u, const double* c0, const double* c1,
                                                  const double* c2, const double* c3,
                                                  const double* c4, std::int32_t j, double x,
                                                  double z) {
  double p;
  if constexpr (Deg == 1) {
    p = c1[j] * u + c0[j];
  } else if constexpr (Deg == 2) {
    p = (c2[j] * u + c1[j]) * u + c0[j];
  } else {
    p = (((c4[j] * u + c3[j]) * u + c2[j]) * u + c1[j]) * u + c0[j];
  }
  return p - z * x;
}

// v[i] = e^{ln(P e^{-z t})} for the chunk's flows: the exponentials in one exp_inplace pass (its
// intrinsics builds; compilers turn the inline exp_value's table lookup into scalar loads).
template <int Deg>
[[gnu::always_inline]] inline void discount_factors(
    const double* __restrict uu, const double* __restrict c0, const double* __restrict c1,
    const double* __restrict c2, const double* __restrict c3, const double* __restrict c4,
    const std::int32_t* __restrict seg, const double* __restrict tt, const double* __restrict zz,
    Eigen::Index n, double* __restrict v) {
  for (Eigen::Index i = 0; i < n; ++i) {
    v[i] = log_discount<Deg>(uu[i], c0, c1, c2, c3, c4, seg[i], tt[i], zz[i]);
  }
  exp_inplace(v, n);
}

// a P(0, t) e^{-z t} per flow.
template <int Deg>
[[gnu::always_inline]] inline void discount_map(FIALLOC_INPUT_PARAMS, double* __restrict v) {
  discount_factors<Deg>(uu, c0, c1, c2, c3, c4, seg, tt, zz, n, v);
  for (Eigen::Index i = 0; i < n; ++i) v[i] = v[i] * aa[i];
}

/* sinh of a bump times a time. The bumps are tiny (1 bp x 30 years = 0.003), where an odd Taylor
   polynomial is exact to rounding (truncation below 1e-17 relative for |x| <= 0.25); larger
   arguments take the exponential form. Multiplying by the reciprocal factorials, not dividing,
   keeps the loop off the slow divider. */
template <bool Small>
[[gnu::always_inline]] inline double sinh_value(double x) {
  if constexpr (Small) {
    const double x2 = x * x;
    return x * (1.0 + x2 * (1.0 / 6.0) *
                          (1.0 + x2 * (1.0 / 20.0) *
                                     (1.0 + x2 * (1.0 / 42.0) *
                                                (1.0 + x2 * (1.0 / 72.0) * (1.0 + x2 * (1.0 / 110.0))))));
  } else {
    const double e = exp_value(x);
    return 0.5 * (e - 1.0 / e);
  }
}

template <int Deg, bool Small>
[[gnu::always_inline]] inline void risk_map(FIALLOC_INPUT_PARAMS, const double* __restrict wl,
                                            const double* __restrict wr, double bump,
                                            double* __restrict v, double* __restrict vt,
                                            double* __restrict d, double* __restrict c,
                                            double* __restrict sl, double* __restrict sr) {
  const double h = bump, half_h = 0.5 * bump;
  discount_factors<Deg>(uu, c0, c1, c2, c3, c4, seg, tt, zz, n, v);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double x = tt[i];
    const double vi = v[i] * aa[i];
    const double half = sinh_value<Small>(half_h * x);
    v[i] = vi;
    vt[i] = vi * x;
    d[i] = vi * sinh_value<Small>(h * x);
    c[i] = 4.0 * vi * half * half;
    sl[i] = vi * sinh_value<Small>(h * wl[i] * x);
    sr[i] = vi * sinh_value<Small>(h * wr[i] * x);
  }
}

// Non-template entry points, so each gets its own AVX2 clone with the loop body inlined.
#define FIALLOC_DISCOUNT_MAP(name, ...) \
  FIALLOC_TARGET_CLONES void name(const Chunk& k) { discount_map<__VA_ARGS__>(FIALLOC_INPUT_ARGS(k), k.v); }
#define FIALLOC_RISK_MAP(name, ...)                                                         \
  FIALLOC_TARGET_CLONES void name(const Chunk& k) {                                         \
    risk_map<__VA_ARGS__>(FIALLOC_INPUT_ARGS(k), k.w_left, k.w_right, k.bump, k.v, k.vt, k.d, \
                          k.c, k.sl, k.sr);                                                 \
  }
FIALLOC_DISCOUNT_MAP(discount_map1, 1)
FIALLOC_DISCOUNT_MAP(discount_map2, 2)
FIALLOC_DISCOUNT_MAP(discount_map4, 4)
FIALLOC_RISK_MAP(risk_map1, 1, true)
FIALLOC_RISK_MAP(risk_map2, 2, true)
FIALLOC_RISK_MAP(risk_map4, 4, true)
FIALLOC_RISK_MAP(risk_map1_large, 1, false)
FIALLOC_RISK_MAP(risk_map2_large, 2, false)
FIALLOC_RISK_MAP(risk_map4_large, 4, false)
#undef FIALLOC_DISCOUNT_MAP
#undef FIALLOC_RISK_MAP

using MapFn = void (*)(const Chunk&);
MapFn discount_map_for(int degree) {
  return degree == 1 ? discount_map1 : degree == 2 ? discount_map2 : discount_map4;
}
MapFn risk_map_for(int degree, bool small) {
  if (small) return degree == 1 ? risk_map1 : degree == 2 ? risk_map2 : risk_map4;
  return degree == 1 ? risk_map1_large : degree == 2 ? risk_map2_large : risk_map4_large;
}

/* Calls body(first stream, past-last stream, first flow, past-last flow) on runs of whole
   streams of at most kChunk flows (a longer stream is a run of its own), filling `z` with each
   flow's stream's spread. */
template <class Body>
void for_each_chunk(const CashflowView& cf, ConstVecRef z_spreads, double* z, Body&& body) {
  const Eigen::Index ns = cf.n_streams();
  for (Eigen::Index s0 = 0; s0 < ns;) {
    const Eigen::Index b = cf.begin(s0);
    Eigen::Index s1 = s0 + 1;
    while (s1 < ns && cf.end(s1) - b <= kChunk) ++s1;
    for (Eigen::Index s = s0; s < s1; ++s) {
      std::fill(z + (cf.begin(s) - b), z + (cf.end(s) - b), z_spreads[s]);
    }
    body(s0, s1, b, cf.end(s1 - 1));
    s0 = s1;
  }
}

void check_spreads(const CashflowView& cf, ConstVecRef z_spreads, const char* where) {
  check_offsets(cf, where);
  FIALLOC_REQUIRE(z_spreads.size() == cf.n_streams(),
                  where << ": `z_spreads` has " << z_spreads.size() << " entries for "
                        << cf.n_streams() << " streams");
  for (Eigen::Index s = 0; s < z_spreads.size(); ++s) {
    FIALLOC_REQUIRE(std::isfinite(z_spreads[s]),
                    where << ": `z_spreads` of stream " << s << " is " << z_spreads[s]);
  }
}

[[noreturn]] void throw_overflow(const CashflowView& cf, const char* where) {
  check_layout(cf, where);  // names a non-finite amount if there is one
  std::ostringstream os;
  os << where << ": discounted cash flows overflow; check `z_spreads`";
  throw std::domain_error(os.str());
}

Chunk chunk_on(const Columns& cols, const CashflowView& cf, const FlowSegments& seg,
               Eigen::Index b, Eigen::Index e, const double* z, double* v) {
  Chunk k{};
  k.u = seg.u.data() + b;
  for (std::size_t d = 0; d < 5; ++d) k.coef[d] = cols.coef[d].data();
  k.seg = seg.seg.data() + b;
  k.t = cf.times.data() + b;
  k.a = cf.amounts.data() + b;
  k.z = z;
  k.n = e - b;
  k.v = v;
  return k;
}

}  // namespace

FlowSegments flow_segments(const CashflowView& cf, const ZeroCurve& curve) {
  const auto nf = static_cast<std::size_t>(cf.times.size());
  FlowSegments out{std::vector<std::int32_t>(nf), std::vector<double>(nf)};
  bool ok = true;
  for (Eigen::Index s = 0; s < cf.n_streams() && ok; ++s) {
    const Eigen::Index b = cf.begin(s);
    ok = curve.segments_sorted(cf.times.data() + b, out.seg.data() + b, cf.end(s) - b);
  }
  if (!ok) check_layout(cf, "flow_segments");  // throws, naming the stream and flow
  const std::vector<double>& knots = curve.knots();
  for (std::size_t i = 0; i < nf; ++i) {
    out.u[i] = cf.times[static_cast<Eigen::Index>(i)] - knots[static_cast<std::size_t>(out.seg[i])];
  }
  return out;
}

FlowTents flow_tents(const CashflowView& cf, ConstVecRef key_tenors) {
  const Eigen::Index nk = key_tenors.size();
  const auto nf = static_cast<std::size_t>(cf.times.size());
  FlowTents out{key_tenors, std::vector<std::int32_t>(nf), std::vector<double>(nf),
                std::vector<double>(nf)};
  for (Eigen::Index s = 0; s < cf.n_streams(); ++s) {
    Eigen::Index k = 0;  // number of key tenors <= t, walked forward along the sorted flows
    for (Eigen::Index i = cf.begin(s); i < cf.end(s); ++i) {
      const double t = cf.times[i];
      const auto f = static_cast<std::size_t>(i);
      while (k < nk && t >= key_tenors[k]) ++k;
      if (k == 0 || k == nk) {
        out.left[f] = static_cast<std::int32_t>(k == 0 ? 0 : nk - 1);
        out.w_left[f] = 1.0;
        out.w_right[f] = 0.0;
      } else {
        out.left[f] = static_cast<std::int32_t>(k - 1);
        out.w_left[f] = (key_tenors[k] - t) / (key_tenors[k] - key_tenors[k - 1]);
        out.w_right[f] = 1.0 - out.w_left[f];
      }
    }
  }
  return out;
}

VectorXd discounted_flows_on(const CashflowView& cf, const ZeroCurve& curve,
                             const FlowSegments& seg, ConstVecRef z_spreads) {
  check_spreads(cf, z_spreads, "discounted_flows");
  const Columns cols(curve);
  const MapFn map = discount_map_for(cols.degree);
  VectorXd v(cf.times.size());
  std::vector<double> z(static_cast<std::size_t>(std::max(kChunk, cf.max_stream_length())));
  for_each_chunk(cf, z_spreads, z.data(), [&](Eigen::Index, Eigen::Index, Eigen::Index b, Eigen::Index e) {
    map(chunk_on(cols, cf, seg, b, e, z.data(), v.data() + b));
  });
  if (!v.allFinite()) throw_overflow(cf, "discounted_flows");
  return v;
}

VectorXd price_streams_on(const CashflowView& cf, const ZeroCurve& curve,
                          const FlowSegments& seg, ConstVecRef z_spreads) {
  check_spreads(cf, z_spreads, "price_streams");
  const Columns cols(curve);
  const MapFn map = discount_map_for(cols.degree);
  const auto width = static_cast<std::size_t>(std::max(kChunk, cf.max_stream_length()));
  std::vector<double> z(width), v(width);
  VectorXd pv(cf.n_streams());
  for_each_chunk(cf, z_spreads, z.data(), [&](Eigen::Index s0, Eigen::Index s1, Eigen::Index b, Eigen::Index e) {
    map(chunk_on(cols, cf, seg, b, e, z.data(), v.data()));
    for (Eigen::Index s = s0; s < s1; ++s) {
      pv[s] = lane_sums<1>({v.data() + (cf.begin(s) - b)}, cf.end(s) - cf.begin(s))[0];
    }
  });
  if (!pv.allFinite()) throw_overflow(cf, "price_streams");
  return pv;
}

CurveRisk curve_risk_on(const CashflowView& cf, const ZeroCurve& curve, const FlowSegments& seg,
                        const FlowTents& tents, ConstVecRef z_spreads, double bump) {
  check_spreads(cf, z_spreads, "curve_risk");
  const Columns cols(curve);
  const Eigen::Index nf = cf.times.size(), ns = cf.n_streams(), nk = tents.key_tenors.size();
  const bool small = nf == 0 || bump * cf.times.maxCoeff() <= 0.25;
  const MapFn map = risk_map_for(cols.degree, small);
  const auto width = static_cast<std::size_t>(std::max(kChunk, cf.max_stream_length()));
  std::vector<double> z(width), v(width), vt(width), d(width), c(width), sl(width), sr(width);
  CurveRisk r{VectorXd(ns), VectorXd(ns), VectorXd(ns), VectorXd(ns), RowMatrixXd::Zero(ns, nk)};
  for_each_chunk(cf, z_spreads, z.data(), [&](Eigen::Index s0, Eigen::Index s1, Eigen::Index b, Eigen::Index e) {
    Chunk k = chunk_on(cols, cf, seg, b, e, z.data(), v.data());
    k.w_left = tents.w_left.data() + b;
    k.w_right = tents.w_right.data() + b;
    k.bump = bump;
    k.vt = vt.data();
    k.d = d.data();
    k.c = c.data();
    k.sl = sl.data();
    k.sr = sr.data();
    map(k);
    for (Eigen::Index s = s0; s < s1; ++s) {
      const Eigen::Index o = cf.begin(s) - b, n = cf.end(s) - cf.begin(s);
      const auto sums = lane_sums<4>({v.data() + o, d.data() + o, c.data() + o, vt.data() + o}, n);
      const double pv = sums[0];
      FIALLOC_REQUIRE(pv != 0.0, "curve_risk: stream " << s
                                                       << " has zero present value; durations undefined");
      if (!std::isfinite(pv)) throw_overflow(cf, "curve_risk");
      r.pv[s] = pv;
      r.effective_duration[s] = sums[1] / (bump * pv);
      r.effective_convexity[s] = sums[2] / (bump * bump * pv);
      r.spread_duration[s] = sums[3] / pv;
      // A flow's bump lands on its left key tenor and the next; flows are sorted, so each key
      // interval is one run of flows, summed before it is added to the row.
      double* row = r.krd.row(s).data();
      const std::int32_t* left = tents.left.data() + cf.begin(s);
      std::int32_t run = left[0];
      double acc_l = 0.0, acc_r = 0.0;
      for (Eigen::Index i = 0; i < n; ++i) {
        if (left[i] != run) {
          row[run] += acc_l;
          if (run + 1 < nk) row[run + 1] += acc_r;
          run = left[i];
          acc_l = acc_r = 0.0;
        }
        acc_l += sl[static_cast<std::size_t>(o + i)];
        acc_r += sr[static_cast<std::size_t>(o + i)];
      }
      row[run] += acc_l;
      if (run + 1 < nk) row[run + 1] += acc_r;
      r.krd.row(s) /= bump * pv;
    }
  });
  return r;
}

FlowBook::FlowBook(ConstIdxRef offsets, ConstVecRef times, ConstVecRef amounts)
    : offsets_(offsets), times_(times), amounts_(amounts) {
  check_layout(view(), "FlowBook");
  if (detail::avx512_prices_available()) blocks_ = detail::stream_blocks(view());
}

std::shared_ptr<const FlowBook::Segments> FlowBook::segments(const ZeroCurve& curve) const {
  const std::vector<double>& knots = curve.knots();
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < seg_cache_.size(); ++i) {
      if (seg_cache_[i].first == knots) {
        std::rotate(seg_cache_.begin(), seg_cache_.begin() + static_cast<std::ptrdiff_t>(i),
                    seg_cache_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        return seg_cache_.front().second;
      }
    }
  }
  auto seg = std::make_shared<const Segments>(flow_segments(view(), curve));
  const std::lock_guard<std::mutex> lock(mutex_);
  seg_cache_.insert(seg_cache_.begin(), {knots, seg});
  if (seg_cache_.size() > kCacheSize) seg_cache_.pop_back();
  return seg;
}

std::shared_ptr<const FlowTents> FlowBook::tents(ConstVecRef key_tenors) const {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < tent_cache_.size(); ++i) {
      if (tent_cache_[i]->key_tenors == key_tenors) {
        std::rotate(tent_cache_.begin(), tent_cache_.begin() + static_cast<std::ptrdiff_t>(i),
                    tent_cache_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        return tent_cache_.front();
      }
    }
  }
  auto tents = std::make_shared<const FlowTents>(flow_tents(view(), key_tenors));
  const std::lock_guard<std::mutex> lock(mutex_);
  tent_cache_.insert(tent_cache_.begin(), tents);
  if (tent_cache_.size() > kCacheSize) tent_cache_.pop_back();
  return tents;
}

VectorXd FlowBook::price(const ZeroCurve& curve, ConstVecRef z_spreads) const {
  const CashflowView cf = view();
  if (!detail::avx512_prices_available()) return price_streams_on(cf, curve, *segments(curve), z_spreads);
  // The same bits as price_streams_on, one stream at a time in registers (stream_prices.hpp).
  check_spreads(cf, z_spreads, "price_streams");
  const std::shared_ptr<const Segments> seg = segments(curve);
  VectorXd pv(cf.n_streams());
  detail::price_streams_avx512(cf, blocks_, curve, seg->seg.data(), seg->u.data(), z_spreads.data(), pv.data());
  if (!pv.allFinite()) throw_overflow(cf, "price_streams");
  return pv;
}

VectorXd FlowBook::discounted_flows(const ZeroCurve& curve, ConstVecRef z_spreads) const {
  return discounted_flows_on(view(), curve, *segments(curve), z_spreads);
}

CurveRisk FlowBook::curve_risk(const ZeroCurve& curve, ConstVecRef z_spreads,
                               ConstVecRef key_tenors, double bump) const {
  check_risk_args(key_tenors, bump);
  return curve_risk_on(view(), curve, *segments(curve), *tents(key_tenors), z_spreads, bump);
}

}  // namespace fialloc
