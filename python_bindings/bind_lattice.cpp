// fialloc: Apache-2.0
#include "curve_args.hpp"
#include "fialloc/lattice.hpp"

namespace fialloc::bindings {

namespace {
#define FIALLOC_EXERCISE_ARGS                                                                \
  py::arg("exercise_offsets").noconvert(), py::arg("exercise_times").noconvert(),           \
      py::arg("exercise_prices").noconvert(), py::arg("exercise_kinds").noconvert()
}  // namespace

void register_lattice(py::module_& m) {
  const auto release = py::call_guard<py::gil_scoped_release>();
  m.def(
      "hw_lattice_prices",
      [](double a, double sigma, ConstIdxRef o, ConstVecRef t, ConstVecRef amt, ConstIdxRef eo,
         ConstVecRef et, ConstVecRef ep, ConstIdxRef ek, ConstVecRef pt, ConstVecRef ldf,
         int interp, int extrap, ConstVecRef sk, ConstVecRef sv, ConstVecRef spreads,
         ConstIdxRef steps, int threads) {
        return hw_lattice_prices({a, sigma}, CashflowView{o, t, amt}, ExerciseView{eo, et, ep, ek},
                                 make_curve(pt, ldf, interp, extrap, sk, sv), spreads, steps,
                                 threads);
      },
      py::arg("a"), py::arg("sigma"), FIALLOC_LAYOUT_ARGS, FIALLOC_EXERCISE_ARGS,
      FIALLOC_CURVE_ARGS, py::arg("spreads").noconvert(), py::arg("steps").noconvert(),
      py::arg("threads") = 0, release,
      "Dirty value of each stream with its call/put schedule on a Hull-White trinomial lattice.");
  m.def(
      "hw_lattice_spreads",
      [](double a, double sigma, ConstIdxRef o, ConstVecRef t, ConstVecRef amt, ConstIdxRef eo,
         ConstVecRef et, ConstVecRef ep, ConstIdxRef ek, ConstVecRef pt, ConstVecRef ldf,
         int interp, int extrap, ConstVecRef sk, ConstVecRef sv, ConstVecRef prices,
         ConstIdxRef steps, int threads) {
        return hw_lattice_spreads({a, sigma}, CashflowView{o, t, amt},
                                  ExerciseView{eo, et, ep, ek},
                                  make_curve(pt, ldf, interp, extrap, sk, sv), prices, steps,
                                  threads);
      },
      py::arg("a"), py::arg("sigma"), FIALLOC_LAYOUT_ARGS, FIALLOC_EXERCISE_ARGS,
      FIALLOC_CURVE_ARGS, py::arg("prices").noconvert(), py::arg("steps").noconvert(),
      py::arg("threads") = 0, release,
      "Option-adjusted spread of each stream from its dirty value on a Hull-White lattice.");
  m.def(
      "hw_lattice_prices_on_curves",
      [](double a, double sigma, ConstIdxRef o, ConstVecRef t, ConstVecRef amt, ConstIdxRef eo,
         ConstVecRef et, ConstVecRef ep, ConstIdxRef ek, ConstVecRef pt, ConstVecRef ldf,
         int interp, int extrap, ConstVecRef sk, ConstVecRef sv, ConstVecRef knots,
         ConstMatRef bumps, ConstVecRef spreads, ConstIdxRef steps, int threads) {
        return hw_lattice_prices_on_curves(
            {a, sigma}, CashflowView{o, t, amt}, ExerciseView{eo, et, ep, ek},
            make_curve(pt, ldf, interp, extrap, sk, sv), knots, bumps, spreads, steps, threads);
      },
      py::arg("a"), py::arg("sigma"), FIALLOC_LAYOUT_ARGS, FIALLOC_EXERCISE_ARGS,
      FIALLOC_CURVE_ARGS, py::arg("knots").noconvert(), py::arg("bumps").noconvert(),
      py::arg("spreads").noconvert(), py::arg("steps").noconvert(), py::arg("threads") = 0,
      release,
      "Dirty values (streams x curves) on one lattice geometry per stream, one curve per row "
      "of zero-rate bumps at `knots`.");
}

}  // namespace fialloc::bindings
