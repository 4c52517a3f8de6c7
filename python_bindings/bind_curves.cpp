// fialloc: Apache-2.0
#include "curve_args.hpp"
#include "fialloc/bootstrap.hpp"
#include "fialloc/schedule.hpp"

namespace fialloc::bindings {

void register_curves(py::module_& m) {
  const auto release = py::call_guard<py::gil_scoped_release>();
  m.def(
      "discount_factors",
      [](ConstVecRef pt, ConstVecRef ldf, int interp, int extrap,
         ConstVecRef sk, ConstVecRef sv, ConstVecRef t) {
        return discount_factors(make_curve(pt, ldf, interp, extrap, sk, sv), t);
      },
      FIALLOC_CURVE_ARGS, py::arg("t").noconvert(), release, "Discount factors at times t.");
  m.def(
      "zero_rates",
      [](ConstVecRef pt, ConstVecRef ldf, int interp, int extrap,
         ConstVecRef sk, ConstVecRef sv, ConstVecRef t) {
        return zero_rates(make_curve(pt, ldf, interp, extrap, sk, sv), t);
      },
      FIALLOC_CURVE_ARGS, py::arg("t").noconvert(), release,
      "Continuously compounded zero rates at times t.");
  m.def(
      "forward_rates",
      [](ConstVecRef pt, ConstVecRef ldf, int interp, int extrap,
         ConstVecRef sk, ConstVecRef sv, ConstVecRef t) {
        return forward_rates(make_curve(pt, ldf, interp, extrap, sk, sv), t);
      },
      FIALLOC_CURVE_ARGS, py::arg("t").noconvert(), release, "Instantaneous forwards at times t.");
  m.def(
      "bootstrap_quotes",
      [](std::int64_t valuation, ConstIdxRef maturities, ConstIdxRef frequencies,
         ConstIdxRef day_counts, ConstVecRef rates, int interp) {
        QuotedCurve q = bootstrap_quotes(valuation, maturities, frequencies, day_counts, rates,
                                         static_cast<Interpolation>(interp));
        return std::make_tuple(std::move(q.flows.offsets), std::move(q.flows.times),
                               std::move(q.flows.accruals), std::move(q.flows.principal),
                               std::move(q.curve.pillar_times), std::move(q.curve.log_dfs));
      },
      py::arg("valuation"), py::arg("maturities").noconvert(), py::arg("frequencies").noconvert(),
      py::arg("day_counts").noconvert(), py::arg("rates").noconvert(), py::arg("interpolation"),
      release,
      "Quotes to curve: the instruments' schedules (offsets, times, accruals, principal) and "
      "the bootstrapped pillar times and log discount factors.");
  m.def(
      "bootstrap_curve",
      [](ConstIdxRef offsets, ConstVecRef times, ConstVecRef amounts, ConstVecRef targets,
         int interp) {
        const BootstrapResult r = bootstrap_curve(CashflowView{offsets, times, amounts}, targets,
                                                  static_cast<Interpolation>(interp));
        return std::make_tuple(r.pillar_times, r.log_dfs, r.passes);
      },
      FIALLOC_LAYOUT_ARGS, py::arg("targets").noconvert(), py::arg("interpolation"), release,
      "Solve pillar log discount factors that reprice every instrument.");
  m.def(
      "instrument_flows",
      [](std::int64_t valuation, ConstIdxRef maturities, ConstIdxRef frequencies,
         ConstIdxRef day_counts) {
        InstrumentFlows f = instrument_flows(valuation, maturities, frequencies, day_counts);
        return std::make_tuple(std::move(f.offsets), std::move(f.times), std::move(f.accruals),
                               std::move(f.principal));
      },
      py::arg("valuation"), py::arg("maturities").noconvert(), py::arg("frequencies").noconvert(),
      py::arg("day_counts").noconvert(), release,
      "Curve instruments' schedules: offsets, Act/365F times, accruals and principal per flow.");
}

}  // namespace fialloc::bindings
