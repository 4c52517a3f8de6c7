// fialloc: Apache-2.0
#include "fialloc/schedule.hpp"

#include <algorithm>

#include "fialloc/errors.hpp"

namespace fialloc {

namespace {

// Python's ordinal of 1970-01-01: the epoch of the civil-date algorithms below.
constexpr std::int64_t kUnixOrdinal = 719163;
// Dates Python's datetime accepts: 0001-01-01 to 9999-12-31.
constexpr std::int64_t kMaxOrdinal = 3652059;

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

double act_act_isda(std::int64_t start, std::int64_t end) {
  if (end < start) return -act_act_isda(end, start);
  const int y1 = civil_from_ordinal(start).year, y2 = civil_from_ordinal(end).year;
  const double len1 = leap(y1) ? 366.0 : 365.0, len2 = leap(y2) ? 366.0 : 365.0;
  if (y1 == y2) return static_cast<double>(end - start) / len1;
  const auto head = static_cast<double>(ordinal_from_civil({y1 + 1, 1, 1}) - start);
  const auto tail = static_cast<double>(end - ordinal_from_civil({y2, 1, 1}));
  return head / len1 + static_cast<double>(y2 - y1 - 1) + tail / len2;
}

}  // namespace

// Howard Hinnant's days_from_civil / civil_from_days, shifted to Python's ordinals.
std::int64_t ordinal_from_civil(const CivilDate& d) {
  const std::int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (d.month + 9) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468 + kUnixOrdinal;
}

CivilDate civil_from_ordinal(std::int64_t ordinal) {
  const std::int64_t z = ordinal - kUnixOrdinal + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const auto day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0)), month, day};
}

namespace {

std::int64_t add_months_civil(const CivilDate& d, int months) {
  const std::int64_t total = std::int64_t{d.year} * 12 + (d.month - 1) + months;
  const auto year = static_cast<int>(total / 12);
  const auto month = static_cast<int>(total % 12) + 1;
  return ordinal_from_civil({year, month, std::min(d.day, days_in_month(year, month))});
}

}  // namespace

std::int64_t add_months(std::int64_t ordinal, int months) {
  return add_months_civil(civil_from_ordinal(ordinal), months);
}

double year_fraction(std::int64_t start, std::int64_t end, DayCount dc, std::int64_t ref_start,
                     std::int64_t ref_end, int frequency) {
  switch (dc) {
    case DayCount::Act365F:
      return static_cast<double>(end - start) / 365.0;
    case DayCount::Act360:
      return static_cast<double>(end - start) / 360.0;
    case DayCount::Thirty360:
    case DayCount::Thirty360E: {
      const CivilDate a = civil_from_ordinal(start), b = civil_from_ordinal(end);
      const int d1 = std::min(a.day, 30);
      const int d2 = (d1 == 30 || dc == DayCount::Thirty360E) ? std::min(b.day, 30) : b.day;
      const int days = 360 * (b.year - a.year) + 30 * (b.month - a.month) + d2 - d1;
      return static_cast<double>(days) / 360.0;
    }
    case DayCount::ActActIsda:
      return act_act_isda(start, end);
    case DayCount::ActActIcma:
      return static_cast<double>(end - start) /
             static_cast<double>((ref_end - ref_start) * frequency);
  }
  FIALLOC_REQUIRE(false, "year_fraction: unknown day count code " << static_cast<int>(dc));
  return 0.0;
}

std::vector<std::int64_t> backward_dates(std::int64_t maturity, int months, std::int64_t start) {
  const CivilDate end = civil_from_ordinal(maturity);
  std::vector<std::int64_t> dates{maturity};
  for (int k = 1; dates.back() > start; ++k) dates.push_back(add_months_civil(end, -k * months));
  std::reverse(dates.begin(), dates.end());
  return dates;
}

InstrumentFlows instrument_flows(std::int64_t valuation, ConstIdxRef maturities,
                                 ConstIdxRef frequencies, ConstIdxRef day_counts) {
  const Eigen::Index n = maturities.size();
  FIALLOC_REQUIRE(frequencies.size() == n && day_counts.size() == n,
                  "instrument_flows: `maturities`, `frequencies` and `day_counts` have "
                      << n << ", " << frequencies.size() << " and " << day_counts.size()
                      << " entries; expected one each per instrument");
  FIALLOC_REQUIRE(valuation >= 1 && valuation <= kMaxOrdinal,
                  "instrument_flows: `valuation` ordinal " << valuation << " is not a date");
  std::vector<double> times, accruals, principal;
  VectorXi64 offsets(n + 1);
  offsets[0] = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const std::int64_t maturity = maturities[i];
    const std::int64_t freq = frequencies[i], code = day_counts[i];
    FIALLOC_REQUIRE(maturity > valuation && maturity <= kMaxOrdinal,
                    "instrument_flows: instrument " << i << " matures on ordinal " << maturity
                                                    << ", not after the valuation date "
                                                    << valuation);
    FIALLOC_REQUIRE(freq == 0 || freq == 1 || freq == 2 || freq == 4 || freq == 12,
                    "instrument_flows: instrument " << i << " has frequency " << freq
                                                    << "; expected 0 (deposit), 1, 2, 4 or 12");
    FIALLOC_REQUIRE(code >= 0 && code <= 5, "instrument_flows: instrument "
                                                << i << " has day-count code " << code
                                                << "; expected 0 to 5");
    const auto dc = static_cast<DayCount>(code);
    if (freq == 0) {
      FIALLOC_REQUIRE(dc != DayCount::ActActIcma,
                      "instrument_flows: instrument " << i
                                                      << " is a deposit: ACT/ACT ICMA needs a coupon schedule");
      times.push_back(static_cast<double>(maturity - valuation) / 365.0);
      accruals.push_back(year_fraction(valuation, maturity, dc, 0, 0, 1));
      principal.push_back(1.0);
    } else {
      const auto f = static_cast<int>(freq);
      const std::vector<std::int64_t> dates = backward_dates(maturity, 12 / f, valuation);
      for (std::size_t k = 1; k < dates.size(); ++k) {
        const std::int64_t ref_start = dates[k - 1], end = dates[k];
        accruals.push_back(year_fraction(std::max(ref_start, valuation), end, dc, ref_start, end, f));
        times.push_back(static_cast<double>(end - valuation) / 365.0);
        principal.push_back(k + 1 == dates.size() ? 1.0 : 0.0);
      }
    }
    offsets[i + 1] = static_cast<std::int64_t>(times.size());
  }
  const auto nf = static_cast<Eigen::Index>(times.size());
  return {offsets, Eigen::Map<const VectorXd>(times.data(), nf),
          Eigen::Map<const VectorXd>(accruals.data(), nf),
          Eigen::Map<const VectorXd>(principal.data(), nf)};
}

}  // namespace fialloc
