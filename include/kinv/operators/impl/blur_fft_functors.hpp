// Kernels of BlurFFT: the filter embedded in the image grid, real <-> complex moves and the
// pointwise product with the filter's spectrum.
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
  ComplexBuffer<T> w;
  std::int64_t H, W, h, kw;
  T s;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t P = H * W;
    const std::int64_t f = i / P, p = i % P;
    T val = T(0);
    for (std::int64_t u = (p / W + h / 2) % H; u < h; u += H)
      for (std::int64_t v = (p % W + kw / 2) % W; v < kw; v += W) val += k((f * h + u) * kw + v);
    w(i) = Kokkos::complex<T>(s * val, T(0));
  }
};

/// Grid g of w holds plane g of x (imaginary part 0), or with `pair` planes 2 g and 2 g + 1 as
/// its real and imaginary parts (0 past the last plane). One index per grid point.
template <class T>
struct BlurFFTPack {
  Kokkos::View<const T*, MemorySpace> x;
  ComplexBuffer<T> w;
  std::int64_t P, planes;
  bool pair;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    if (!pair) {
      w(i) = Kokkos::complex<T>(x(i), T(0));
      return;
    }
    const std::int64_t g = i / P, p = i - g * P, q = 2 * g;
    w(i) = Kokkos::complex<T>(x(q * P + p), q + 1 < planes ? x((q + 1) * P + p) : T(0));
  }
};

/// out (+)= the plane of w that BlurFFTPack put it in. One index per element of out.
template <class T, bool Accumulate>
struct BlurFFTUnpack {
  ComplexBuffer<T> w;
  Kokkos::View<T*, MemorySpace> out;
  std::int64_t P;
  bool pair;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    T v;
    if (pair) {
      const std::int64_t q = i / P, p = i - q * P;
      const Kokkos::complex<T> z = w((q / 2) * P + p);
      v = (q % 2 == 0) ? z.real() : z.imag();
    } else {
      v = w(i).real();
    }
    if (Accumulate)
      out(i) += v;
    else
      out(i) = v;
  }
};

/// w[grid, :] *= K[the filter plane of the grid's (first) plane, :], conjugated for the
/// adjoint; plane q = b C + c is grid q, or grid q / 2 with `pair`.
template <class T, bool Conjugate>
struct BlurFFTMultiply {
  ComplexBuffer<T> w;
  ComplexBuffer<T> K;
  std::int64_t P, C, fb, fc;  // fb, fc: the filter's batch and channel extents
  bool pair;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t t = (pair ? 2 : 1) * (i / P);
    const std::int64_t b = t / C, c = t % C;
    const std::int64_t f = (fb == 1 ? 0 : b) * fc + (fc == 1 ? 0 : c);
    const Kokkos::complex<T> k = K(f * P + i % P);
    const Kokkos::complex<T> v = w(i);
    const T kr = k.real(), ki = Conjugate ? -k.imag() : k.imag();
    w(i) = Kokkos::complex<T>(kr * v.real() - ki * v.imag(), kr * v.imag() + ki * v.real());
  }
};

}  // namespace impl
}  // namespace kinv
