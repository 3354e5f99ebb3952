// Counter-based random numbers (Philox-4x32-10, Salmon et al., SC'11). A draw is a pure
// function of (seed, stream, element index), so noise does not depend on which rank, thread or
// backend computes it, and no generator state has to be stored or communicated.
#pragma once

#include <kinv/core/compat.hpp>

#include <cstdint>

namespace kinv {

/// Identifies an independent random stream: one per (operator index, draw number).
struct RandomStream {
  std::uint64_t seed = 0;  ///< user seed
  std::uint64_t operator_index = 0;
  std::uint64_t draw = 0;  ///< how many times this operator drew before
};

namespace impl {

struct Philox4x32 {
  std::uint32_t v[4];
};

KOKKOS_INLINE_FUNCTION void mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                      std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b);
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}

/// Philox-4x32 with 10 rounds on counter c and key (k0, k1).
KOKKOS_INLINE_FUNCTION Philox4x32 philox4x32(Philox4x32 c, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(M0, c.v[0], hi0, lo0);
    mulhilo32(M1, c.v[2], hi1, lo1);
    Philox4x32 n;
    n.v[0] = hi1 ^ c.v[1] ^ k0;
    n.v[1] = lo1;
    n.v[2] = hi0 ^ c.v[3] ^ k1;
    n.v[3] = lo0;
    c = n;
    k0 += W0;
    k1 += W1;
  }
  return c;
}

/// Four independent 32-bit words for element `i` of `stream`; `sub` numbers further blocks of
/// four words for the same element (samplers that need more than one block: rejection loops,
/// two-part noise). Sub-blocks live in the top 16 bits of the counter, so elements must number
/// fewer than 2^48; sub-block 0 is the element's first block.
KOKKOS_INLINE_FUNCTION Philox4x32 random_words(const RandomStream& s, std::uint64_t i,
                                               std::uint32_t sub = 0) {
  Philox4x32 c;
  c.v[0] = static_cast<std::uint32_t>(i);
  c.v[1] = static_cast<std::uint32_t>(i >> 32) ^ (sub << 16);
  c.v[2] = static_cast<std::uint32_t>(s.draw);
  c.v[3] = static_cast<std::uint32_t>(s.operator_index);
  // The high halves of draw and operator index are folded into the key.
  const std::uint32_t k0 =
      static_cast<std::uint32_t>(s.seed) ^ static_cast<std::uint32_t>(s.draw >> 32) * 0x85EBCA6Bu;
  const std::uint32_t k1 = static_cast<std::uint32_t>(s.seed >> 32) ^
                           static_cast<std::uint32_t>(s.operator_index >> 32) * 0xC2B2AE35u;
  return philox4x32(c, k0, k1);
}

/// Uniform double in the open interval (0, 1) from two 32-bit words (53 random bits).
KOKKOS_INLINE_FUNCTION double uniform_open01(std::uint32_t a, std::uint32_t b) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(a) << 21) ^ (b >> 11);  // 53 bits
  return (static_cast<double>(bits & ((std::uint64_t(1) << 53) - 1)) + 0.5) *
         (1.0 / 9007199254740992.0);
}

}  // namespace impl

/// A standard normal sample for element i of stream s (Box-Muller on 4 Philox words).
KOKKOS_INLINE_FUNCTION double standard_normal(const RandomStream& s, std::uint64_t i) {
  const impl::Philox4x32 w = impl::random_words(s, i);
  const double u1 = impl::uniform_open01(w.v[0], w.v[1]);
  const double u2 = impl::uniform_open01(w.v[2], w.v[3]);
  return compat::math::sqrt(-2.0 * compat::math::log(u1)) *
         compat::math::cos(2.0 * compat::pi<double>() * u2);
}

/// A uniform sample in (0, 1) for element i of stream s.
KOKKOS_INLINE_FUNCTION double uniform(const RandomStream& s, std::uint64_t i) {
  const impl::Philox4x32 w = impl::random_words(s, i);
  return impl::uniform_open01(w.v[0], w.v[1]);
}

namespace impl {

/// log(k!) for an integer k >= 0 held in a double: exact table below 10, Stirling's series
/// (error below 1e-15 there) above.
KOKKOS_INLINE_FUNCTION double log_factorial(double k) {
  constexpr double table[10] = {0.0,
                                0.0,
                                0.69314718055994530942,
                                1.79175946922805500081,
                                3.17805383034794561964,
                                4.78749174278204599424,
                                6.57925121201010099506,
                                8.52516136106541430017,
                                10.60460290274525022842,
                                12.80182748008146961121};
  if (k < 10) return table[static_cast<int>(k)];
  const double n = k + 1;  // log(k!) = lgamma(k + 1)
  const double r = 1.0 / n, r2 = r * r;
  const double series =
      r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));
  return (n - 0.5) * compat::math::log(n) - n + 0.91893853320467274178 + series;
}

}  // namespace impl

/// A Poisson sample of mean `lambda` for element i of stream s, using sub-blocks sub0,
/// sub0 + 1, ... of the element's random words. Below a mean of 10: inversion of the CDF with
/// one uniform; from 10 on: Hoermann's transformed rejection with squeeze (PTRS, 1993), about
/// 1.2 blocks per sample. A mean <= 0 gives 0; a NaN mean gives NaN.
KOKKOS_INLINE_FUNCTION double poisson(const RandomStream& s, std::uint64_t i, double lambda,
                                      std::uint32_t sub0 = 0) {
  if (lambda != lambda) return lambda;
  if (!(lambda > 0)) return 0;
  if (lambda < 10) {
    const impl::Philox4x32 w = impl::random_words(s, i, sub0);
    const double u = impl::uniform_open01(w.v[0], w.v[1]);
    double p = compat::math::exp(-lambda), cdf = p, k = 0;
    // Past k = 200 the terms underflow for any mean below 10: the cap only ends the walk when
    // rounding keeps the CDF below u.
    while (u > cdf && k < 200) {
      k += 1;
      p *= lambda / k;
      cdf += p;
    }
    return k;
  }
  const double slam = compat::math::sqrt(lambda), loglam = compat::math::log(lambda);
  const double b = 0.931 + 2.53 * slam;
  const double a = -0.059 + 0.02483 * b;
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
  const double vr = 0.9277 - 3.6224 / (b - 2);
  // Each attempt is accepted with probability above 0.8, so 1000 attempts never all fail in
  // practice; the bound keeps the loop finite whatever the input.
  for (std::uint32_t attempt = 0; attempt < 1000; ++attempt) {
    const impl::Philox4x32 w = impl::random_words(s, i, sub0 + attempt);
    const double U = impl::uniform_open01(w.v[0], w.v[1]) - 0.5;
    const double V = impl::uniform_open01(w.v[2], w.v[3]);
    const double us = 0.5 - compat::math::fabs(U);
    const double k = compat::math::floor((2 * a / us + b) * U + lambda + 0.43);
    if (us >= 0.07 && V <= vr) return k;
    if (k < 0 || (us < 0.013 && V > us)) continue;
    if (compat::math::log(V * inv_alpha / (a / (us * us) + b)) <=
        -lambda + k * loglam - impl::log_factorial(k))
      return k;
  }
  return compat::math::floor(lambda);
}

}  // namespace kinv
