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

/// Four independent 32-bit words for element `i` of `stream`.
KOKKOS_INLINE_FUNCTION Philox4x32 random_words(const RandomStream& s, std::uint64_t i) {
  Philox4x32 c;
  c.v[0] = static_cast<std::uint32_t>(i);
  c.v[1] = static_cast<std::uint32_t>(i >> 32);
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

}  // namespace kinv
