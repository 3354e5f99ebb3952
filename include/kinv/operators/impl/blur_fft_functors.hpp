// Kernels of BlurFFT: the filter embedded in the image grid and the pointwise product of half
// spectra with the filter's.
#pragma once

#include <kinv/core/tensor.hpp>

namespace kinv {
namespace impl {

template <class T>
using ComplexBuffer = Kokkos::View<Kokkos::complex<T>*, MemorySpace>;

/// w[f, a, b] = s * (sum of the taps k[f, u, v] with u = (a + h // 2) mod H + m H and
/// v = (b + w // 2) mod W + n W inside the filter): deepinv's filter_fft padding and roll by
/// -(f // 2), scaled by s, with taps beyond the grid folded onto it (one term when h <= H and
/// w <= W).
template <class T>
struct BlurFFTEmbedFilter {
  Kokkos::View<const T*, MemorySpace> k;
  Kokkos::View<T*, MemorySpace> w;
  std::int64_t H, W, h, kw;
  T s;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t P = H * W;
    const std::int64_t f = i / P, p = i % P;
    T val = T(0);
    for (std::int64_t u = (p / W + h / 2) % H; u < h; u += H)
      for (std::int64_t v = (p % W + kw / 2) % W; v < kw; v += W) val += k((f * h + u) * kw + v);
    w(i) = s * val;
  }
};

/// The data of the spectral product: plane q = b C + c of w (half spectra of `half` values
/// each) times filter plane (b if fb > 1 else 0) fc + (c if fc > 1 else 0) of K, in work items
/// of `run` consecutive values of one plane (`runs` items per plane).
template <class T>
struct BlurFFTProduct {
  ComplexBuffer<T> w;
  ComplexBuffer<T> K;
  std::int64_t half, run, runs;
  std::int64_t C, fb, fc;  // fb, fc: the filter's batch and channel extents
};

/// w *= K (or conj(K) for the adjoint, a correlation), per BlurFFTProduct.
template <class T, bool Conjugate>
struct BlurFFTMultiply {
  BlurFFTProduct<T> d;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t q = i / d.runs;
    const std::int64_t p0 = (i - q * d.runs) * d.run;
    const std::int64_t p1 = p0 + d.run < d.half ? p0 + d.run : d.half;
    const std::int64_t b = q / d.C, c = q - b * d.C;
    const std::int64_t f = (d.fb == 1 ? 0 : b) * d.fc + (d.fc == 1 ? 0 : c);
    const std::int64_t wo = q * d.half, ko = f * d.half;
    for (std::int64_t p = p0; p < p1; ++p) {
      const Kokkos::complex<T> k = d.K(ko + p);
      const Kokkos::complex<T> v = d.w(wo + p);
      const T kr = k.real(), ki = Conjugate ? -k.imag() : k.imag();
      d.w(wo + p) =
          Kokkos::complex<T>(kr * v.real() - ki * v.imag(), kr * v.imag() + ki * v.real());
    }
  }
};

}  // namespace impl
}  // namespace kinv
