// fialloc: Apache-2.0
#include "curve_args.hpp"
#include "fialloc/g2.hpp"
#include "fialloc/path_revalue.hpp"

namespace fialloc::bindings {

namespace {
#define FIALLOC_G2_ARGS py::arg("a"), py::arg("sigma"), py::arg("b"), py::arg("eta"), py::arg("rho")
}  // namespace

void register_g2(py::module_& m) {
  const auto release = py::call_guard<py::gil_scoped_release>();
  m.def(
      "simulate_g2",
      [](double a, double sigma, double b, double eta, double rho, ConstVecRef times,
         ConstVecRef log_dfs, std::int64_t first_path, std::int64_t n_paths, std::uint64_t seed,
         bool antithetic, int threads) {
        G2Paths out;
        {
          const py::gil_scoped_release release_gil;
          out = simulate_g2({a, sigma, b, eta, rho}, times, log_dfs, first_path, n_paths, seed,
                            antithetic, threads);
        }
        // Three row blocks of one array (views sharing its buffer).
        const py::array states = py::cast(std::move(out.states));
        return py::make_tuple(states[py::slice(0, n_paths, 1)],
                              states[py::slice(n_paths, 2 * n_paths, 1)],
                              states[py::slice(2 * n_paths, 3 * n_paths, 1)]);
      },
      FIALLOC_G2_ARGS, py::arg("times").noconvert(), py::arg("log_dfs").noconvert(),
      py::arg("first_path"), py::arg("n_paths"), py::arg("seed"), py::arg("antithetic"), py::arg("threads"),
      "Exact G2++ paths: x, y and stochastic discount factors (paths x times).");
  m.def(
      "g2_zero_bonds",
      [](double a, double sigma, double b, double eta, double rho, double t, double log_df_t,
         ConstVecRef maturities, ConstVecRef log_df_T, ConstVecRef x, ConstVecRef y) {
        return g2_zero_bonds({a, sigma, b, eta, rho}, t, log_df_t, maturities, log_df_T, x, y);
      },
      FIALLOC_G2_ARGS, py::arg("t"), py::arg("log_df_t"), py::arg("maturities").noconvert(),
      py::arg("log_df_T").noconvert(), py::arg("x").noconvert(), py::arg("y").noconvert(),
      release, "Zero-coupon bond prices P(t, T | x, y): states x maturities.");
  m.def(
      "g2_revalue",
      [](double a, double sigma, double b, double eta, double rho, ConstIdxRef o, ConstVecRef t,
         ConstVecRef amt, ConstVecRef log_df_flows, ConstVecRef z, ConstVecRef horizons,
         ConstVecRef log_df_h, ConstMatRef x, ConstMatRef y, ConstIdxRef holder_offsets,
         ConstIdxRef holder_streams, ConstVecRef holder_units, ConstIdxRef groups,
         ConstMatRef spread_moves, int threads) {
        return g2_revalue({a, sigma, b, eta, rho}, CashflowView{o, t, amt}, log_df_flows, z,
                          horizons, log_df_h, x, y,
                          Holdings{holder_offsets, holder_streams, holder_units}, groups,
                          spread_moves, threads);
      },
      FIALLOC_G2_ARGS, FIALLOC_LAYOUT_ARGS, py::arg("log_df_flows").noconvert(),
      py::arg("z_spreads").noconvert(), py::arg("horizons").noconvert(),
      py::arg("log_df_h").noconvert(), py::arg("x").noconvert(), py::arg("y").noconvert(),
      py::arg("holder_offsets").noconvert(), py::arg("holder_streams").noconvert(),
      py::arg("holder_units").noconvert(), py::arg("groups").noconvert(),
      py::arg("spread_moves").noconvert(), py::arg("threads"), release,
      "Value of each holder's flows after each horizon on each path (paths x horizons*holders).");
  py::class_<G2Revaluation>(m, "G2Revaluation",
                            "g2_revalue's path-independent plan, built once and applied to any "
                            "number of path sets (bitwise g2_revalue on each).")
      .def(py::init([](double a, double sigma, double b, double eta, double rho, ConstIdxRef o,
                       ConstVecRef t, ConstVecRef amt, ConstVecRef log_df_flows, ConstVecRef z,
                       ConstVecRef horizons, ConstVecRef log_df_h, ConstIdxRef holder_offsets,
                       ConstIdxRef holder_streams, ConstVecRef holder_units, ConstIdxRef groups,
                       std::int64_t n_groups) {
             return G2Revaluation({a, sigma, b, eta, rho}, CashflowView{o, t, amt}, log_df_flows,
                                  z, horizons, log_df_h,
                                  Holdings{holder_offsets, holder_streams, holder_units}, groups,
                                  n_groups);
           }),
           FIALLOC_G2_ARGS, FIALLOC_LAYOUT_ARGS, py::arg("log_df_flows").noconvert(),
           py::arg("z_spreads").noconvert(), py::arg("horizons").noconvert(),
           py::arg("log_df_h").noconvert(), py::arg("holder_offsets").noconvert(),
           py::arg("holder_streams").noconvert(), py::arg("holder_units").noconvert(),
           py::arg("groups").noconvert(), py::arg("n_groups"), release)
      .def("revalue", &G2Revaluation::revalue, py::arg("x").noconvert(), py::arg("y").noconvert(),
           py::arg("spread_moves").noconvert(), py::arg("threads"), release,
           "Paths x (horizons * holders), as g2_revalue.");
  m.def(
      "bank_monthly_cash",
      [](const py::list& weights, const py::list& cashes, Eigen::Index n_paths,
         Eigen::Index holders, ConstIdxRef cols) {
        using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
        std::vector<Array> kept;  // owns any converted copy while the kernel runs
        std::vector<ConstMatRef> w, c;
        auto matrix = [&](const py::handle& item, const char* name) {
          Array a = Array::ensure(item);
          if (!a || a.ndim() != 2) {
            throw std::invalid_argument(std::string("bank_monthly_cash: every entry of `") +
                                        name + "` must be a 2-d float array");
          }
          kept.push_back(a);
          return Eigen::Map<const RowMatrixXd>(a.data(), a.shape(0), a.shape(1));
        };
        for (const auto& item : weights) w.emplace_back(matrix(item, "weights"));
        for (const auto& item : cashes) c.emplace_back(matrix(item, "cashes"));
        py::gil_scoped_release unlocked;
        return bank_monthly_cash(w, c, n_paths, holders, cols);
      },
      py::arg("weights"), py::arg("cashes"), py::arg("n_paths"), py::arg("holders"),
      py::arg("cols").noconvert(),
      "Monthly cash of blocks, weighted and banked to months `cols` (paths x cols*holders).");
  m.def("g2_factor_normals", &g2_factor_normals, py::arg("seed"), py::arg("first_path"),
        py::arg("n_paths"), py::arg("n_steps"), py::arg("n_factors"), py::arg("antithetic"),
        py::arg("first_stream") = 16, release, "Standard normals for extra risk factors, keyed by (seed, path).");
  m.def(
      "g2_swaption",
      [](double a, double sigma, double b, double eta, double rho, double expiry,
         double log_df_expiry, ConstVecRef pay_times, ConstVecRef accruals, ConstVecRef log_df_pay,
         double strike, bool payer, double range, int intervals) {
        return g2_swaption({a, sigma, b, eta, rho}, expiry, log_df_expiry, pay_times, accruals,
                           log_df_pay, strike, payer, range, intervals);
      },
      FIALLOC_G2_ARGS, py::arg("expiry"), py::arg("log_df_expiry"),
      py::arg("pay_times").noconvert(), py::arg("accruals").noconvert(),
      py::arg("log_df_pay").noconvert(), py::arg("strike"), py::arg("payer"),
      py::arg("range") = 8.0, py::arg("intervals") = 64, release,
      "European swaption price per unit notional (closed form, one-dimensional integral).");
}

}  // namespace fialloc::bindings
