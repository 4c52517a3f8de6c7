// fialloc: Apache-2.0
#pragma once
//! Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11), keyed by a seed.

/*! Every draw is a pure function of (seed, counter), so a path's numbers do not depend on
    which thread or chunk computes it, nor on the order of evaluation. */

#include <array>
#include <cmath>
#include <cstdint>

namespace fialloc {

class Philox {
 public:
  using Counter = std::array<std::uint32_t, 4>;

  explicit Philox(std::uint64_t seed)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)} {}

  //! Ten Philox rounds on a counter: four independent 32-bit words.
  Counter operator()(Counter c) const {
    std::uint32_t k0 = key_[0], k1 = key_[1];
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c[0];
      const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c[2];
      c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k0, static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k1, static_cast<std::uint32_t>(p0)};
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    return c;
  }

  //! Two standard normals (Box-Muller) from one counter.
  std::array<double, 2> normals(const Counter& c) const {
    const Counter r = (*this)(c);
    const double u1 = uniform(r[0], r[1]);
    const double u2 = uniform(r[2], r[3]);
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;
    return {radius * std::cos(angle), radius * std::sin(angle)};
  }

 private:
  //! A double in (0, 1) from 53 random bits; never 0, so log is safe.
  static double uniform(std::uint32_t a, std::uint32_t b) {
    const std::uint64_t bits = (std::uint64_t{a} >> 5) * 67108864ull + (b >> 6);
    return (static_cast<double>(bits) + 0.5) * (1.0 / 9007199254740992.0);
  }

  std::array<std::uint32_t, 2> key_;
};

}  // namespace fialloc
