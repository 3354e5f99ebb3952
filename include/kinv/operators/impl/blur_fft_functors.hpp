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

/// 1 if w[f, a, b] != w[f, (H - a) mod H, (W - b) mod W]: counts where the embedded filter
/// planes are not even. An even real plane has a real spectrum.
template <class T>
struct BlurFFTNotEven {
  Kokkos::View<const T*, MemorySpace> w;
  std::int64_t H, W;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i, std::int64_t& count) const {
    const std::int64_t P = H * W;
    const std::int64_t f = i / P, p = i % P, a = p / W, b = p % W;
    const std::int64_t m = f * P + ((H - a) % H) * W + (W - b) % W;
    if (w(i) != w(m)) ++count;
  }
};

/// Kr[i] = real(K[i]): the spectra of even filter planes, whose imaginary parts are rounding.
template <class T>
struct BlurFFTRealPart {
  Kokkos::View<const Kokkos::complex<T>*, MemorySpace> K;
  Kokkos::View<T*, MemorySpace> Kr;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const { Kr(i) = K(i).real(); }
};

/// The data of the spectral product: plane q of w (half spectra of `half` values each), which
/// is plane q0 + q = b C + c of the input, times filter plane (b if fb > 1 else 0) fc +
/// (c if fc > 1 else 0) of K (complex spectra) or Kr (real spectra of even filters), in work
/// items of `run` consecutive values of one plane (`runs` items per plane).
template <class T>
struct BlurFFTProduct {
  ComplexBuffer<T> w;
  ComplexBuffer<T> K;
  Kokkos::View<T*, MemorySpace> Kr;
  std::int64_t half, run, runs;
  std::int64_t q0, C, fb, fc;  // fb, fc: the filter's batch and channel extents

  /// The filter plane's offset in K or Kr, for item i; [p0, p1) its values of plane q.
  KOKKOS_INLINE_FUNCTION std::int64_t filter_offset(const std::int64_t i, std::int64_t& q,
                                                    std::int64_t& p0, std::int64_t& p1) const {
    q = i / runs;
    p0 = (i - q * runs) * run;
    p1 = p0 + run < half ? p0 + run : half;
    const std::int64_t b = (q0 + q) / C, c = (q0 + q) - b * C;
    return ((fb == 1 ? 0 : b) * fc + (fc == 1 ? 0 : c)) * half;
  }
};

/// w *= K (or conj(K) for the adjoint, a correlation), per BlurFFTProduct.
template <class T, bool Conjugate>
struct BlurFFTMultiply {
  BlurFFTProduct<T> d;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    std::int64_t q, p0, p1;
    const std::int64_t ko = d.filter_offset(i, q, p0, p1), wo = q * d.half;
    for (std::int64_t p = p0; p < p1; ++p) {
      const Kokkos::complex<T> k = d.K(ko + p);
      const Kokkos::complex<T> v = d.w(wo + p);
      const T kr = k.real(), ki = Conjugate ? -k.imag() : k.imag();
      d.w(wo + p) =
          Kokkos::complex<T>(kr * v.real() - ki * v.imag(), kr * v.imag() + ki * v.real());
    }
  }
};

/// w *= Kr for even filters (their own adjoints: the correlation is the convolution).
template <class T>
struct BlurFFTMultiplyReal {
  BlurFFTProduct<T> d;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    std::int64_t q, p0, p1;
    const std::int64_t ko = d.filter_offset(i, q, p0, p1), wo = q * d.half;
    for (std::int64_t p = p0; p < p1; ++p) {
      const T k = d.Kr(ko + p);
      const Kokkos::complex<T> v = d.w(wo + p);
      d.w(wo + p) = Kokkos::complex<T>(k * v.real(), k * v.imag());
    }
  }
};

}  // namespace impl
}  // namespace kinv
