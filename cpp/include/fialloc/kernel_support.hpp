// fialloc: Apache-2.0
#pragma once
//! Internal support shared by the path kernels: deterministic thread splitting and input checks.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

#include "fialloc/errors.hpp"
#include "fialloc/types.hpp"

// Runtime dispatch between baseline, AVX2 and AVX-512 builds of the same function (GCC/Clang on
// ELF). Files using it are compiled without floating-point contraction, so all builds round alike.
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define FIALLOC_KERNEL_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FIALLOC_KERNEL_CLONES
#endif

namespace fialloc::detail {

//! (1 - e^{-k tau}) / k: the integral of e^{-k u} over [0, tau].
inline double b_fn(double k, double tau) { return -std::expm1(-k * tau) / k; }

// Threads for `work` items: what was asked (all cores when 0), never more than the cores or
// the items; asking for more threads than cores only adds switching.
inline int resolve_threads(int threads, std::int64_t work) {
  const int cores = std::max(static_cast<int>(std::thread::hardware_concurrency()), 1);
  const int n = threads > 0 ? std::min(threads, cores) : cores;
  return static_cast<int>(std::min<std::int64_t>(n, std::max<std::int64_t>(work, 1)));
}

// Run body(begin, end) on [0, n) split in contiguous chunks over threads; exceptions are
// collected and the first one rethrown after every thread has joined. A thread that cannot be
// started (a container's pid limit, a sandbox's thread cap) leaves its chunks to the calling
// thread: same chunks, same results, fewer threads.
template <class Body>
void parallel_for(std::int64_t n, int threads, Body&& body) {
  const int nt = resolve_threads(threads, n);
  if (nt == 1) {
    body(std::int64_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(nt));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(nt));
  const std::int64_t chunk = (n + nt - 1) / nt;
  auto run = [&](int t) {
    const std::int64_t lo = t * chunk, hi = std::min(n, lo + chunk);
    try {
      if (lo < hi) body(lo, hi);
    } catch (...) {
      errors[static_cast<std::size_t>(t)] = std::current_exception();
    }
  };
  int started = 1;  // chunk 0 runs on the calling thread
  for (; started < nt; ++started) {
    try {
      pool.emplace_back(run, started);
    } catch (const std::system_error&) {
      break;
    }
  }
  run(0);
  for (int t = started; t < nt; ++t) run(t);
  for (auto& th : pool) th.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

inline void check_grid(ConstVecRef times, const char* where, const char* name, bool allow_zero) {
  FIALLOC_REQUIRE(times.size() >= 1, where << ": `" << name << "` is empty");
  for (Eigen::Index i = 0; i < times.size(); ++i) {
    const double lo = i == 0 ? 0.0 : times[i - 1];
    const bool ok =
        std::isfinite(times[i]) && (times[i] > lo || (allow_zero && i == 0 && times[i] == 0.0));
    FIALLOC_REQUIRE(ok, where << ": `" << name << "` must be finite, "
                              << (allow_zero ? "non-negative" : "positive")
                              << " and strictly increasing; entry " << i << " is " << times[i]);
  }
}

inline void check_finite(ConstVecRef v, Eigen::Index n, const char* where, const char* name) {
  FIALLOC_REQUIRE(v.size() == n,
                  where << ": `" << name << "` has " << v.size() << " entries, expected " << n);
  for (Eigen::Index i = 0; i < n; ++i) {
    FIALLOC_REQUIRE(std::isfinite(v[i]), where << ": `" << name << "` entry " << i << " is " << v[i]);
  }
}

}  // namespace fialloc::detail
