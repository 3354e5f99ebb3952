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
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t j = i % g.P;
    const std::int64_t t = i / g.P;
    const std::int64_t c = t % g.N, b = t / g.N;
    const std::int64_t p = g.shifted(j, g.ifft_shift);
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
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t k = i % g.P;
    const std::int64_t t = i / g.P;
    const std::int64_t c = t % g.N, b = t / g.N;
    const Kokkos::complex<T> v = w(t * g.P + g.shifted(k, g.fft_shift));
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
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t j = i % g.P;
    const std::int64_t t = i / g.P;
    const std::int64_t c = t % g.N, b = t / g.N;
    const std::int64_t p = g.shifted(j, g.ifft_shift);
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
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t k = i % g.P, b = i / g.P;
    const std::int64_t q = g.shifted(k, g.fft_shift);
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
