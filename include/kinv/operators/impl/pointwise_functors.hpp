// Kernels of Denoising (the identity) and Decolorize (a weighted sum over the channel axis and
// its transpose, a broadcast times the weights). One output element per index, no atomics.
#pragma once

#include <kinv/core/tensor.hpp>

#include <cstdint>

namespace kinv {
namespace impl {

/// out = in (or out += in).
template <class T, bool Accumulate>
struct IdentityCopy {
  Kokkos::View<const T*, MemorySpace> in;
  Kokkos::View<T*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    if (Accumulate)
      out(i) += in(i);
    else
      out(i) = in(i);
  }
};

/// y(b, 0, p) = sum_c w(c) x(b, c, p) for x of shape (B, C, P) (P: the pixels after the
/// channel axis), summed in channel order.
template <class T>
struct ChannelWeightedSum {
  Kokkos::View<const T*, MemorySpace> x;
  Kokkos::View<const T*, MemorySpace> w;
  Kokkos::View<T*, MemorySpace> y;
  std::int64_t C = 1, P = 1;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t idx) const {
    const std::int64_t p = idx % P;
    const std::int64_t b = idx / P;
    const std::int64_t x0 = b * C * P + p;
    T acc = T(0);
    for (std::int64_t c = 0; c < C; ++c) acc += w(c) * x(x0 + c * P);
    y(idx) = acc;
  }
};

/// x(b, c, p) = w(c) y(b, 0, p) (or +=): the transpose of ChannelWeightedSum.
template <class T, bool Accumulate>
struct ChannelBroadcast {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<const T*, MemorySpace> w;
  Kokkos::View<T*, MemorySpace> x;
  std::int64_t C = 1, P = 1;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t idx) const {
    const std::int64_t p = idx % P;
    const std::int64_t q = idx / P;
    const std::int64_t c = q % C;
    const std::int64_t b = q / C;
    const T v = w(c) * y(b * P + p);
    if (Accumulate)
      x(idx) += v;
    else
      x(idx) = v;
  }
};

}  // namespace impl
}  // namespace kinv
