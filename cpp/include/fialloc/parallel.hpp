// fialloc: Apache-2.0
#pragma once
//! Splitting a loop over threads: contiguous chunks, deterministic results whatever the count.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace fialloc {

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

}  // namespace fialloc
