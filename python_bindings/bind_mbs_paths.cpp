// fialloc: Apache-2.0
#include <pybind11/stl.h>

#include "curve_args.hpp"
#include "fialloc/mbs_paths.hpp"

namespace fialloc::bindings {

void register_mbs_paths(py::module_& m) {
  m.def(
      "mbs_path_values",
      [](ConstVecRef wac, ConstVecRef net_coupon, ConstIdxRef wam, ConstIdxRef age,
         ConstVecRef factor, ConstIdxRef kind, ConstVecRef speed, const std::array<double, 6>& model,
         const std::array<double, 12>& seasonality, int calendar_month, double a, double sigma,
         double b, double eta, double rho, ConstVecRef log_df, ConstVecRef log_df_tenor,
         double tenor, double mortgage_spread, ConstMatRef x, ConstMatRef y, ConstMatRef bank,
         ConstIdxRef horizon_months, ConstVecRef spread, bool realized, int threads) {
        const PrepayModel pm{model[0], model[1], model[2], model[3], model[4], model[5], seasonality};
        MbsPathValues v = mbs_path_values(
            MbsPoolsView{wac, net_coupon, wam, age, factor, kind, speed}, pm, calendar_month,
            {a, sigma, b, eta, rho}, log_df, log_df_tenor, tenor, mortgage_spread, x, y, bank,
            horizon_months, spread, realized, threads);
        return std::make_tuple(std::move(v.banked), std::move(v.balance), std::move(v.realized),
                               std::move(v.realized_dv));
      },
      py::arg("wac").noconvert(), py::arg("net_coupon").noconvert(), py::arg("wam").noconvert(),
      py::arg("age").noconvert(), py::arg("factor").noconvert(), py::arg("kind").noconvert(),
      py::arg("speed").noconvert(), py::arg("model"), py::arg("seasonality"),
      py::arg("calendar_month"), py::arg("a"), py::arg("sigma"), py::arg("b"), py::arg("eta"),
      py::arg("rho"), py::arg("log_df").noconvert(), py::arg("log_df_tenor").noconvert(),
      py::arg("tenor"), py::arg("mortgage_spread"), py::arg("x").noconvert(),
      py::arg("y").noconvert(), py::arg("bank").noconvert(),
      py::arg("horizon_months").noconvert(), py::arg("spread").noconvert(),
      py::arg("realized"),
      py::arg("threads"),
      py::call_guard<py::gil_scoped_release>(),
      "MBS pools on scenario paths: banked cash, the balance left at each horizon and (with "
      "realized) the path's own later flows and their spread sensitivity (paths x horizons*pools).");
}

}  // namespace fialloc::bindings
