// Kernels of BlurFFT: the filter embedded in the image grid, real <-> complex moves and the
// pointwise product with the filter's spectrum.
#pragma once

#include <kinv/core/tensor.hpp>

namespace kinv {
namespace impl {

template <class T>
using ComplexBuffer = Kokkos::View<Kokkos::complex<T>*, MemorySpace>;

/// w[f, i, j] = s k[f, (i + h // 2) mod H, (j + w // 2) mod W] where that is inside the
/// filter, else 0: deepinv's filter_fft padding and roll by -(f // 2), scaled by s.
template <class T>
struct BlurFFTEmbedFilter {
  Kokkos::View<const T*, MemorySpace> k;
  ComplexBuffer<T> w;
  std::int64_t H, W, h, kw;
  T s;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t P = H * W;
    const std::int64_t f = i / P, p = i % P;
    const std::int64_t u = (p / W + h / 2) % H, v = (p % W + kw / 2) % W;
    const T val = (u < h && v < kw) ? s * k((f * h + u) * kw + v) : T(0);
    w(i) = Kokkos::complex<T>(val, T(0));
  }
};

/// w = x + 0 i.
template <class T>
struct BlurFFTRealToComplex {
  Kokkos::View<const T*, MemorySpace> x;
  ComplexBuffer<T> w;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    w(i) = Kokkos::complex<T>(x(i), T(0));
  }
};

/// w[b, c, :] *= K[(b, c) broadcast over the filter's (fb, fc), :] (conjugated for the adjoint).
template <class T, bool Conjugate>
struct BlurFFTMultiply {
  ComplexBuffer<T> w;
  ComplexBuffer<T> K;
  std::int64_t P, C, fb, fc;  // fb, fc: the filter's batch and channel extents
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t t = i / P;
    const std::int64_t b = t / C, c = t % C;
    const std::int64_t f = (fb == 1 ? 0 : b) * fc + (fc == 1 ? 0 : c);
    const Kokkos::complex<T> k = K(f * P + i % P);
    const Kokkos::complex<T> v = w(i);
    const T kr = k.real(), ki = Conjugate ? -k.imag() : k.imag();
    w(i) = Kokkos::complex<T>(kr * v.real() - ki * v.imag(), kr * v.imag() + ki * v.real());
  }
};

/// out (+)= Re(w).
template <class T, bool Accumulate>
struct BlurFFTRealPart {
  ComplexBuffer<T> w;
  Kokkos::View<T*, MemorySpace> out;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    if (Accumulate)
      out(i) += w(i).real();
    else
      out(i) = w(i).real();
  }
};

}  // namespace impl
}  // namespace kinv
