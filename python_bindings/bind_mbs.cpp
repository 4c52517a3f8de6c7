// fialloc: Apache-2.0
#include <pybind11/stl.h>

#include "curve_args.hpp"
#include "fialloc/mbs.hpp"

namespace fialloc::bindings {

void register_mbs(py::module_& m) {
  const auto release = py::call_guard<py::gil_scoped_release>();
  m.def(
      "mbs_mortgage_rates",
      [](double a, double sigma, double b, double eta, double rho, ConstVecRef times,
         ConstVecRef log_df_t, ConstVecRef log_df_t_tenor, ConstMatRef x, ConstMatRef y,
         double tenor, double spread) {
        return mbs_mortgage_rates({a, sigma, b, eta, rho}, times, log_df_t, log_df_t_tenor, x, y,
                                  tenor, spread);
      },
      py::arg("a"), py::arg("sigma"), py::arg("b"), py::arg("eta"), py::arg("rho"),
      py::arg("times").noconvert(), py::arg("log_df_t").noconvert(),
      py::arg("log_df_t_tenor").noconvert(), py::arg("x").noconvert(), py::arg("y").noconvert(),
      py::arg("tenor"), py::arg("spread"), release,
      "Mortgage rates on G2++ paths: spread plus the tenor-year zero yield (paths x times).");
  m.def(
      "mbs_value",
      [](ConstVecRef wac, ConstVecRef net_coupon, ConstIdxRef wam, ConstIdxRef age,
         ConstVecRef factor, ConstIdxRef kind, ConstVecRef speed, const std::array<double, 6>& model,
         const std::array<double, 12>& seasonality, int calendar_month, ConstMatRef discount,
         ConstMatRef mortgage_rate, ConstVecRef target, bool solve, bool antithetic, int threads) {
        const PrepayModel pm{model[0], model[1], model[2], model[3], model[4], model[5], seasonality};
        MbsValues v = mbs_value(MbsPoolsView{wac, net_coupon, wam, age, factor, kind, speed}, pm,
                                calendar_month, discount, mortgage_rate, target, solve, antithetic,
                                threads);
        return std::make_tuple(std::move(v.value), std::move(v.oas), std::move(v.std_error),
                               std::move(v.spread_dv), std::move(v.principal));
      },
      py::arg("wac").noconvert(), py::arg("net_coupon").noconvert(), py::arg("wam").noconvert(),
      py::arg("age").noconvert(), py::arg("factor").noconvert(), py::arg("kind").noconvert(),
      py::arg("speed").noconvert(), py::arg("model"), py::arg("seasonality"),
      py::arg("calendar_month"), py::arg("discount").noconvert(),
      py::arg("mortgage_rate").noconvert(), py::arg("target").noconvert(), py::arg("solve"),
      py::arg("antithetic"), py::arg("threads"), release,
      "MBS pools on paths: value, OAS, standard error, spread DV and mean principal by month.");
}

}  // namespace fialloc::bindings
