// Kernels of Blur (and of Downsampling, a strided Blur): a gather per output element for A and
// a gather per input pixel for A^T (no atomics, so results are deterministic on every backend).
// The padding mode is a template parameter so that the index remapping compiles down to the one
// mode in use.
#pragma once

#include <kinv/core/tensor.hpp>
#include <kinv/operators/blur.hpp>

#include <cstdint>
#include <string>

namespace kinv {
namespace impl {

/// Extents and offsets shared by the Blur kernels. Along each spatial axis (n input pixels,
/// m convolution outputs, a filter of f taps) convolution output i gathers the padded positions
/// t = i + o - u, u in [0, f); padded positions run over [lo, hi] and map back into [0, n) by
/// the mode. Only every s-th convolution output is kept (s = 1 for Blur): stored output a is
/// convolution output i = a s, so there are ceil(m / s) of them.
struct BlurGeometry {
  std::int64_t C = 1;               // channels of the input
  std::int64_t H = 0, W = 0;        // input extents
  std::int64_t Ho = 0, Wo = 0;      // convolution output extents
  std::int64_t sh = 1, sw = 1;      // strides of the kept outputs
  std::int64_t Hs = 0, Ws = 0;      // stored output extents, ceil(Ho / sh), ceil(Wo / sw)
  std::int64_t kh = 1, kw = 1;      // filter extents
  std::int64_t oh = 0, ow = 0;      // y(i) gathers x(i + o - u)
  std::int64_t lo_h = 0, hi_h = 0;  // padded row range [lo_h, hi_h]
  std::int64_t lo_w = 0, hi_w = 0;  // padded column range [lo_w, hi_w]
  std::int64_t kb = 0, kc = 0;      // filter strides of batch and channel (0 when broadcast)
};

/// A half-open range [begin, end) of rows or columns where no remapping is needed.
struct BlurInterior {
  std::int64_t row_begin = 0, row_end = 0, col_begin = 0, col_end = 0;
  KOKKOS_INLINE_FUNCTION bool contains(std::int64_t r, std::int64_t c) const {
    return r >= row_begin && r < row_end && c >= col_begin && c < col_end;
  }
};

KOKKOS_INLINE_FUNCTION std::int64_t blur_min(std::int64_t a, std::int64_t b) {
  return a < b ? a : b;
}
KOKKOS_INLINE_FUNCTION std::int64_t blur_max(std::int64_t a, std::int64_t b) {
  return a > b ? a : b;
}
/// a mod m in [0, m) for m > 0.
KOKKOS_INLINE_FUNCTION std::int64_t blur_mod(std::int64_t a, std::int64_t m) {
  const std::int64_t r = a % m;
  return r < 0 ? r + m : r;
}

/// The pixel of [0, n) that padded position t reads, or -1 for a zero (Constant). Only valid
/// for t in the padded range (the host checks the pad against n for Circular and Reflect).
template <Padding P>
KOKKOS_INLINE_FUNCTION std::int64_t blur_source(std::int64_t t, std::int64_t n) {
  if (t >= 0 && t < n) return t;
  if (P == Padding::Circular) return t < 0 ? t + n : t - n;
  if (P == Padding::Replicate) return t < 0 ? 0 : n - 1;
  if (P == Padding::Reflect) return t < 0 ? -t : 2 * (n - 1) - t;
  return -1;  // Constant (Valid never leaves [0, n))
}

/// Closed range [first, last] of padded positions.
struct BlurSpan {
  std::int64_t first, last;
};

/// The padded positions in [lo, hi] that read pixel r (the preimage of r under blur_source),
/// as at most 3 closed ranges; returns their number.
template <Padding P>
KOKKOS_INLINE_FUNCTION int blur_preimage(std::int64_t r, std::int64_t n, std::int64_t lo,
                                         std::int64_t hi, BlurSpan* out) {
  int k = 0;
  if (P == Padding::Replicate) {
    // The whole pad beyond an edge replicates the edge pixel.
    out[k++] = BlurSpan{r == 0 ? lo : r, r == n - 1 ? hi : r};
  } else if (P == Padding::Circular) {
    // pad <= n, so only the neighbouring periods can reach r.
    if (r - n >= lo) out[k++] = BlurSpan{r - n, r - n};
    out[k++] = BlurSpan{r, r};
    if (r + n <= hi) out[k++] = BlurSpan{r + n, r + n};
  } else if (P == Padding::Reflect) {
    // pad < n, so one reflection at each edge.
    if (r >= 1 && -r >= lo) out[k++] = BlurSpan{-r, -r};
    out[k++] = BlurSpan{r, r};
    const std::int64_t t = 2 * (n - 1) - r;
    if (t >= n && t <= hi) out[k++] = BlurSpan{t, t};
  } else {
    out[k++] = BlurSpan{r, r};
  }
  return k;
}

/// y = A x: one stored output element per index (only the kept convolution outputs are
/// computed), the taps in (u, v) order on both paths.
template <class T, Padding P>
struct BlurForward {
  Kokkos::View<const T*, MemorySpace> x;
  Kokkos::View<const T*, MemorySpace> k;
  Kokkos::View<T*, MemorySpace> y;
  BlurGeometry g;
  BlurInterior in;  // convolution outputs whose taps all fall inside the image

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t idx) const {
    const std::int64_t q = idx / g.Ws;
    const std::int64_t j = (idx % g.Ws) * g.sw;  // convolution output column
    const std::int64_t i = (q % g.Hs) * g.sh;    // convolution output row
    const std::int64_t bc = q / g.Hs;
    const std::int64_t kof = (bc / g.C) * g.kb + (bc % g.C) * g.kc;
    const std::int64_t xof = bc * g.H * g.W;
    T acc = T(0);
    if (P == Padding::Valid || in.contains(i, j)) {
      const std::int64_t x0 = xof + (i + g.oh) * g.W + (j + g.ow);
      for (std::int64_t u = 0; u < g.kh; ++u) {
        const std::int64_t xr = x0 - u * g.W;
        const std::int64_t kr = kof + u * g.kw;
        for (std::int64_t v = 0; v < g.kw; ++v) acc += k(kr + v) * x(xr - v);
      }
    } else {
      for (std::int64_t u = 0; u < g.kh; ++u) {
        const std::int64_t r = blur_source<P>(i + g.oh - u, g.H);
        if (r < 0) continue;
        const std::int64_t xr = xof + r * g.W;
        const std::int64_t kr = kof + u * g.kw;
        for (std::int64_t v = 0; v < g.kw; ++v) {
          const std::int64_t c = blur_source<P>(j + g.ow - v, g.W);
          if (c < 0) continue;
          acc += k(kr + v) * x(xr + c);
        }
      }
    }
    y(idx) = acc;
  }
};

/// x = A^T y (or x += A^T y): one input pixel per index, gathering every (kept output, tap)
/// pair whose padded position reads it, i.e. the transpose of the padding folded in. Taps are
/// visited in (u, v) order; with a stride only the taps that land on kept outputs are visited.
template <class T, Padding P, bool Accumulate>
struct BlurAdjoint {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<const T*, MemorySpace> k;
  Kokkos::View<T*, MemorySpace> x;
  BlurGeometry g;
  BlurInterior in;  // input pixels read only through themselves, by every tap

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t idx) const {
    const std::int64_t s = idx % g.W;
    const std::int64_t q = idx / g.W;
    const std::int64_t r = q % g.H;
    const std::int64_t bc = q / g.H;
    const std::int64_t kof = (bc / g.C) * g.kb + (bc % g.C) * g.kc;
    const std::int64_t yof = bc * g.Hs * g.Ws;
    T acc = T(0);
    if (in.contains(r, s)) {
      // Tap u meets convolution row r - oh + u, kept when it is a multiple of sh.
      const std::int64_t u_first = blur_mod(g.oh - r, g.sh);
      const std::int64_t v_first = blur_mod(g.ow - s, g.sw);
      const std::int64_t y0 =
          yof + ((r - g.oh + u_first) / g.sh) * g.Ws + (s - g.ow + v_first) / g.sw;
      std::int64_t yr = y0;
      for (std::int64_t u = u_first; u < g.kh; u += g.sh, yr += g.Ws) {
        const std::int64_t kr = kof + u * g.kw;
        std::int64_t yc = yr;
        for (std::int64_t v = v_first; v < g.kw; v += g.sw, ++yc) acc += k(kr + v) * y(yc);
      }
    } else {
      BlurSpan rows[3], cols[3];
      const int nr = blur_preimage<P>(r, g.H, g.lo_h, g.hi_h, rows);
      const int nc = blur_preimage<P>(s, g.W, g.lo_w, g.hi_w, cols);
      for (int a = 0; a < nr; ++a)
        for (std::int64_t t = rows[a].first; t <= rows[a].last; ++t) {
          // Taps u with convolution row i = t - oh + u in [0, Ho), i a multiple of sh.
          std::int64_t u0 = blur_max(0, g.oh - t);
          u0 += blur_mod(g.oh - t - u0, g.sh);
          const std::int64_t u1 = blur_min(g.kh, g.Ho + g.oh - t);
          for (int b = 0; b < nc; ++b)
            for (std::int64_t e = cols[b].first; e <= cols[b].last; ++e) {
              std::int64_t v0 = blur_max(0, g.ow - e);
              v0 += blur_mod(g.ow - e - v0, g.sw);
              const std::int64_t v1 = blur_min(g.kw, g.Wo + g.ow - e);
              for (std::int64_t u = u0; u < u1; u += g.sh) {
                const std::int64_t yr = yof + ((t - g.oh + u) / g.sh) * g.Ws;
                const std::int64_t kr = kof + u * g.kw;
                std::int64_t yc = yr + (e - g.ow + v0) / g.sw;
                for (std::int64_t v = v0; v < v1; v += g.sw, ++yc) acc += k(kr + v) * y(yc);
              }
            }
        }
    }
    if (Accumulate)
      x(idx) += acc;
    else
      x(idx) = acc;
  }
};

// GCC's vector extensions, in host code only (device passes compile the scalar loops).
#if defined(__GNUC__) && !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__) && \
    !defined(__SYCL_DEVICE_ONLY__)
#define KINV_HOST_VECTORS 1
typedef float blur_v4f __attribute__((vector_size(16)));
typedef double blur_v2d __attribute__((vector_size(16)));
/// The 16-byte vector of T.
template <class T>
struct BlurVector;
template <>
struct BlurVector<float> {
  using type = blur_v4f;
};
template <>
struct BlurVector<double> {
  using type = blur_v2d;
};
#else
#define KINV_HOST_VECTORS 0
#endif

/// Output columns a host row kernel sums at once, in registers: 16 floats or 8 doubles (four
/// SSE registers, two AVX ones).
template <class T>
KOKKOS_INLINE_FUNCTION constexpr int blur_lanes() {
  return sizeof(T) == 4 ? 16 : 8;
}

/// a[l] += sum_v k[v] src[l + Dir v], v < kw, in v order: one tap row of the host row kernels
/// (Dir = -1 for the convolution, +1 for its adjoint, a correlation), for M consecutive columns.
///
/// Host compilers that know GCC's vector extensions sum in 16-byte vectors held in registers
/// (compilers' own vectorisation of this loop shuffles lanes through memory). Each lane does
/// the same multiply and add as the scalar loop, so the results are bitwise the same.
template <class T, int Dir, int M>
KOKKOS_INLINE_FUNCTION void blur_tap_row(T (&a)[M], const T* src, const T* k, std::int64_t kw) {
#if KINV_HOST_VECTORS
  if constexpr (M * sizeof(T) % 16 == 0) {
    using V = typename BlurVector<T>::type;
    constexpr int n = static_cast<int>(16 / sizeof(T)), nv = M / n;
    V acc[nv];
    for (int q = 0; q < nv; ++q) __builtin_memcpy(&acc[q], a + q * n, 16);
    for (std::int64_t v = 0; v < kw; ++v) {
      V kv;
      for (int i = 0; i < n; ++i) kv[i] = k[v];
      const T* s = src + Dir * v;
      for (int q = 0; q < nv; ++q) {
        V x;
        __builtin_memcpy(&x, s + q * n, 16);
        acc[q] += kv * x;
      }
    }
    for (int q = 0; q < nv; ++q) __builtin_memcpy(a + q * n, &acc[q], 16);
    return;
  }
#endif
  for (std::int64_t v = 0; v < kw; ++v) {
    const T kv = k[v];
    const T* s = src + Dir * v;
    for (int l = 0; l < M; ++l) a[l] += kv * s[l];
  }
}

/// y = A x on host backends, unit strides only: one task per output row (b, c, i). The columns
/// whose taps all read inside the image run in blocks of blur_lanes<T>() columns summed in
/// registers, tap row by tap row (the rows a tap reads are remapped once per tap row, so this
/// covers the top and bottom borders too). The few border columns go through the per-element
/// kernel. Every output sums its taps in the same (u, v) order as BlurForward, skipping the same
/// zero rows, so both kernels give the same bits.
template <class T, Padding P>
struct BlurForwardRows {
  BlurForward<T, P> e;  // the per-element kernel, for the border columns

  // Output columns [j0, j0 + M) of output row i of plane bc.
  template <int M>
  KOKKOS_INLINE_FUNCTION void block(std::int64_t i, const T* xp, const T* kp, T* yp,
                                    std::int64_t j0) const {
    const BlurGeometry& g = e.g;
    T a[M];
    for (int l = 0; l < M; ++l) a[l] = T(0);
    for (std::int64_t u = 0; u < g.kh; ++u) {
      const std::int64_t r = P == Padding::Valid ? i + g.oh - u : blur_source<P>(i + g.oh - u, g.H);
      if (r < 0) continue;
      // x(r, j0 + l + ow - v) = src[l - v]
      blur_tap_row<T, -1, M>(a, xp + r * g.W + j0 + g.ow, kp + u * g.kw, g.kw);
    }
    for (int l = 0; l < M; ++l) yp[j0 + l] = a[l];
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row) const {
    const BlurGeometry& g = e.g;
    constexpr int L = blur_lanes<T>();
    const std::int64_t i = row % g.Ho, bc = row / g.Ho;
    const std::int64_t kof = (bc / g.C) * g.kb + (bc % g.C) * g.kc;
    const T* xp = e.x.data() + bc * g.H * g.W;
    const T* kp = e.k.data() + kof;
    T* yp = e.y.data() + row * g.Wo;
    const std::int64_t cb = e.in.col_begin, ce = e.in.col_end;
    for (std::int64_t j = 0; j < cb; ++j) e(row * g.Wo + j);
    std::int64_t j = cb;
    for (; j + L <= ce; j += L) block<L>(i, xp, kp, yp, j);
    for (; j < ce; ++j) block<1>(i, xp, kp, yp, j);
    for (j = blur_max(ce, cb); j < g.Wo; ++j) e(row * g.Wo + j);
  }
};

/// x = A^T y (or +=) on host backends, unit strides only: one task per input row (b, c, r).
/// Where the row's taps all land on output rows without folding (the interior rows, and every
/// row for circular padding, whose adjoint is a circular correlation), the interior columns run
/// in register blocks as in BlurForwardRows; everything else goes through the per-element
/// kernel. Interior pixels sum in BlurAdjoint's (u, v) order, so they match it bitwise; circular
/// border rows sum in another order (equal to rounding).
template <class T, Padding P, bool Accumulate>
struct BlurAdjointRows {
  BlurAdjoint<T, P, Accumulate> e;  // the per-element kernel
  std::int64_t col_begin, col_end;  // columns whose taps land inside [0, Wo) unfolded

  // Input columns [s0, s0 + M) of input row r of plane bc.
  template <int M>
  KOKKOS_INLINE_FUNCTION void block(std::int64_t r, const T* yp, const T* kp, T* xp,
                                    std::int64_t s0) const {
    const BlurGeometry& g = e.g;
    T a[M];
    for (int l = 0; l < M; ++l) a[l] = T(0);
    for (std::int64_t u = 0; u < g.kh; ++u) {
      std::int64_t t = r - g.oh + u;  // the output row tap u meets
      if (P == Padding::Circular) t = t < 0 ? t + g.Ho : (t >= g.Ho ? t - g.Ho : t);
      // y(t, s0 + l - ow + v) = src[l + v]
      blur_tap_row<T, 1, M>(a, yp + t * g.Wo + s0 - g.ow, kp + u * g.kw, g.kw);
    }
    for (int l = 0; l < M; ++l) {
      if (Accumulate)
        xp[s0 + l] += a[l];
      else
        xp[s0 + l] = a[l];
    }
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row) const {
    const BlurGeometry& g = e.g;
    constexpr int L = blur_lanes<T>();
    const std::int64_t r = row % g.H, bc = row / g.H;
    const bool fast = P == Padding::Circular || (r >= e.in.row_begin && r < e.in.row_end);
    const std::int64_t cb = fast ? col_begin : 0, ce = fast ? blur_max(col_begin, col_end) : 0;
    for (std::int64_t s = 0; s < cb; ++s) e(row * g.W + s);
    if (fast) {
      const std::int64_t kof = (bc / g.C) * g.kb + (bc % g.C) * g.kc;
      const T* yp = e.y.data() + bc * g.Ho * g.Wo;
      const T* kp = e.k.data() + kof;
      T* xp = e.x.data() + row * g.W;
      std::int64_t s = cb;
      for (; s + L <= ce; s += L) block<L>(r, yp, kp, xp, s);
      for (; s < ce; ++s) block<1>(r, yp, kp, xp, s);
    }
    for (std::int64_t s = ce; s < g.W; ++s) e(row * g.W + s);
  }
};

/// y = A x on host backends with strides (Downsampling): one task per stored output row (b, c,
/// a). The stored columns whose taps all read inside the image run in blocks of
/// blur_lanes<T>() outputs summed in registers, tap row by tap row (rows remapped once per tap
/// row); the border columns go through the per-element kernel. Every output sums its taps in
/// BlurForward's (u, v) order, skipping the same zero rows, so both kernels give the same bits.
template <class T, Padding P>
struct BlurForwardStridedRows {
  BlurForward<T, P> e;  // the per-element kernel, for the border columns

  // Stored output columns [b0, b0 + M) of convolution row i of plane bc.
  template <int M>
  KOKKOS_INLINE_FUNCTION void block(std::int64_t i, const T* xp, const T* kp, T* yp,
                                    std::int64_t b0) const {
    const BlurGeometry& g = e.g;
    T a[M];
    for (int l = 0; l < M; ++l) a[l] = T(0);
    for (std::int64_t u = 0; u < g.kh; ++u) {
      const std::int64_t r = P == Padding::Valid ? i + g.oh - u : blur_source<P>(i + g.oh - u, g.H);
      if (r < 0) continue;
      // x(r, (b0 + l) sw + ow - v) = src[l sw - v]
      const T* src = xp + r * g.W + b0 * g.sw + g.ow;
      const T* kr = kp + u * g.kw;
      for (std::int64_t v = 0; v < g.kw; ++v) {
        const T kv = kr[v];
        const T* s = src - v;
        for (int l = 0; l < M; ++l) a[l] += kv * s[l * g.sw];
      }
    }
    for (int l = 0; l < M; ++l) yp[b0 + l] = a[l];
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row) const {
    const BlurGeometry& g = e.g;
    constexpr int L = blur_lanes<T>();
    const std::int64_t i = (row % g.Hs) * g.sh, bc = row / g.Hs;
    const std::int64_t kof = (bc / g.C) * g.kb + (bc % g.C) * g.kc;
    const T* xp = e.x.data() + bc * g.H * g.W;
    const T* kp = e.k.data() + kof;
    T* yp = e.y.data() + row * g.Ws;
    // Stored columns b with b sw in [col_begin, col_end).
    const std::int64_t cb = (e.in.col_begin + g.sw - 1) / g.sw;
    const std::int64_t ce = blur_max(cb, (e.in.col_end + g.sw - 1) / g.sw);
    for (std::int64_t b = 0; b < cb; ++b) e(row * g.Ws + b);
    std::int64_t b = cb;
    for (; b + L <= ce; b += L) block<L>(i, xp, kp, yp, b);
    for (; b < ce; ++b) block<1>(i, xp, kp, yp, b);
    for (b = ce; b < g.Ws; ++b) e(row * g.Ws + b);
  }
};

/// x = A^T y (or +=) on host backends with strides: one task per input row (b, c, r). In the
/// interior rows, the interior columns are taken one residue class s = c0 + m sw at a time: in
/// a class every column meets the same taps v (those landing on kept outputs), on consecutive
/// stored columns, so blocks of blur_lanes<T>() columns sum in registers over unit-stride reads
/// of y. Each pixel sums in BlurAdjoint's (u, v) order, so both kernels give the same bits;
/// everything else goes through the per-element kernel.
template <class T, Padding P, bool Accumulate>
struct BlurAdjointStridedRows {
  BlurAdjoint<T, P, Accumulate> e;  // the per-element kernel

  // Columns c0 + (m0 + l) sw, l < M, of one residue class whose first tap is p and whose first
  // stored column (for m = 0) is yc0, in input row r (first tap row u0, stored row ys0).
  template <int M>
  KOKKOS_INLINE_FUNCTION void block(const T* yp, const T* kp, T* xp, std::int64_t u0,
                                    std::int64_t ys0, std::int64_t p, std::int64_t c0,
                                    std::int64_t yc0, std::int64_t m0) const {
    const BlurGeometry& g = e.g;
    T a[M];
    for (int l = 0; l < M; ++l) a[l] = T(0);
    std::int64_t yr = ys0 * g.Ws + yc0 + m0;
    for (std::int64_t u = u0; u < g.kh; u += g.sh, yr += g.Ws) {
      const T* kr = kp + u * g.kw;
      const T* src = yp + yr;
      for (std::int64_t v = p; v < g.kw; v += g.sw, ++src) {
        const T kv = kr[v];
        for (int l = 0; l < M; ++l) a[l] += kv * src[l];
      }
    }
    T* out = xp + c0 + m0 * g.sw;
    for (int l = 0; l < M; ++l) {
      if (Accumulate)
        out[l * g.sw] += a[l];
      else
        out[l * g.sw] = a[l];
    }
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row) const {
    const BlurGeometry& g = e.g;
    constexpr int L = blur_lanes<T>();
    const std::int64_t r = row % g.H, bc = row / g.H;
    const bool fast = r >= e.in.row_begin && r < e.in.row_end;
    const std::int64_t cb = fast ? e.in.col_begin : 0,
                       ce = fast ? blur_max(e.in.col_begin, e.in.col_end) : 0;
    for (std::int64_t s = 0; s < cb; ++s) e(row * g.W + s);
    if (fast) {
      const std::int64_t kof = (bc / g.C) * g.kb + (bc % g.C) * g.kc;
      const T* yp = e.y.data() + bc * g.Hs * g.Ws;
      const T* kp = e.k.data() + kof;
      T* xp = e.x.data() + row * g.W;
      const std::int64_t u0 = blur_mod(g.oh - r, g.sh);
      const std::int64_t ys0 = (r - g.oh + u0) / g.sh;
      for (std::int64_t c0 = cb; c0 < ce && c0 < cb + g.sw; ++c0) {
        const std::int64_t p = blur_mod(g.ow - c0, g.sw);
        const std::int64_t yc0 = (c0 - g.ow + p) / g.sw;
        const std::int64_t count = (ce - c0 + g.sw - 1) / g.sw;
        std::int64_t m = 0;
        for (; m + L <= count; m += L) block<L>(yp, kp, xp, u0, ys0, p, c0, yc0, m);
        for (; m < count; ++m) block<1>(yp, kp, xp, u0, ys0, p, c0, yc0, m);
      }
    }
    for (std::int64_t s = ce; s < g.W; ++s) e(row * g.W + s);
  }
};

/// A stride fixed at compile time, for loops the compiler should vectorise (usable in device
/// code, where std::integral_constant's conversion is a host function).
template <std::int64_t S>
struct FixedStride {
  KOKKOS_INLINE_FUNCTION constexpr operator std::int64_t() const { return S; }
};

/// Strided 1x1 filters (Downsampling without a filter) on host backends: y(a, m) = k x(a sh,
/// m sw), one task per stored output row. The general strided row kernel walks its tap loops per
/// block of outputs; here one strided loop reads the row. The values are T(0) + k x, as the
/// per-element kernel sums them.
template <class T>
struct PointForwardRows {
  Kokkos::View<const T*, MemorySpace> x;
  Kokkos::View<const T*, MemorySpace> k;
  Kokkos::View<T*, MemorySpace> y;
  BlurGeometry g;
  std::int64_t rows = 0;  // stored output rows; task t covers rows 2t and 2t + 1

  /// Tasks for `rows` output rows.
  static std::int64_t tasks(std::int64_t rows) { return (rows + 1) / 2; }

  struct Row {
    const T* xp;
    T* yp;
    T kv;
  };
  KOKKOS_INLINE_FUNCTION Row row_at(std::int64_t row) const {
    const std::int64_t a = row % g.Hs, bc = row / g.Hs;
    return {x.data() + (bc * g.H + a * g.sh) * g.W, y.data() + row * g.Ws,
            k((bc / g.C) * g.kb + (bc % g.C) * g.kc)};
  }

  // Two rows at once: two read streams in flight instead of one, which a row of one 4 KiB page
  // (1024 floats), followed by a skipped one, needs (0.77 -> 0.85 of a triad in a stand-alone
  // loop at 1024^2).
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t t) const {
    const Row r0 = row_at(2 * t);
    if (2 * t + 1 >= rows) {
      if (g.sw == 2)
        run(r0, FixedStride<2>{});
      else
        run(r0, g.sw);
      return;
    }
    const Row r1 = row_at(2 * t + 1);
    if (g.sw == 2)
      run2(r0, r1, FixedStride<2>{});
    else
      run2(r0, r1, g.sw);
  }

  // A stride known at compile time (2, the usual factor) lets the compiler vectorise the loads.
  template <class Stride>
  KOKKOS_INLINE_FUNCTION void run(const Row& r, Stride sw) const {
    for (std::int64_t m = 0; m < g.Ws; ++m) r.yp[m] = T(0) + r.kv * r.xp[m * sw];
  }
  template <class Stride>
  KOKKOS_INLINE_FUNCTION void run2(const Row& r0, const Row& r1, Stride sw) const {
    for (std::int64_t m = 0; m < g.Ws; ++m) {
      r0.yp[m] = T(0) + r0.kv * r0.xp[m * sw];
      r1.yp[m] = T(0) + r1.kv * r1.xp[m * sw];
    }
  }
};

/// The adjoint of PointForwardRows: x(r, c) = k y(r / sh, c / sw) where sh divides r and sw
/// divides c, else 0 (or only the kept pixels updated, accumulated). One task per input row: a
/// zero fill and a strided scatter.
template <class T, bool Accumulate>
struct PointAdjointRows {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<const T*, MemorySpace> k;
  Kokkos::View<T*, MemorySpace> x;
  BlurGeometry g;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row) const {
    const std::int64_t r = row % g.H, bc = row / g.H;
    const bool kept = r % g.sh == 0;
    T* xp = x.data() + row * g.W;
    if (!Accumulate && !(kept && g.sw == 2))
      for (std::int64_t c = 0; c < g.W; ++c) xp[c] = T(0);
    if (!kept) return;
    const T kv = k((bc / g.C) * g.kb + (bc % g.C) * g.kc);
    const T* yp = y.data() + (bc * g.Hs + r / g.sh) * g.Ws;
    if (!Accumulate && g.sw == 2)
      interleave(xp, yp, kv);
    else if (g.sw == 2)
      run(xp, yp, kv, FixedStride<2>{});
    else
      run(xp, yp, kv, g.sw);
  }

  // A kept row with stride 2, set: the values interleaved with zeros in one unit-stride pass
  // (a zero fill, then a scatter, wrote the row twice; 0.70-0.88 of a triad against 0.92-1.07
  // for one pass in a stand-alone loop). The same values as the zero fill and scatter.
  KOKKOS_INLINE_FUNCTION void interleave(T* xp, const T* yp, T kv) const {
    const std::int64_t pairs = g.W / 2 < g.Ws ? g.W / 2 : g.Ws;  // m with 2m + 1 < W, m < Ws
    for (std::int64_t m = 0; m < pairs; ++m) {
      xp[2 * m] = T(0) + kv * yp[m];
      xp[2 * m + 1] = T(0);
    }
    for (std::int64_t c = 2 * pairs; c < g.W; ++c)
      xp[c] = c % 2 == 0 && c / 2 < g.Ws ? T(0) + kv * yp[c / 2] : T(0);
  }

  // A stride known at compile time (2, the usual factor) lets the compiler vectorise the stores.
  template <class Stride>
  KOKKOS_INLINE_FUNCTION void run(T* xp, const T* yp, T kv, Stride sw) const {
    for (std::int64_t m = 0; m < g.Ws; ++m) {
      if (Accumulate)
        xp[m * sw] += T(0) + kv * yp[m];
      else
        xp[m * sw] = T(0) + kv * yp[m];
    }
  }
};

/// The same adjoint (a 1x1 filter, strides (sh, sw)) on GPUs: one thread per element of x, so
/// stores coalesce; x(i, j) = k y(i / sh, j / sw) where sh divides i and sw divides j, else 0 (or
/// left as is, accumulating). The index arithmetic is in I (int when x fits, where a 64-bit
/// division costs several times a 32-bit one) and the strides are compile-time when S > 0 (2,
/// the usual factor: shifts and masks). The generic element kernel, which works out the taps
/// reaching each element, ran at 8-17 % of the copy bandwidth on an H100. The sums are the
/// element kernel's, T(0) + k y.
template <class T, bool Accumulate, class I, int S>
struct PointAdjointElements {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<const T*, MemorySpace> k;
  Kokkos::View<T*, MemorySpace> x;
  I C, H, W, sh, sw, Hs, Ws, kb, kc;

  PointAdjointElements(Kokkos::View<const T*, MemorySpace> y_,
                       Kokkos::View<const T*, MemorySpace> k_, Kokkos::View<T*, MemorySpace> x_,
                       const BlurGeometry& g)
      : y(y_),
        k(k_),
        x(x_),
        C(static_cast<I>(g.C)),
        H(static_cast<I>(g.H)),
        W(static_cast<I>(g.W)),
        sh(static_cast<I>(S > 0 ? S : g.sh)),
        sw(static_cast<I>(S > 0 ? S : g.sw)),
        Hs(static_cast<I>(g.Hs)),
        Ws(static_cast<I>(g.Ws)),
        kb(static_cast<I>(g.kb)),
        kc(static_cast<I>(g.kc)) {}

  KOKKOS_INLINE_FUNCTION I row_stride() const { return S > 0 ? I(S) : sh; }
  KOKKOS_INLINE_FUNCTION I col_stride() const { return S > 0 ? I(S) : sw; }

  KOKKOS_INLINE_FUNCTION void operator()(const I n) const {
    const I c = n % W, row = n / W;
    const I r = row % H, bc = row / H;
    const bool kept = r % row_stride() == 0 && c % col_stride() == 0;
    if (!kept) {
      if (!Accumulate) x(n) = T(0);
      return;
    }
    const T v = T(0) + k((bc / C) * kb + (bc % C) * kc) *
                           y((bc * Hs + r / row_stride()) * Ws + c / col_stride());
    if (Accumulate)
      x(n) += v;
    else
      x(n) = v;
  }
};

/// The geometry of a convolution with a filter of shape (b, c, h, w) on an input of shape
/// (B, C, H, W) in the given mode, keeping every (sh, sw)-th output (defined in blur.cpp; the
/// shapes must already be checked).
BlurGeometry make_blur_geometry(const Shape& filter, Padding padding, const Shape& input,
                                std::int64_t sh = 1, std::int64_t sw = 1);

/// y = the kept outputs of the convolution of x with k (geometry g), as a kernel labelled
/// `label` on `space`. Explicitly instantiated for float and double in blur.cpp.
template <class T>
void blur_forward(const std::string& label, const ExecutionSpace& space, const Tensor<T>& x,
                  const Tensor<T>& k, const Tensor<T>& y, const BlurGeometry& g, Padding padding);

/// x = (or +=) the adjoint of a 1x1 filter with strides (PointAdjointElements: what GPUs run;
/// host backends run PointAdjointRows). Explicitly instantiated in blur.cpp.
template <class T, bool Accumulate>
void run_point_adjoint(const std::string& label, const ExecutionSpace& space, const Tensor<T>& y,
                       const Tensor<T>& k, const Tensor<T>& x, const BlurGeometry& g);

/// x = (or +=) the adjoint of blur_forward applied to y.
template <class T>
void blur_adjoint(const std::string& label, const ExecutionSpace& space, const Tensor<T>& y,
                  const Tensor<T>& k, const Tensor<T>& x, const BlurGeometry& g, Padding padding,
                  bool accumulate);

}  // namespace impl
}  // namespace kinv
