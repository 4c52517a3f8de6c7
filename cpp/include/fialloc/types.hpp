// fialloc: Apache-2.0
#pragma once
//! Array aliases shared by the numeric core and a read-only view of the compressed cash-flow layout.

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>

namespace fialloc {

using VectorXd = Eigen::VectorXd;
using VectorXi64 = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstVecRef = Eigen::Ref<const VectorXd>;
using ConstIdxRef = Eigen::Ref<const VectorXi64>;
using ConstMatRef = Eigen::Ref<const RowMatrixXd>;

/*! Many fixed cash-flow streams (bonds, liabilities, curve instruments) stored back to back.

    Stream i owns entries offsets[i] .. offsets[i+1]-1 of `times` (Act/365F years from the
    valuation date) and `amounts` (money per unit of face). Built once, read by every kernel. */
struct CashflowView {
  ConstIdxRef offsets;
  ConstVecRef times;
  ConstVecRef amounts;

  Eigen::Index n_streams() const { return offsets.size() - 1; }
  Eigen::Index begin(Eigen::Index i) const { return static_cast<Eigen::Index>(offsets[i]); }
  Eigen::Index end(Eigen::Index i) const { return static_cast<Eigen::Index>(offsets[i + 1]); }
  //! Flows in the longest stream (offsets validated).
  Eigen::Index max_stream_length() const {
    Eigen::Index longest = 0;
    for (Eigen::Index s = 0; s < n_streams(); ++s) longest = std::max(longest, end(s) - begin(s));
    return longest;
  }
};

/*! Validate a layout's offsets only: they start at 0, end at the number of flows and leave no
    stream empty. Enough for memory safety; hot kernels check the values as they read them. */
void check_offsets(const CashflowView& cf, const char* where);

/*! Validate a layout: offsets start at 0, never decrease, end at the number of flows, every stream
    is non-empty, times are finite, non-negative and non-decreasing within a stream, amounts finite.
    `where` names the calling function in error messages. */
void check_layout(const CashflowView& cf, const char* where);

}  // namespace fialloc
