// Kernels of the parallel-beam Radon transform (Tomography): the forward projection, and its
// exact transpose written as a gather over pixels. Both compute every sample point and bilinear
// weight through TomographyGeometry::sample, so they use the same weights (bitwise, unless a
// compiler contracts the two inlined copies into FMAs differently: then by an ulp, which the
// continuity of bilinear weights keeps harmless).
#pragma once

#include <kinv/core/tensor.hpp>

#include <cstdint>

namespace kinv {
namespace impl {

/// Geometry shared by the forward and adjoint kernels (see kinv::Tomography).
template <class T>
struct TomographyGeometry {
  std::int64_t width = 0;      // W: the image is W x W
  std::int64_t detectors = 0;  // D
  std::int64_t samples = 0;    // S, along each line
  std::int64_t angles = 0;     // A
  T centre = 0;                // (W - 1) / 2, the rotation centre in pixel coordinates
  T t_offset = 0;              // (D - 1) / 2: t_k = k - t_offset
  T s_offset = 0;              // (S - 1) / 2: s_j = j - s_offset
  T margin = 0;                // rounding slack of the adjoint's candidate search, in pixels
  bool circle = false;

  /// Whether pixel (row, col) lies in the inscribed disc: (2i/(W-1) - 1)^2 + (2j/(W-1) - 1)^2
  /// <= 1 as in deepinv, evaluated exactly in integers.
  KOKKOS_INLINE_FUNCTION bool in_disc(std::int64_t row, std::int64_t col) const {
    const std::int64_t n = width - 1;
    const std::int64_t a = 2 * col - n;
    const std::int64_t b = 2 * row - n;
    return a * a + b * b <= n * n;
  }
  /// Whether pixel (row, col) takes part in the projection.
  KOKKOS_INLINE_FUNCTION bool visible(std::int64_t row, std::int64_t col) const {
    return !circle || in_disc(row, col);
  }

  /// Sample j of detector k at the angle of cosine cs and sine sn: the top-left bilinear
  /// neighbour (iy, ix) and the fractions (fy, fx) in [0, 1). The forward and adjoint kernels
  /// both call this, so that a (k, j, angle) yields the same weights in both.
  KOKKOS_INLINE_FUNCTION void sample(T cs, T sn, std::int64_t k, std::int64_t j, std::int64_t& iy,
                                     std::int64_t& ix, T& fy, T& fx) const {
    const T t = static_cast<T>(k) - t_offset;
    const T s = static_cast<T>(j) - s_offset;
    const T px = centre + cs * t + sn * s;  // column
    const T py = centre - sn * t + cs * s;  // row
    const T fx0 = compat::math::floor(px);
    const T fy0 = compat::math::floor(py);
    ix = static_cast<std::int64_t>(fx0);
    iy = static_cast<std::int64_t>(fy0);
    fx = px - fx0;
    fy = py - fy0;
  }
};

/// Weight of one bilinear neighbour: one expression for both kernels.
template <class T>
KOKKOS_INLINE_FUNCTION T bilinear_weight(T wy, T wx) {
  return wy * wx;
}

/// y[bc, k, a] = sum_j bilinear(x[bc], sample(k, j, a)), one thread per output entry.
template <class T>
struct TomographyForward {
  Kokkos::View<const T*, MemorySpace> x;  // (BC, W, W)
  Kokkos::View<const T*, MemorySpace> cosv, sinv;
  Kokkos::View<T*, MemorySpace> y;  // (BC, D, A)
  TomographyGeometry<T> g;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t W = g.width;
    const std::int64_t a = i % g.angles;
    const std::int64_t rest = i / g.angles;
    const std::int64_t k = rest % g.detectors;
    const std::int64_t base = (rest / g.detectors) * W * W;
    const T cs = cosv(a);
    const T sn = sinv(a);
    T acc = 0;
    for (std::int64_t j = 0; j < g.samples; ++j) {
      std::int64_t iy, ix;
      T fy, fx;
      g.sample(cs, sn, k, j, iy, ix, fy, fx);
      if (ix < -1 || ix >= W || iy < -1 || iy >= W) continue;
      const T wx0 = T(1) - fx;
      const T wy0 = T(1) - fy;
      if (iy >= 0) {
        const std::int64_t r = base + iy * W;
        if (ix >= 0 && g.visible(iy, ix)) acc += bilinear_weight(wy0, wx0) * x(r + ix);
        if (ix + 1 < W && g.visible(iy, ix + 1)) acc += bilinear_weight(wy0, fx) * x(r + ix + 1);
      }
      if (iy + 1 < W) {
        const std::int64_t r = base + (iy + 1) * W;
        if (ix >= 0 && g.visible(iy + 1, ix)) acc += bilinear_weight(fy, wx0) * x(r + ix);
        if (ix + 1 < W && g.visible(iy + 1, ix + 1)) acc += bilinear_weight(fy, fx) * x(r + ix + 1);
      }
    }
    y(i) = acc;
  }
};

/// x[bc, row, col] (+)= sum over angles a and lines (k, j) whose bilinear footprint holds the
/// pixel of w * y[bc, k, a], one thread per pixel. A sample (k, j) reaches the pixel only if it
/// lies within one pixel of it along both axes, so (t_k, s_j) lies within |cos| + |sin| of the
/// pixel's rotated offset; for each such k, two slabs bound j. That leaves about 4 candidates
/// per angle (at most 9), each weighed exactly as in TomographyForward.
template <class T, bool Accumulate>
struct TomographyAdjoint {
  Kokkos::View<const T*, MemorySpace> y;  // (BC, D, A)
  Kokkos::View<const T*, MemorySpace> cosv, sinv;
  Kokkos::View<T*, MemorySpace> x;  // (BC, W, W)
  TomographyGeometry<T> g;

  // [ceil(lo), floor(hi)] clipped to [0, n).
  KOKKOS_INLINE_FUNCTION static void index_range(T lo, T hi, std::int64_t n, std::int64_t& first,
                                                 std::int64_t& last) {
    const T f = compat::math::ceil(lo);
    const T l = compat::math::floor(hi);
    first = f < T(0) ? 0 : static_cast<std::int64_t>(f);
    last = l > static_cast<T>(n - 1) ? n - 1 : static_cast<std::int64_t>(l);
  }

  // Intersects [lo, hi] with the u where |e + d u| < 1 (widened by the margin).
  KOKKOS_INLINE_FUNCTION void narrow(T d, T e, T& lo, T& hi) const {
    if (compat::math::fabs(d) < T(0.01)) return;
    const T one = T(1) + g.margin;
    const T u1 = (-one - e) / d;
    const T u2 = (one - e) / d;
    const T l = (u1 < u2 ? u1 : u2) - g.margin;
    const T r = (u1 < u2 ? u2 : u1) + g.margin;
    if (l > lo) lo = l;
    if (r < hi) hi = r;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t W = g.width;
    const std::int64_t col = i % W;
    const std::int64_t rest = i / W;
    const std::int64_t row = rest % W;
    const std::int64_t ybase = (rest / W) * g.detectors * g.angles;
    T acc = 0;
    if (g.visible(row, col)) {
      const T dx = static_cast<T>(col) - g.centre;
      const T dy = static_cast<T>(row) - g.centre;
      for (std::int64_t a = 0; a < g.angles; ++a) {
        const T cs = cosv(a);
        const T sn = sinv(a);
        const T h = compat::math::fabs(cs) + compat::math::fabs(sn) + g.margin;
        const T uk = cs * dx - sn * dy + g.t_offset;  // fractional k of the pixel centre
        const T uj = sn * dx + cs * dy + g.s_offset;  // fractional j
        std::int64_t k0, k1;
        index_range(uk - h, uk + h, g.detectors, k0, k1);
        for (std::int64_t k = k0; k <= k1; ++k) {
          // Along line k the sample lies within one pixel of this one in x for |cs dt + sn u| < 1
          // and in y for |cs u - sn dt| < 1, with u = j - uj: intersect those ranges of u. A
          // coefficient below 0.01 leaves its range unbounded (the other one is at least
          // 1/sqrt(2)), and the margin widens them for rounding.
          const T dt = static_cast<T>(k) - uk;
          T lo = -h, hi = h;
          narrow(sn, cs * dt, lo, hi);
          narrow(cs, -sn * dt, lo, hi);
          std::int64_t j0, j1;
          index_range(uj + lo, uj + hi, g.samples, j0, j1);
          if (j0 > j1) continue;
          const T yv = y(ybase + k * g.angles + a);
          for (std::int64_t j = j0; j <= j1; ++j) {
            std::int64_t iy, ix;
            T fy, fx;
            g.sample(cs, sn, k, j, iy, ix, fy, fx);
            const T wx = col == ix ? T(1) - fx : (col == ix + 1 ? fx : T(0));
            const T wy = row == iy ? T(1) - fy : (row == iy + 1 ? fy : T(0));
            if (wx != T(0) && wy != T(0)) acc += bilinear_weight(wy, wx) * yv;
          }
        }
      }
    }
    if (Accumulate)
      x(i) += acc;
    else
      x(i) = acc;
  }
};

}  // namespace impl
}  // namespace kinv
