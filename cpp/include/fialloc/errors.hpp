// fialloc: Apache-2.0
#pragma once
//! Error handling for the numeric core: streamed-message checks in the style of QL_REQUIRE.

#include <sstream>
#include <stdexcept>
#include <string>

namespace fialloc {

//! Raised when an iterative solver does not reach its tolerance.
class ConvergenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] inline void throw_invalid(const std::string& msg) { throw std::invalid_argument(msg); }
}  // namespace detail

}  // namespace fialloc

/*! Check an input condition; on failure throw std::invalid_argument with a streamed message.
    Messages name the function, the argument in backticks, the bad value and what was expected. */
#define FIALLOC_REQUIRE(cond, msg)                 \
  do {                                             \
    if (!(cond)) {                                 \
      std::ostringstream fialloc_require_os_;      \
      fialloc_require_os_ << msg;                  \
      ::fialloc::detail::throw_invalid(fialloc_require_os_.str()); \
    }                                              \
  } while (false)
