// fialloc: Apache-2.0
#include "curve_args.hpp"
#include "fialloc/g2_calibration.hpp"

namespace fialloc::bindings {

void register_g2_calibration(py::module_& m) {
  m.def(
      "g2_swaption_prices",
      [](double a, double sigma, double b, double eta, double rho, ConstVecRef expiry,
         ConstVecRef log_df_expiry, ConstIdxRef offsets, ConstVecRef pay_times,
         ConstVecRef accruals, ConstVecRef log_df_pay, ConstVecRef strike, bool gradient,
         double range, int intervals) {
        SwaptionPrices r = g2_swaption_prices(
            {a, sigma, b, eta, rho},
            SwaptionBook{expiry, log_df_expiry, offsets, pay_times, accruals, log_df_pay, strike},
            gradient, range, intervals);
        return std::make_tuple(std::move(r.price), std::move(r.grad));
      },
      py::arg("a"), py::arg("sigma"), py::arg("b"), py::arg("eta"), py::arg("rho"),
      py::arg("expiry").noconvert(), py::arg("log_df_expiry").noconvert(),
      py::arg("offsets").noconvert(), py::arg("pay_times").noconvert(),
      py::arg("accruals").noconvert(), py::arg("log_df_pay").noconvert(),
      py::arg("strike").noconvert(), py::arg("gradient"), py::arg("range") = 8.0,
      py::arg("intervals") = 64, py::call_guard<py::gil_scoped_release>(),
      "Payer swaption prices and (optionally) their gradients in (a, sigma, b, eta, rho).");
}

}  // namespace fialloc::bindings
