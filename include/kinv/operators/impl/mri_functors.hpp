// Kernels of MRI and MultiCoilMRI. The centred FFT fftshift(fftn(ifftshift(.))) is a plain
// FFT between two index permutations, which these kernels fold into the moves to and from the
// complex workspace: gathering from p = (j + n // 2) mod n is ifftshift, gathering from
// q = (k + (n + 1) // 2) mod n is fftshift.
#pragma once

#include <kinv/core/tensor.hpp>

namespace kinv {
namespace impl {

/// Layout of one MRI problem: x (B, 2, P), y (B, 2, N, P), workspace (B, N, P) complex, P the
/// points of a (D, H, W) grid (D = 1 in 2-D), the mask (Bm, Cm, P), the maps (Bs, 2, N, P).
template <class T>
struct MRIGeometry {
  std::int64_t B = 1, N = 1, P = 1;
  std::int64_t ext[3] = {1, 1, 1};
  std::int64_t ifft_shift[3] = {0, 0, 0};  // n // 2
  std::int64_t fft_shift[3] = {0, 0, 0};   // (n + 1) // 2
  std::int64_t mask_b = 0, mask_c = 0;     // mask strides of the batch and channel (0: broadcast)
  std::int64_t maps_b = 0;                 // maps stride of the batch (0: broadcast)
  T scale = 1;                             // 1 / sqrt(P)

  /// The grid index reached from s by adding `shift` along every axis, modulo the extents.
  KOKKOS_INLINE_FUNCTION std::int64_t shifted(std::int64_t s, const std::int64_t* shift) const {
    const std::int64_t i2 = s % ext[2];
    s /= ext[2];
    const std::int64_t i1 = s % ext[1];
    const std::int64_t i0 = s / ext[1];
    return (((i0 + shift[0]) % ext[0]) * ext[1] + (i1 + shift[1]) % ext[1]) * ext[2] +
           (i2 + shift[2]) % ext[2];
  }
  KOKKOS_INLINE_FUNCTION std::int64_t mask_index(std::int64_t b, int ch, std::int64_t k) const {
    return b * mask_b + ch * mask_c + k;
  }
};

template <class T>
using ComplexWork = Kokkos::View<Kokkos::complex<T>*, MemorySpace>;

/// w[b, c, j] = S_c[p] x[b, p] (or x[b, p] without coils), p the ifftshift source of j.
template <class T, bool HasCoils>
struct MRIForwardPack {
  Kokkos::View<const T*, MemorySpace> x, maps;
  ComplexWork<T> w;
  MRIGeometry<T> g;
  static constexpr bool ifft_source = true;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t t = i / g.P, j = i - t * g.P;
    element(i, t, g.shifted(j, g.ifft_shift));
  }
  /// Element i of plane t, reading grid point p.
  KOKKOS_INLINE_FUNCTION void element(const std::int64_t i, const std::int64_t t,
                                      const std::int64_t p) const {
    const std::int64_t c = t % g.N, b = t / g.N;
    const T xr = x(2 * b * g.P + p), xi = x((2 * b + 1) * g.P + p);
    if (HasCoils) {
      const std::int64_t m = b * g.maps_b + c * g.P + p;
      const T sr = maps(m), si = maps(m + g.N * g.P);
      w(i) = Kokkos::complex<T>(sr * xr - si * xi, sr * xi + si * xr);
    } else {
      w(i) = Kokkos::complex<T>(xr, xi);
    }
  }
};

/// y[b, :, c, k] = mask[b, :, k] * scale * w[b, c, q], q the fftshift source of k.
template <class T>
struct MRIForwardUnpack {
  ComplexWork<T> w;
  Kokkos::View<const T*, MemorySpace> mask;
  Kokkos::View<T*, MemorySpace> y;
  MRIGeometry<T> g;
  static constexpr bool ifft_source = false;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t t = i / g.P, k = i - t * g.P;
    element(i, t, g.shifted(k, g.fft_shift));
  }
  KOKKOS_INLINE_FUNCTION void element(const std::int64_t i, const std::int64_t t,
                                      const std::int64_t q) const {
    const std::int64_t k = i - t * g.P;
    const std::int64_t c = t % g.N, b = t / g.N;
    const Kokkos::complex<T> v = w(t * g.P + q);
    y((2 * b * g.N + c) * g.P + k) = mask(g.mask_index(b, 0, k)) * (g.scale * v.real());
    y(((2 * b + 1) * g.N + c) * g.P + k) = mask(g.mask_index(b, 1, k)) * (g.scale * v.imag());
  }
};

/// w[b, c, j] = mask[b, :, p] * y[b, :, c, p], p the ifftshift source of j.
template <class T>
struct MRIAdjointPack {
  Kokkos::View<const T*, MemorySpace> y, mask;
  ComplexWork<T> w;
  MRIGeometry<T> g;
  static constexpr bool ifft_source = true;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t t = i / g.P, j = i - t * g.P;
    element(i, t, g.shifted(j, g.ifft_shift));
  }
  KOKKOS_INLINE_FUNCTION void element(const std::int64_t i, const std::int64_t t,
                                      const std::int64_t p) const {
    const std::int64_t c = t % g.N, b = t / g.N;
    w(i) = Kokkos::complex<T>(mask(g.mask_index(b, 0, p)) * y((2 * b * g.N + c) * g.P + p),
                              mask(g.mask_index(b, 1, p)) * y(((2 * b + 1) * g.N + c) * g.P + p));
  }
};

/// x[b, :, k] (+)= sum_c conj(S_c[k]) scale w[b, c, q], q the fftshift source of k.
template <class T, bool HasCoils, bool Accumulate>
struct MRIAdjointUnpack {
  ComplexWork<T> w;
  Kokkos::View<const T*, MemorySpace> maps;
  Kokkos::View<T*, MemorySpace> x;
  MRIGeometry<T> g;
  static constexpr bool ifft_source = false;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t b = i / g.P, k = i - b * g.P;
    element(i, b, g.shifted(k, g.fft_shift));
  }
  KOKKOS_INLINE_FUNCTION void element(const std::int64_t i, const std::int64_t b,
                                      const std::int64_t q) const {
    const std::int64_t k = i - b * g.P;
    T re = 0, im = 0;
    for (std::int64_t c = 0; c < g.N; ++c) {
      const Kokkos::complex<T> v = w((b * g.N + c) * g.P + q);
      if (HasCoils) {
        const std::int64_t m = b * g.maps_b + c * g.P + k;
        const T sr = maps(m), si = maps(m + g.N * g.P);
        re += sr * v.real() + si * v.imag();
        im += sr * v.imag() - si * v.real();
      } else {
        re += v.real();
        im += v.imag();
      }
    }
    re *= g.scale;
    im *= g.scale;
    if (Accumulate) {
      x(2 * b * g.P + k) += re;
      x((2 * b + 1) * g.P + k) += im;
    } else {
      x(2 * b * g.P + k) = re;
      x((2 * b + 1) * g.P + k) = im;
    }
  }
};

/// One of the pack / unpack functors above on host backends, one task per grid row of every
/// plane: the shifted source of a row is one source row, in two unit-stride runs (before and
/// after the wrap), so no index needs a division. GPUs run the functors per element.
template <class T, class F>
struct MRIRows {
  F f;
  std::int64_t rows;  // grid rows per plane, P / W

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t r) const {
    const MRIGeometry<T>& g = f.g;
    const std::int64_t W = g.ext[2];
    const std::int64_t* shift = F::ifft_source ? g.ifft_shift : g.fft_shift;
    const std::int64_t t = r / rows, k0 = (r - t * rows) * W;
    const std::int64_t sw = shift[2] % W;
    const std::int64_t src = g.shifted(k0, shift) - sw;  // the source row's first point
    const std::int64_t i0 = t * g.P + k0;
    for (std::int64_t col = 0; col < W - sw; ++col) f.element(i0 + col, t, src + col + sw);
    for (std::int64_t col = W - sw; col < W; ++col) f.element(i0 + col, t, src + col + sw - W);
  }
};

/// y[b, ch, c, k] *= mask[b, ch, k]: noise only where k-space is sampled, as in deepinv.
template <class T>
struct MRIMaskInPlace {
  Kokkos::View<const T*, MemorySpace> mask;
  Kokkos::View<T*, MemorySpace> y;
  MRIGeometry<T> g;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t k = i % g.P;
    const std::int64_t t = i / (g.P * g.N);
    y(i) *= mask(g.mask_index(t / 2, static_cast<int>(t % 2), k));
  }
};

}  // namespace impl
}  // namespace kinv
