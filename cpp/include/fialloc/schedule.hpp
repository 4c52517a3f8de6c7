// fialloc: Apache-2.0
#pragma once
//! Calendar arithmetic for cash-flow schedules: dates, month shifts, day counts, backward
//! unadjusted coupon schedules, and the flows of curve instruments built from them.

/*! Dates are proleptic Gregorian day numbers as Python's `date.toordinal()` counts them
    (0001-01-01 is 1). Schedules are unadjusted (no holiday calendar) and generated backward from
    maturity, each date being maturity - k periods with the day clamped to the month's end, as
    QuantLib's `Schedule` does with `DateGeneration.Backward`, `NullCalendar` and `Unadjusted`.
    Every function here repeats `fialloc.schedule` in Python operation for operation, so the two
    give the same doubles. */

#include <cstdint>
#include <vector>

#include "fialloc/types.hpp"

namespace fialloc {

//! The day counts of fialloc.schedule.DAY_COUNTS, in that order.
enum class DayCount : int {
  Act365F = 0,
  Act360 = 1,
  ActActIsda = 2,
  ActActIcma = 3,
  Thirty360 = 4,
  Thirty360E = 5,
};

struct CivilDate {
  int year;
  int month;  //!< 1..12
  int day;    //!< 1..31
};

CivilDate civil_from_ordinal(std::int64_t ordinal);
std::int64_t ordinal_from_civil(const CivilDate& d);
//! `d` shifted by whole months, the day clamped to the target month's end.
std::int64_t add_months(std::int64_t ordinal, int months);

/*! Year fraction from `start` to `end` under `dc`; ACT/ACT ICMA reads the regular coupon period
    [ref_start, ref_end] and the coupon frequency. */
double year_fraction(std::int64_t start, std::int64_t end, DayCount dc, std::int64_t ref_start,
                     std::int64_t ref_end, int frequency);

//! Regular dates maturity - k * months back to the first on or before `start`, increasing.
std::vector<std::int64_t> backward_dates(std::int64_t maturity, int months, std::int64_t start);

//! Curve instruments laid out back to back: per flow the Act/365F time, accrual and principal.
struct InstrumentFlows {
  VectorXi64 offsets;
  VectorXd times;
  VectorXd accruals;
  VectorXd principal;
};

/*! Flows per unit notional of curve instruments valued at `valuation`: a deposit (frequency 0)
    pays rate * accrual + 1 at maturity; a swap's fixed leg or a par bond (frequency 1, 2, 4 or
    12 a year) pays rate * accrual on each date of its backward schedule, the first period
    accruing from `valuation`, plus 1 at maturity. Throws std::invalid_argument naming the
    instrument on a maturity not after `valuation`, a frequency or day-count code out of range,
    or ACT/ACT ICMA on a deposit. */
InstrumentFlows instrument_flows(std::int64_t valuation, ConstIdxRef maturities,
                                 ConstIdxRef frequencies, ConstIdxRef day_counts);

}  // namespace fialloc
