// Kernels of the parallel-beam Radon transform (Tomography). GPUs run the forward projection
// one thread per measurement (TomographyForward) and its exact transpose as a gather over pixels
// (TomographyAdjoint). CPUs run the same sums in the same order, organised for caches and SIMD:
// groups of lines of one angle (TomographyForwardLines) and a scatter over bands of rows
// (TomographyAdjointBands). All compute every sample point and bilinear weight by the same
// operations (TomographyGeometry::line and ::point, or the same products from the step table),
// so the results are bitwise the same, unless a compiler contracts inlined copies into FMAs
// differently (not on x86-64 without -mfma): then by an ulp, which the continuity of bilinear
// weights keeps harmless.
//
// Index ranges are found in closed form with a slack (TomographyGeometry::margin) that covers the
// rounding of sample points, and every sample in a range is then tested exactly, so the ranges
// only decide how much work is done, never which weights are used.
#pragma once

#include <kinv/core/tensor.hpp>

#if defined(__SSE2__) && !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__) && \
    !defined(__SYCL_DEVICE_ONLY__)
#include <emmintrin.h>
#define KINV_TOMOGRAPHY_SSE2 1
#endif

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace kinv {
namespace impl {

/// floor(v) as an integer and the fraction v - floor(v) in [0, 1), exactly as std::floor gives
/// them for |v| < 2^62, without a call to floor (a library call on x86-64 without SSE 4.1).
template <class T>
KOKKOS_INLINE_FUNCTION void floor_split(T v, std::int64_t& i, T& frac) {
  std::int64_t n = static_cast<std::int64_t>(v);  // rounds toward zero
  if (static_cast<T>(n) > v) --n;
  i = n;
  frac = v - static_cast<T>(n);  // exact: the fractional part of a floating-point number
}

/// [ceil(lo), floor(hi)] clipped to [0, n): first > last when empty. lo and hi must not be NaN.
template <class T>
KOKKOS_INLINE_FUNCTION void index_range(T lo, T hi, std::int64_t n, std::int64_t& first,
                                        std::int64_t& last) {
  T f;
  if (lo <= T(0)) {
    first = 0;
  } else if (lo >= static_cast<T>(n)) {
    first = n;
  } else {
    floor_split(-lo, first, f);
    first = -first;  // ceil(lo) = -floor(-lo)
  }
  if (hi < T(0)) {
    last = -1;
  } else if (hi >= static_cast<T>(n - 1)) {
    last = n - 1;
  } else {
    floor_split(hi, last, f);
  }
}

/// Per-angle constants (one row of Tomography's angle table, kStride entries of T).
template <class T>
struct TomographyAngle {
  static constexpr int kStride = 7;
  T cs, sn;  // cosine and sine: the only values the weights depend on
  // The adjoint's candidate search (see TomographyAdjoint), widened for rounding: a pixel's
  // footprint spans |k - uk| <= half, and along line k the j - uj in [slope_x dt - width_x,
  // slope_x dt + width_x] and [slope_y dt - width_y, slope_y dt + width_y], dt = k - uk.
  T half, slope_x, width_x, slope_y, width_y;

  KOKKOS_INLINE_FUNCTION static TomographyAngle load(const Kokkos::View<const T*, MemorySpace>& v,
                                                     std::int64_t a) {
    const std::int64_t o = a * kStride;
    return TomographyAngle{v(o), v(o + 1), v(o + 2), v(o + 3), v(o + 4), v(o + 5), v(o + 6)};
  }

  /// The row of the angle of cosine c and sine s, with rounding slack `margin` (host code).
  static TomographyAngle make(T c, T s, T margin) {
    const T ac = c < T(0) ? -c : c, as = s < T(0) ? -s : s;
    const T h = ac + as + margin;
    TomographyAngle r{c, s, h, T(0), T(2) * h, T(0), T(2) * h};
    // |c dt + s u| < 1 bounds u = j - uj when |s| is not small, |c u - s dt| < 1 when |c| is
    // not; a slab left open (width 2 half) is bounded by |u| <= half, and the other one, whose
    // coefficient is then at least 1 / sqrt(2), bounds it well.
    if (as >= T(0.01)) {
      r.slope_x = -c / s;
      r.width_x = (T(1) + margin) / as + margin;
    }
    if (ac >= T(0.01)) {
      r.slope_y = s / c;
      r.width_y = (T(1) + margin) / ac + margin;
    }
    return r;
  }
};

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
  T margin = 0;                // rounding slack of the index ranges, in pixels

  /// Whether pixel (row, col) lies in the inscribed disc: (2i/(W-1) - 1)^2 + (2j/(W-1) - 1)^2
  /// <= 1 as in deepinv, evaluated exactly in integers.
  KOKKOS_INLINE_FUNCTION bool in_disc(std::int64_t row, std::int64_t col) const {
    const std::int64_t n = width - 1;
    const std::int64_t a = 2 * col - n;
    const std::int64_t b = 2 * row - n;
    return a * a + b * b <= n * n;
  }

  /// The line of detector k at the angle of cosine cs and sine sn: sample j lies at (row,
  /// column) = (by + cs s_j, bx + sn s_j).
  KOKKOS_INLINE_FUNCTION void line(T cs, T sn, std::int64_t k, T& bx, T& by) const {
    const T t = static_cast<T>(k) - t_offset;
    bx = centre + cs * t;
    by = centre - sn * t;
  }
  /// Sample j of a line: the top-left bilinear neighbour (iy, ix) and the fractions (fy, fx) in
  /// [0, 1). The forward and adjoint kernels both call line and point, so that a (k, j, angle)
  /// yields the same weights in both.
  KOKKOS_INLINE_FUNCTION void point(T cs, T sn, T bx, T by, std::int64_t j, std::int64_t& iy,
                                    std::int64_t& ix, T& fy, T& fx) const {
    T px, py;
    coords(cs, sn, bx, by, j, px, py);
    floor_split(px, ix, fx);
    floor_split(py, iy, fy);
  }
  /// The coordinates (py, px) of sample j of a line, before flooring.
  KOKKOS_INLINE_FUNCTION void coords(T cs, T sn, T bx, T by, std::int64_t j, T& px, T& py) const {
    const T s = static_cast<T>(j) - s_offset;
    px = bx + sn * s;
    py = by + cs * s;
  }
};

/// The geometry of a W x W image, D detectors, S samples per line and A angles.
template <class T>
TomographyGeometry<T> tomography_geometry(std::int64_t width, std::int64_t detectors,
                                          std::int64_t samples, std::int64_t angles) {
  TomographyGeometry<T> g;
  g.width = width;
  g.detectors = detectors;
  g.samples = samples;
  g.angles = angles;
  g.centre = static_cast<T>(0.5 * static_cast<double>(width - 1));
  g.t_offset = static_cast<T>(0.5 * static_cast<double>(detectors - 1));
  g.s_offset = static_cast<T>(0.5 * static_cast<double>(samples - 1));
  // Sample points and the adjoint's rotated pixel offsets are rounded to a few ulps of their
  // magnitude (at most about W + D + S); this slack keeps every candidate in the search.
  g.margin = static_cast<T>(1e-3 + 16.0 * std::numeric_limits<T>::epsilon() *
                                       static_cast<double>(width + detectors + samples));
  return g;
}

/// cos and sin of an angle in degrees, exact at multiples of 90 degrees (so that those
/// projections sample pixel centres exactly).
inline void cos_sin_degrees(double degrees, double& c, double& s) {
  double r = std::fmod(degrees, 360.0);  // exact
  if (r < 0) r += 360.0;
  if (r == 0.0) {
    c = 1, s = 0;
  } else if (r == 90.0) {
    c = 0, s = 1;
  } else if (r == 180.0) {
    c = -1, s = 0;
  } else if (r == 270.0) {
    c = 0, s = -1;
  } else {
    const double rad = r * (3.141592653589793238462643383279502884 / 180.0);
    c = std::cos(rad);
    s = std::sin(rad);
  }
}

/// The angle table (TomographyAngle rows) of angles in degrees, with rounding slack `margin`.
template <class T>
Kokkos::View<T*, MemorySpace> tomography_angle_table(const std::vector<double>& angles, T margin) {
  const std::size_t n = angles.size();
  constexpr int stride = TomographyAngle<T>::kStride;
  Kokkos::View<T*, MemorySpace> table("kinv::Tomography::angles", n * stride);
  auto h = Kokkos::create_mirror_view(table);
  for (std::size_t a = 0; a < n; ++a) {
    double c, s;
    cos_sin_degrees(angles[a], c, s);
    const auto row = TomographyAngle<T>::make(static_cast<T>(c), static_cast<T>(s), margin);
    const T values[stride] = {row.cs,      row.sn,      row.half,   row.slope_x,
                              row.width_x, row.slope_y, row.width_y};
    for (int e = 0; e < stride; ++e) h(a * stride + e) = values[e];
  }
  Kokkos::deep_copy(table, h);
  return table;
}

/// The steps along the lines of every angle (CPU kernels): entries 2 (a S + j) and
/// 2 (a S + j) + 1 are sin(a) s_j and cos(a) s_j, the products that TomographyGeometry::coords
/// adds to a line's base point (the same operations in T, so the same values).
template <class T>
Kokkos::View<T*, MemorySpace> tomography_step_table(const Kokkos::View<T*, MemorySpace>& table,
                                                    const TomographyGeometry<T>& g) {
  auto angles = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table);
  Kokkos::View<T*, MemorySpace> steps("kinv::Tomography::steps", 2 * g.angles * g.samples);
  auto h = Kokkos::create_mirror_view(steps);
  for (std::int64_t a = 0; a < g.angles; ++a) {
    const T cs = angles(a * TomographyAngle<T>::kStride);
    const T sn = angles(a * TomographyAngle<T>::kStride + 1);
    for (std::int64_t j = 0; j < g.samples; ++j) {
      const T s = static_cast<T>(j) - g.s_offset;
      h(2 * (a * g.samples + j)) = sn * s;
      h(2 * (a * g.samples + j) + 1) = cs * s;
    }
  }
  Kokkos::deep_copy(steps, h);
  return steps;
}

/// Weight of one bilinear neighbour: one expression for both kernels.
template <class T>
KOKKOS_INLINE_FUNCTION T bilinear_weight(T wy, T wx) {
  return wy * wx;
}

/// Intersects [lo, hi] with the u where b + d u lies in [p, q] (lo > hi when that is empty).
template <class T>
KOKKOS_INLINE_FUNCTION void clip_affine(T b, T d, T p, T q, T& lo, T& hi) {
  if (p > q || (d == T(0) && (b < p || b > q))) {  // b + 0 u is b, exactly
    hi = lo - T(1);
    return;
  }
  if (d == T(0)) return;
  const T u1 = (p - b) / d, u2 = (q - b) / d;
  const T l = u1 < u2 ? u1 : u2, r = u1 < u2 ? u2 : u1;
  if (l > lo) lo = l;
  if (r < hi) hi = r;
}

/// Intersects [lo, hi] with |u| <= sqrt(r^2 - t^2): where the point at offsets (t, u) from the
/// centre lies in the disc of radius r.
template <class T>
KOKKOS_INLINE_FUNCTION void clip_disc(T t, T r, T& lo, T& hi) {
  const T q2 = r * r - t * t;
  if (r < T(0) || q2 < T(0)) {
    hi = lo - T(1);
    return;
  }
  const T q = compat::math::sqrt(q2);
  if (-q > lo) lo = -q;
  if (q < hi) hi = q;
}

/// y[bc, k, a] = sum_j bilinear(x[bc], sample(k, j, a)), one thread per output entry. The samples
/// whose 2 x 2 neighbourhood may meet the (visible) image form a range of j, found in closed form;
/// within it, the middle range whose neighbours are all inside runs without bounds tests.
template <class T, bool Circle>
struct TomographyForward {
  Kokkos::View<const T*, MemorySpace> x;      // (BC, W, W)
  Kokkos::View<const T*, MemorySpace> table;  // TomographyAngle rows
  Kokkos::View<T*, MemorySpace> y;            // (BC, D, A)
  TomographyGeometry<T> g;

  KOKKOS_INLINE_FUNCTION static T combine(T fy, T fx, T v00, T v01, T v10, T v11) {
    const T wx0 = T(1) - fx;
    const T wy0 = T(1) - fy;
    return (bilinear_weight(wy0, wx0) * v00 + bilinear_weight(wy0, fx) * v01) +
           (bilinear_weight(fy, wx0) * v10 + bilinear_weight(fy, fx) * v11);
  }

  KOKKOS_INLINE_FUNCTION bool readable(std::int64_t row, std::int64_t col) const {
    return row >= 0 && row < g.width && col >= 0 && col < g.width &&
           (!Circle || g.in_disc(row, col));
  }

  // A sample near the edge: each neighbour is read only if it lies in the (visible) image.
  KOKKOS_INLINE_FUNCTION T edge_sample(std::int64_t base, std::int64_t iy, std::int64_t ix, T fy,
                                       T fx) const {
    const std::int64_t W = g.width;
    const std::int64_t r = base + iy * W + ix;
    const T v00 = readable(iy, ix) ? x(r) : T(0);
    const T v01 = readable(iy, ix + 1) ? x(r + 1) : T(0);
    const T v10 = readable(iy + 1, ix) ? x(r + W) : T(0);
    const T v11 = readable(iy + 1, ix + 1) ? x(r + W + 1) : T(0);
    return combine(fy, fx, v00, v01, v10, v11);
  }

  // Line k at the angle (cs, sn): its base point, the range [j0, j1] of samples whose
  // neighbours may lie in the (visible) image, and within it the range [i0, i1] of samples whose
  // neighbours all do (empty: i0 = j1 + 1 > i1).
  KOKKOS_INLINE_FUNCTION void ranges(T cs, T sn, std::int64_t k, T& bx, T& by, std::int64_t& j0,
                                     std::int64_t& j1, std::int64_t& i0, std::int64_t& i1) const {
    const std::int64_t W = g.width, S = g.samples;
    g.line(cs, sn, k, bx, by);
    // u = s_j: where a neighbour may be in the image (-1 <= px, py < W), and where all four
    // are (0 <= px, py < W - 1), each widened or narrowed by the margin.
    const T m = g.margin, w = static_cast<T>(W), big = static_cast<T>(S + 2);
    T lo = -big, hi = big, ilo = -big, ihi = big;
    clip_affine(bx, sn, T(-1) - m, w + m, lo, hi);
    clip_affine(by, cs, T(-1) - m, w + m, lo, hi);
    clip_affine(bx, sn, m, w - T(1) - m, ilo, ihi);
    clip_affine(by, cs, m, w - T(1) - m, ilo, ihi);
    if (Circle) {
      // Neighbours lie within sqrt(2) of the sample, whose distance from the centre is
      // |(t, s)|; the visible pixels are those within (W - 1) / 2 of it.
      const T t = static_cast<T>(k) - g.t_offset;
      const T reach = T(1.4142136) + m;
      clip_disc(t, g.centre + reach, lo, hi);
      clip_disc(t, g.centre - reach, ilo, ihi);
    }
    index_range(lo + g.s_offset - m, hi + g.s_offset + m, S, j0, j1);
    index_range(ilo + g.s_offset + m, ihi + g.s_offset - m, S, i0, i1);
    if (i0 < j0) i0 = j0;
    if (i1 > j1) i1 = j1;
    if (i0 > i1) {  // no middle range: every sample is tested
      i0 = j1 + 1;
      i1 = j1;
    }
  }

  // Sample j of an interior range: 0 <= px, py < W - 1, where truncation is floor.
  KOKKOS_INLINE_FUNCTION T interior_sample(T cs, T sn, T bx, T by, std::int64_t base,
                                           std::int64_t j) const {
    const std::int64_t W = g.width;
    T px, py;
    g.coords(cs, sn, bx, by, j, px, py);
    const std::int64_t ix = static_cast<std::int64_t>(px);
    const std::int64_t iy = static_cast<std::int64_t>(py);
    const T fx = px - static_cast<T>(ix);
    const T fy = py - static_cast<T>(iy);
    const std::int64_t r = base + iy * W + ix;
    return combine(fy, fx, x(r), x(r + 1), x(r + W), x(r + W + 1));
  }

  // The same with the sample's steps (sin s_j, cos s_j) from tomography_step_table.
  KOKKOS_INLINE_FUNCTION T interior_sample(const T* step, T bx, T by, std::int64_t base) const {
    const std::int64_t W = g.width;
    const T px = bx + step[0];
    const T py = by + step[1];
    const std::int64_t ix = static_cast<std::int64_t>(px);
    const std::int64_t iy = static_cast<std::int64_t>(py);
    const T fx = px - static_cast<T>(ix);
    const T fy = py - static_cast<T>(iy);
    const std::int64_t r = base + iy * W + ix;
    return combine(fy, fx, x(r), x(r + 1), x(r + W), x(r + W + 1));
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t W = g.width;
    const std::int64_t a = i % g.angles;
    const std::int64_t rest = i / g.angles;
    const std::int64_t k = rest % g.detectors;
    const std::int64_t base = (rest / g.detectors) * W * W;
    const T cs = table(a * TomographyAngle<T>::kStride);
    const T sn = table(a * TomographyAngle<T>::kStride + 1);
    T bx, by;
    std::int64_t j0, j1, i0, i1;
    ranges(cs, sn, k, bx, by, j0, j1, i0, i1);

    T acc = 0;
    std::int64_t iy, ix;
    T fy, fx;
    for (std::int64_t j = j0; j < i0; ++j) {
      g.point(cs, sn, bx, by, j, iy, ix, fy, fx);
      acc += edge_sample(base, iy, ix, fy, fx);
    }
    for (std::int64_t j = i0; j <= i1; ++j) acc += interior_sample(cs, sn, bx, by, base, j);
    for (std::int64_t j = i1 + 1; j <= j1; ++j) {
      g.point(cs, sn, bx, by, j, iy, ix, fy, fx);
      acc += edge_sample(base, iy, ix, fy, fx);
    }
    y(i) = acc;
  }
};

/// acc[l] += the interior samples j = c0..c1 of the 4 lines (bx[l], by[l]) of one angle, in the
/// order of j: TomographyForward::interior_sample, four lines at a time with SSE2 (the same
/// operations lane by lane, so the same values). Returns false where it does not apply (then the
/// caller runs the scalar loop): not float, no SSE2, or W > 32767.
template <class T>
inline bool interior_lines_sse2(const T*, std::int64_t, std::int64_t, const T*, const T*, const T*,
                                std::int64_t, T*) {
  return false;
}
#ifdef KINV_TOMOGRAPHY_SSE2
inline bool interior_lines_sse2(const float* step, std::int64_t c0, std::int64_t c1,
                                const float* bx, const float* by, const float* img, std::int64_t W,
                                float* acc) {
  if (W > 32767) return false;
  const __m128 vbx = _mm_loadu_ps(bx), vby = _mm_loadu_ps(by), one = _mm_set1_ps(1.0f);
  // pmaddwd on (iy << 16 | ix) gives ix + iy W, for 0 <= ix, iy, W < 2^15.
  const __m128i wmul = _mm_set1_epi32(static_cast<int>((W << 16) | 1));
  __m128 vacc = _mm_loadu_ps(acc);
  alignas(16) std::int32_t r[4];
  auto pair = [](const float* p) {  // p[0], p[1] into the low lanes
    return _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  };
  for (std::int64_t j = c0; j <= c1; ++j) {
    const __m128 px = _mm_add_ps(vbx, _mm_set1_ps(step[2 * j]));
    const __m128 py = _mm_add_ps(vby, _mm_set1_ps(step[2 * j + 1]));
    const __m128i ix = _mm_cvttps_epi32(px), iy = _mm_cvttps_epi32(py);
    const __m128 fx = _mm_sub_ps(px, _mm_cvtepi32_ps(ix));
    const __m128 fy = _mm_sub_ps(py, _mm_cvtepi32_ps(iy));
    _mm_store_si128(reinterpret_cast<__m128i*>(r),
                    _mm_madd_epi16(_mm_or_si128(_mm_slli_epi32(iy, 16), ix), wmul));
    const __m128 t0 = _mm_unpacklo_ps(pair(img + r[0]), pair(img + r[1]));
    const __m128 t1 = _mm_unpacklo_ps(pair(img + r[2]), pair(img + r[3]));
    const __m128 b0 = _mm_unpacklo_ps(pair(img + r[0] + W), pair(img + r[1] + W));
    const __m128 b1 = _mm_unpacklo_ps(pair(img + r[2] + W), pair(img + r[3] + W));
    const __m128 v00 = _mm_movelh_ps(t0, t1), v01 = _mm_movehl_ps(t1, t0);
    const __m128 v10 = _mm_movelh_ps(b0, b1), v11 = _mm_movehl_ps(b1, b0);
    const __m128 wx0 = _mm_sub_ps(one, fx), wy0 = _mm_sub_ps(one, fy);
    // TomographyForward::combine
    const __m128 top =
        _mm_add_ps(_mm_mul_ps(_mm_mul_ps(wy0, wx0), v00), _mm_mul_ps(_mm_mul_ps(wy0, fx), v01));
    const __m128 bottom =
        _mm_add_ps(_mm_mul_ps(_mm_mul_ps(fy, wx0), v10), _mm_mul_ps(_mm_mul_ps(fy, fx), v11));
    vacc = _mm_add_ps(vacc, _mm_add_ps(top, bottom));
  }
  _mm_storeu_ps(acc, vacc);
  return true;
}
#endif

/// TomographyForward on CPUs: one work item per image bc, angle a and group of Lines adjacent
/// lines, which it runs in lockstep along the range of j where every line's samples are
/// interior (independent sums, and the lines read neighbouring pixels). Each line still sums
/// its samples in the order of j, each with the value TomographyForward gives it, so y is
/// bitwise the same.
template <class T, bool Circle, int Lines>
struct TomographyForwardLines {
  TomographyForward<T, Circle> f;
  Kokkos::View<const T*, MemorySpace> steps;  // tomography_step_table

  static std::int64_t work_items(std::int64_t images, std::int64_t detectors, std::int64_t angles) {
    return images * angles * ((detectors + Lines - 1) / Lines);
  }

  // Sample j of the line (bx, by), through the interior path when i0 <= j <= i1.
  KOKKOS_INLINE_FUNCTION T sample(T cs, T sn, T bx, T by, std::int64_t base, std::int64_t j,
                                  std::int64_t i0, std::int64_t i1, const T* step) const {
    if (j >= i0 && j <= i1) return f.interior_sample(step + 2 * j, bx, by, base);
    std::int64_t iy, ix;
    T fy, fx;
    f.g.point(cs, sn, bx, by, j, iy, ix, fy, fx);
    return f.edge_sample(base, iy, ix, fy, fx);
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t W = f.g.width, D = f.g.detectors, A = f.g.angles;
    const std::int64_t groups = (D + Lines - 1) / Lines;
    const std::int64_t k0 = (i % groups) * Lines;
    const std::int64_t rest = i / groups;
    const std::int64_t a = rest % A;
    const std::int64_t bc = rest / A;
    const std::int64_t base = bc * W * W;
    const T cs = f.table(a * TomographyAngle<T>::kStride);
    const T sn = f.table(a * TomographyAngle<T>::kStride + 1);
    const int n = D - k0 < Lines ? static_cast<int>(D - k0) : Lines;
    const T* step = steps.data() + 2 * a * f.g.samples;

    T bx[Lines], by[Lines], acc[Lines];
    std::int64_t j0[Lines], j1[Lines], i0[Lines], i1[Lines];
    std::int64_t c0 = -1, c1 = -2;  // the range of j interior to every line (empty: c0 > c1)
    for (int l = 0; l < n; ++l) {
      f.ranges(cs, sn, k0 + l, bx[l], by[l], j0[l], j1[l], i0[l], i1[l]);
      acc[l] = T(0);
      if (l == 0 || i0[l] > c0) c0 = i0[l];
      if (l == 0 || i1[l] < c1) c1 = i1[l];
    }
    if (n < Lines || c0 > c1) {
      for (int l = 0; l < n; ++l)
        for (std::int64_t j = j0[l]; j <= j1[l]; ++j)
          acc[l] += sample(cs, sn, bx[l], by[l], base, j, i0[l], i1[l], step);
    } else {
      for (int l = 0; l < Lines; ++l)
        for (std::int64_t j = j0[l]; j < c0; ++j)
          acc[l] += sample(cs, sn, bx[l], by[l], base, j, i0[l], i1[l], step);
      bool done = false;
#ifdef KINV_TOMOGRAPHY_SSE2
      if constexpr (Lines == 4)
        done = interior_lines_sse2(step, c0, c1, bx, by, f.x.data() + base, W, acc);
#endif
      if (!done)
        for (std::int64_t j = c0; j <= c1; ++j)
          for (int l = 0; l < Lines; ++l)
            acc[l] += f.interior_sample(step + 2 * j, bx[l], by[l], base);
      for (int l = 0; l < Lines; ++l)
        for (std::int64_t j = c1 + 1; j <= j1[l]; ++j)
          acc[l] += sample(cs, sn, bx[l], by[l], base, j, i0[l], i1[l], step);
    }
    const std::int64_t out = bc * D * A + a;
    for (int l = 0; l < n; ++l) f.y(out + (k0 + l) * A) = acc[l];
  }
};

/// x[bc, row, col] (+)= sum over angles a and lines (k, j) whose bilinear footprint holds the
/// pixel of w * y[bc, k, a], one thread per pixel. A sample (k, j) reaches the pixel only if it
/// lies within one pixel of it along both axes, so (t_k, s_j) lies within |cos| + |sin| of the
/// pixel's rotated offset; for each such k, two slabs bound j (their bounds are linear in k,
/// from the angle table: no division here). That leaves about 4 candidates per angle (at most
/// 9), each weighed exactly as in TomographyForward. A work item computes a run of Tile pixels
/// along a row (1 on GPUs: one thread per pixel), angle by angle.
template <class T, bool Circle, bool Accumulate, int Tile>
struct TomographyAdjoint {
  Kokkos::View<const T*, MemorySpace> y;      // (BC, D, A)
  Kokkos::View<const T*, MemorySpace> table;  // TomographyAngle rows
  Kokkos::View<T*, MemorySpace> x;            // (BC, W, W)
  TomographyGeometry<T> g;

  /// Work items: (BC, W rows, ceil(W / Tile) runs of Tile pixels along the row).
  static std::int64_t work_items(std::int64_t image_entries, std::int64_t width) {
    return image_entries / width * ((width + Tile - 1) / Tile);
  }

  // Adds angle a's contributions to the pixel (row, col) to acc.
  KOKKOS_INLINE_FUNCTION void add_angle(const TomographyAngle<T>& p, std::int64_t a, T colf, T rowf,
                                        std::int64_t ybase, T& acc) const {
    const std::int64_t D = g.detectors, S = g.samples, A = g.angles;
    const T dx = colf - g.centre;
    const T dy = rowf - g.centre;
    const T uk = p.cs * dx - p.sn * dy + g.t_offset;  // fractional k of the pixel centre
    const T uj = p.sn * dx + p.cs * dy + g.s_offset;  // fractional j
    std::int64_t k0, k1;
    index_range(uk - p.half, uk + p.half, D, k0, k1);
    for (std::int64_t k = k0; k <= k1; ++k) {
      // Along line k the sample lies within one pixel of this one in x for
      // |cs dt + sn u| < 1 and in y for |cs u - sn dt| < 1, with u = j - uj.
      const T dt = static_cast<T>(k) - uk;
      const T cx = p.slope_x * dt, cy = p.slope_y * dt;
      T lo = cx - p.width_x, hi = cx + p.width_x;
      if (cy - p.width_y > lo) lo = cy - p.width_y;
      if (cy + p.width_y < hi) hi = cy + p.width_y;
      if (-p.half > lo) lo = -p.half;
      if (p.half < hi) hi = p.half;
      std::int64_t j0, j1;
      index_range(uj + lo, uj + hi, S, j0, j1);
      if (j0 > j1) continue;
      T bx, by;
      g.line(p.cs, p.sn, k, bx, by);
      const T yv = y(ybase + k * A + a);
      for (std::int64_t j = j0; j <= j1; ++j) {
        // The sample's weight on this pixel is nonzero exactly when col - 1 < px < col + 1
        // and row - 1 < py < row + 1. Then floor(px) is col or col - 1 and the forward
        // kernel's fraction fx = px - floor(px) is one of the two differences below (exact
        // integers minus px: the same value), so the weight is bitwise the forward's.
        T px, py;
        g.coords(p.cs, p.sn, bx, by, j, px, py);
        if (!(px > colf - T(1) && px < colf + T(1) && py > rowf - T(1) && py < rowf + T(1)))
          continue;
        const T wx = px < colf ? px - (colf - T(1)) : T(1) - (px - colf);
        const T wy = py < rowf ? py - (rowf - T(1)) : T(1) - (py - rowf);
        acc += bilinear_weight(wy, wx) * yv;
      }
    }
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t W = g.width, A = g.angles;
    const std::int64_t runs = (W + Tile - 1) / Tile;
    const std::int64_t c0 = (i % runs) * Tile;
    const std::int64_t rest = i / runs;
    const std::int64_t row = rest % W;
    const std::int64_t bc = rest / W;
    const std::int64_t ybase = bc * g.detectors * A;
    const int n = W - c0 < Tile ? static_cast<int>(W - c0) : Tile;
    const T rowf = static_cast<T>(row);
    // Each pixel sums its contributions in the order of (a, k, j) whatever the run length, so
    // the result does not depend on Tile; angle-major order over the run helps CPUs predict.
    T acc[Tile];
    bool on[Tile];
    for (int c = 0; c < Tile; ++c) {
      acc[c] = T(0);
      on[c] = c < n && (!Circle || g.in_disc(row, c0 + c));
    }
    for (std::int64_t a = 0; a < A; ++a) {
      const TomographyAngle<T> p = TomographyAngle<T>::load(table, a);
      for (int c = 0; c < n; ++c)
        if (on[c]) add_angle(p, a, static_cast<T>(c0 + c), rowf, ybase, acc[c]);
    }
    const std::int64_t out = (bc * W + row) * W + c0;
    for (int c = 0; c < n; ++c) {
      if (Accumulate)
        x(out + c) += acc[c];
      else
        x(out + c) = acc[c];
    }
  }
};

/// A^T on CPUs, as a deterministic scatter: one work item per band of rows [r0, r1) of one image
/// (bc). For each angle a, line k and sample j in the order of (a, k, j), the sample adds
/// w * y[bc, k, a] to the pixels of its bilinear footprint, with the forward kernel's weights
/// (1 - fx, fx from floor_split); a pixel thus receives the terms in the same order and with the
/// same values as TomographyAdjoint's gather gives it, so the two agree bitwise. Terms of zero
/// weight (fx or fy exactly 0) are skipped, as the gather skips them.
///
/// The band sums into its own slice of `work`, (h + 2) x (W + 2) entries with h = band_rows: a
/// border of one row above and below and one column left and right takes the footprints that
/// spill over the band, so the inner loop writes without bounds tests. Then x = sum (or
/// x += sum, which rounds as the gather's x += acc), zero outside the disc with Circle.
template <class T, bool Circle, bool Accumulate>
struct TomographyAdjointBands {
  Kokkos::View<const T*, MemorySpace> y;      // (BC, D, A)
  Kokkos::View<const T*, MemorySpace> table;  // TomographyAngle rows
  Kokkos::View<T*, MemorySpace> x;            // (BC, W, W)
  Kokkos::View<T*, MemorySpace> work;         // work_items() slices of slice_size() entries
  Kokkos::View<const T*, MemorySpace> steps;  // tomography_step_table
  TomographyGeometry<T> g;
  std::int64_t band_rows = 1;  // h

  KOKKOS_INLINE_FUNCTION static std::int64_t bands(std::int64_t width, std::int64_t rows) {
    return (width + rows - 1) / rows;
  }
  /// Work items for `images` = B C images.
  KOKKOS_INLINE_FUNCTION static std::int64_t work_items(std::int64_t images, std::int64_t width,
                                                        std::int64_t rows) {
    return images * bands(width, rows);
  }
  KOKKOS_INLINE_FUNCTION static std::int64_t slice_size(std::int64_t width, std::int64_t rows) {
    return (rows + 2) * (width + 2);
  }

  // Adds the contributions of line (k, a), cosine cs and sine sn, to the band's sum s, whose
  // entry (row, col) is s[(row - r0 + 1) * WP + col + 1].
  KOKKOS_INLINE_FUNCTION void add_line(T bx, T by, const T* step, T yv, std::int64_t r0,
                                       std::int64_t r1, std::int64_t j0, std::int64_t j1,
                                       T* s) const {
    const std::int64_t W = g.width, WP = W + 2;
    for (std::int64_t j = j0; j <= j1; ++j) {
      // TomographyGeometry::point, with the steps from the table.
      std::int64_t iy, ix;
      T fy, fx;
      floor_split(bx + step[2 * j], ix, fx);
      floor_split(by + step[2 * j + 1], iy, fy);
      // The footprint (rows iy, iy + 1; columns ix, ix + 1) meets the band and the image.
      if (static_cast<std::uint64_t>(iy - (r0 - 1)) > static_cast<std::uint64_t>(r1 - r0) ||
          static_cast<std::uint64_t>(ix + 1) > static_cast<std::uint64_t>(W))
        continue;
      T* p = s + (iy - r0 + 1) * WP + (ix + 1);
      const T wx0 = T(1) - fx;
      const T wy0 = T(1) - fy;
      p[0] += bilinear_weight(wy0, wx0) * yv;
      if (fx > T(0)) p[1] += bilinear_weight(wy0, fx) * yv;
      if (fy > T(0)) {
        p[WP] += bilinear_weight(fy, wx0) * yv;
        if (fx > T(0)) p[WP + 1] += bilinear_weight(fy, fx) * yv;
      }
    }
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t W = g.width, D = g.detectors, S = g.samples, A = g.angles;
    const std::int64_t WP = W + 2, h = band_rows;
    const std::int64_t nb = bands(W, h);
    const std::int64_t bc = i / nb;
    const std::int64_t r0 = (i % nb) * h;
    const std::int64_t r1 = r0 + h < W ? r0 + h : W;
    T* s = work.data() + i * slice_size(W, h);
    const std::int64_t used = (r1 - r0 + 2) * WP;
    for (std::int64_t e = 0; e < used; ++e) s[e] = T(0);

    const std::int64_t ybase = bc * D * A;
    const T m = g.margin, w = static_cast<T>(W), big = static_cast<T>(S + 2);
    const T top = static_cast<T>(r0 - 1) - m, bottom = static_cast<T>(r1) + m;
    const T reach = T(1.4142136) + m;
    for (std::int64_t a = 0; a < A; ++a) {
      const T cs = table(a * TomographyAngle<T>::kStride);
      const T sn = table(a * TomographyAngle<T>::kStride + 1);
      for (std::int64_t k = 0; k < D; ++k) {
        // u = s_j where the footprint may meet the band: -1 <= px < W and r0 - 1 <= py < r1,
        // widened by the margin (every sample in the range is then tested exactly).
        T bx, by;
        g.line(cs, sn, k, bx, by);
        T lo = -big, hi = big;
        clip_affine(by, cs, top, bottom, lo, hi);
        clip_affine(bx, sn, T(-1) - m, w + m, lo, hi);
        if (Circle) clip_disc(static_cast<T>(k) - g.t_offset, g.centre + reach, lo, hi);
        std::int64_t j0, j1;
        index_range(lo + g.s_offset - m, hi + g.s_offset + m, S, j0, j1);
        if (j0 > j1) continue;
        add_line(bx, by, steps.data() + 2 * a * S, y(ybase + k * A + a), r0, r1, j0, j1, s);
      }
    }

    for (std::int64_t row = r0; row < r1; ++row) {
      const T* src = s + (row - r0 + 1) * WP + 1;
      const std::int64_t out = (bc * W + row) * W;
      for (std::int64_t col = 0; col < W; ++col) {
        const T v = !Circle || g.in_disc(row, col) ? src[col] : T(0);
        if (Accumulate)
          x(out + col) += v;
        else
          x(out + col) = v;
      }
    }
  }
};

}  // namespace impl
}  // namespace kinv
