// fialloc: Apache-2.0
#include <algorithm>
#include <iterator>
#include <memory>
#include <string>

#include "curve_args.hpp"
#include "fialloc/bond.hpp"
#include "fialloc/errors.hpp"
#include "fialloc/flow_book.hpp"
#include "fialloc/krd.hpp"
#include "fialloc/vexp.hpp"

namespace fialloc::bindings {

void register_bonds(py::module_& m) {
  const auto release = py::call_guard<py::gil_scoped_release>();
  m.def(
      "price_streams",
      [](ConstIdxRef o, ConstVecRef t, ConstVecRef a, ConstVecRef pt, ConstVecRef ldf, int interp,
         int extrap, ConstVecRef sk, ConstVecRef sv, ConstVecRef z) {
        return price_streams(CashflowView{o, t, a}, make_curve(pt, ldf, interp, extrap, sk, sv), z);
      },
      FIALLOC_LAYOUT_ARGS, FIALLOC_CURVE_ARGS, py::arg("z_spreads").noconvert(), release,
      "Present value of each stream off a curve plus z-spread.");
  m.def(
      "z_spreads_from_prices",
      [](ConstIdxRef o, ConstVecRef t, ConstVecRef a, ConstVecRef pt, ConstVecRef ldf, int interp,
         int extrap, ConstVecRef sk, ConstVecRef sv, ConstVecRef prices) {
        return z_spreads_from_prices(CashflowView{o, t, a}, make_curve(pt, ldf, interp, extrap, sk, sv),
                                     prices);
      },
      FIALLOC_LAYOUT_ARGS, FIALLOC_CURVE_ARGS, py::arg("prices").noconvert(), release,
      "Continuously compounded z-spread of each stream from its present value.");
  m.def(
      "prices_from_yields",
      [](ConstIdxRef o, ConstVecRef t, ConstVecRef a, ConstVecRef freq, ConstVecRef y) {
        return prices_from_yields(CashflowView{o, t, a}, freq, y);
      },
      FIALLOC_LAYOUT_ARGS, py::arg("freq").noconvert(), py::arg("yields").noconvert(), release,
      "Present value of each stream at a yield.");
  m.def(
      "yields_from_prices",
      [](ConstIdxRef o, ConstVecRef t, ConstVecRef a, ConstVecRef freq, ConstVecRef p) {
        return yields_from_prices(CashflowView{o, t, a}, freq, p);
      },
      FIALLOC_LAYOUT_ARGS, py::arg("freq").noconvert(), py::arg("prices").noconvert(), release,
      "Yield of each stream from its present value.");
  m.def(
      "yield_risk",
      [](ConstIdxRef o, ConstVecRef t, ConstVecRef a, ConstVecRef freq, ConstVecRef y) {
        YieldRisk r = yield_risk(CashflowView{o, t, a}, freq, y);
        return std::make_tuple(std::move(r.macaulay), std::move(r.modified),
                               std::move(r.convexity));
      },
      FIALLOC_LAYOUT_ARGS, py::arg("freq").noconvert(), py::arg("yields").noconvert(), release,
      "Macaulay duration, modified duration and convexity at a yield.");
  m.def(
      "curve_risk",
      [](ConstIdxRef o, ConstVecRef t, ConstVecRef a, ConstVecRef pt, ConstVecRef ldf, int interp,
         int extrap, ConstVecRef sk, ConstVecRef sv, ConstVecRef z, ConstVecRef key_tenors, double bump) {
        CurveRisk r = curve_risk(CashflowView{o, t, a}, make_curve(pt, ldf, interp, extrap, sk, sv), z,
                                 key_tenors, bump);
        return std::make_tuple(std::move(r.pv), std::move(r.effective_duration),
                               std::move(r.effective_convexity), std::move(r.spread_duration),
                               std::move(r.krd));
      },
      FIALLOC_LAYOUT_ARGS, FIALLOC_CURVE_ARGS, py::arg("z_spreads").noconvert(),
      py::arg("key_tenors").noconvert(), py::arg("bump"), release,
      "PV, effective duration and convexity, spread duration and key-rate durations.");
  m.def(
      "exp_values",
      [](ConstVecRef x, const std::string& isa) {
        ExpIsa build = exp_isa();
        if (isa != "best") {
          const ExpIsa all[] = {ExpIsa::Portable, ExpIsa::Avx2, ExpIsa::Avx512};
          const auto* named = std::find_if(std::begin(all), std::end(all),
                                           [&](ExpIsa b) { return isa == exp_isa_name(b); });
          FIALLOC_REQUIRE(named != std::end(all), "exp_values: `isa` must be 'best', 'portable', 'avx2' or "
                                                  "'avx512', got '"
                                                      << isa << "'");
          build = *named;
        }
        VectorXd out = x;
        exp_inplace(out.data(), out.size(), build);
        return out;
      },
      py::arg("x").noconvert(), py::arg("isa") = "best", release,
      "The kernels' exponential elementwise (x clamped to [-708, 709]; the bits every price and path "
      "uses), by the fastest build this CPU runs or the one named (all give the same bits).");
  m.def(
      "exp_isa", [] { return std::string(exp_isa_name(exp_isa())); },
      "The fastest build of the kernels' exponential this CPU runs: 'avx512', 'avx2' or 'portable'.");
  m.def(
      "price_kernel_isa",
      [] { return detail::avx512_prices_available() ? "avx512" : "portable"; },
      "Which build of FlowBook.price this CPU runs: 'avx512' or 'portable' (bitwise the same results).");
  py::class_<FlowBook>(m, "FlowBook",
                       "A validated cash-flow layout with its per-curve-grid caches (the pricing kernel).")
      .def(py::init<ConstIdxRef, ConstVecRef, ConstVecRef>(), FIALLOC_LAYOUT_ARGS)
      .def(
          "price",
          [](const FlowBook& book, ConstVecRef pt, ConstVecRef ldf, int interp, int extrap,
             ConstVecRef sk, ConstVecRef sv, ConstVecRef z) {
            return book.price(make_curve(pt, ldf, interp, extrap, sk, sv), z);
          },
          FIALLOC_CURVE_ARGS, py::arg("z_spreads").noconvert(), release,
          "Present value of each stream off a curve plus z-spread.")
      .def(
          "curve_risk",
          [](const FlowBook& book, ConstVecRef pt, ConstVecRef ldf, int interp, int extrap,
             ConstVecRef sk, ConstVecRef sv, ConstVecRef z, ConstVecRef key_tenors, double bump) {
            CurveRisk r = book.curve_risk(make_curve(pt, ldf, interp, extrap, sk, sv), z,
                                          key_tenors, bump);
            return std::make_tuple(std::move(r.pv), std::move(r.effective_duration),
                                   std::move(r.effective_convexity), std::move(r.spread_duration),
                                   std::move(r.krd));
          },
          FIALLOC_CURVE_ARGS, py::arg("z_spreads").noconvert(), py::arg("key_tenors").noconvert(),
          py::arg("bump"), release,
          "PV, effective duration and convexity, spread duration and key-rate durations.")
      .def("prices_from_yields", &FlowBook::prices_from_yields, py::arg("freq").noconvert(),
           py::arg("yields").noconvert(), release,
           "Present value of each stream at a yield (the book's times are yield times).")
      .def("yields_from_prices", &FlowBook::yields_from_prices, py::arg("freq").noconvert(),
           py::arg("prices").noconvert(), release,
           "Yield of each stream from its present value (the book's times are yield times).")
      .def(
          "yield_risk",
          [](const FlowBook& book, ConstVecRef freq, ConstVecRef y) {
            YieldRisk r = book.yield_risk(freq, y);
            return std::make_tuple(std::move(r.macaulay), std::move(r.modified),
                                   std::move(r.convexity));
          },
          py::arg("freq").noconvert(), py::arg("yields").noconvert(), release,
          "Macaulay duration, modified duration and convexity at a yield.")
      .def(py::pickle(
          [](const FlowBook& book) {
            return py::make_tuple(book.offsets(), book.times(), book.amounts());
          },
          [](const py::tuple& state) {
            return std::make_unique<FlowBook>(state[0].cast<VectorXi64>(),
                                              state[1].cast<VectorXd>(), state[2].cast<VectorXd>());
          }));
}

}  // namespace fialloc::bindings
