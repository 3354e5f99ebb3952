// The modified Shepp-Logan phantom of deepinv.utils.phantoms.generate_shepp_logan, for the
// examples: sums of constant ellipses on [-1, 1]^2, clipped to [0, 1].
#pragma once

#include <kinv/core/compat.hpp>
#include <kinv/core/error.hpp>
#include <kinv/core/tensor.hpp>
#include <kinv/core/types.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace kinv {
namespace examples {

namespace impl {
// One ellipse: intensity a, half-axes (b along x, c along y), centre (x0, y0), angle theta.
struct Ellipse {
  double a, b, c, x0, y0, theta_deg;
};

// Modified Shepp-Logan (Toft), as in deepinv (and MATLAB's phantom('Modified Shepp-Logan')).
constexpr Ellipse shepp_logan_ellipses[10] = {
    {1.0, 0.69, 0.92, 0.0, 0.0, 0.0},      {-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0},
    {-0.2, 0.11, 0.31, 0.22, 0.0, -18.0},  {-0.2, 0.16, 0.41, -0.22, 0.0, 18.0},
    {0.1, 0.21, 0.25, 0.0, 0.35, 0.0},     {0.1, 0.046, 0.046, 0.0, 0.1, 0.0},
    {0.1, 0.046, 0.046, 0.0, -0.1, 0.0},   {0.1, 0.046, 0.023, -0.08, -0.605, 0.0},
    {0.1, 0.023, 0.023, 0.0, -0.606, 0.0}, {0.1, 0.023, 0.046, 0.06, -0.605, 0.0}};

template <class T>
struct SheppLoganFill {
  Kokkos::View<T*, MemorySpace> out;
  std::int64_t H, W;
  // Per ellipse: a, b, c, x0, y0, cos, sin.
  double e[10][7];
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t p) const {
    const std::int64_t i = p / W, j = p % W;
    // Column j is x = linspace(-1, 1, W)[j]; row i is y = linspace(1, -1, H)[i] (top is y = 1).
    const double x =
        W > 1 ? -1.0 + 2.0 * static_cast<double>(j) / static_cast<double>(W - 1) : -1.0;
    const double y = H > 1 ? 1.0 - 2.0 * static_cast<double>(i) / static_cast<double>(H - 1) : 1.0;
    double v = 0;
    for (int k = 0; k < 10; ++k) {
      const double dx = x - e[k][3], dy = y - e[k][4];
      const double xr = dx * e[k][5] + dy * e[k][6];
      const double yr = -dx * e[k][6] + dy * e[k][5];
      const double u = xr / e[k][1], w = yr / e[k][2];
      if (u * u + w * w <= 1.0) v += e[k][0];
    }
    out(p) = static_cast<T>(v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v));
  }
};
}  // namespace impl

/// The (1, 1, H, W) modified Shepp-Logan phantom, values in [0, 1]. For H == W it is
/// deepinv.utils.phantoms.generate_shepp_logan(H) (deepinv decides pixels on ellipse borders in
/// float32, this in double, so a few border pixels may differ).
template <class T>
Tensor<T> shepp_logan(std::int64_t H, std::int64_t W) {
  if (H < 1 || W < 1)
    throw ValueError("shepp_logan: H and W must be >= 1, got " + std::to_string(H) + " x " +
                     std::to_string(W));
  auto t = Tensor<T>::uninitialized("kinv::examples::shepp_logan", {1, 1, H, W});
  impl::SheppLoganFill<T> f{t.view(), H, W, {}};
  for (int k = 0; k < 10; ++k) {
    const auto& el = impl::shepp_logan_ellipses[k];
    const double th = el.theta_deg * compat::pi<double>() / 180.0;
    const double row[7] = {el.a, el.b, el.c, el.x0, el.y0, std::cos(th), std::sin(th)};
    for (int m = 0; m < 7; ++m) f.e[k][m] = row[m];
  }
  Kokkos::parallel_for("kinv::examples::shepp_logan", kinv::impl::range(ExecutionSpace(), H * W),
                       f);
  return t;
}

}  // namespace examples
}  // namespace kinv
