#include <kinv/optim/prox.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace kinv {

namespace {

// Spatial geometry of a (B, C, H, W) or (B, C, D, H, W) signal: each flat index p has
// coordinates along the ND spatial axes (D, H, W or H, W), in deepinv's gradient order.
template <int ND>
struct Grid {
  std::int64_t n[3];       // extents of the spatial axes
  std::int64_t stride[3];  // flat strides of the spatial axes
  KOKKOS_INLINE_FUNCTION void coords(const std::int64_t p, std::int64_t c[ND]) const {
    for (int i = 0; i < ND; ++i) c[i] = (p / stride[i]) % n[i];
  }
};

template <int ND>
Grid<ND> make_grid(const Shape& s) {
  Grid<ND> g{};
  std::int64_t stride = 1;
  for (int i = ND - 1; i >= 0; --i) {
    g.n[i] = s[2 + i];
    g.stride[i] = stride;
    stride *= g.n[i];
  }
  return g;
}

// x = prox_{tau f}(x2 - tau D^T u2) with f = 1/2 ||. - y||^2; z = 2 x - x2 (the point the dual
// step differentiates); x2 <- x2 + rho (x - x2), diff = old x2 - new x2. Reads u2 at p and at
// its predecessors only, x2 at p only, so x2 is updated in place.
template <class T, int ND>
struct TVPrimalStep {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<T*, MemorySpace> x2, z, diff;
  Kokkos::View<const T*, MemorySpace> u;
  Grid<ND> grid;
  T tau, rho;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t b, const std::int64_t i,
                                         const std::int64_t j) const {
    const std::int64_t c[2] = {i, j};
    apply((b * grid.n[0] + i) * grid.n[1] + j, c);
  }
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t b, const std::int64_t k,
                                         const std::int64_t i, const std::int64_t j) const {
    const std::int64_t c[3] = {k, i, j};
    apply(((b * grid.n[0] + k) * grid.n[1] + i) * grid.n[2] + j, c);
  }
  KOKKOS_INLINE_FUNCTION void apply(const std::int64_t p, const std::int64_t c[ND]) const {
    // D^T u in deepinv's order: per axis, minus the own component, plus the predecessor's.
    T adj = T(0);
    for (int i = 0; i < ND; ++i) {
      if (c[i] < grid.n[i] - 1) adj -= u(p * ND + i);
      if (c[i] > 0) adj += u((p - grid.stride[i]) * ND + i);
    }
    const T old = x2(p);
    const T x = ((old - tau * adj) + tau * y(p)) / (T(1) + tau);
    z(p) = T(2) * x - old;
    const T updated = old + rho * (x - old);
    x2(p) = updated;
    diff(p) = old - updated;
  }
};

// u = projection of u2 + sigma D z onto the ball of radius lambda (per pixel, over the
// gradient components); u2 <- u2 + rho (u - u2). Reads z at p and its successors.
template <class T, int ND>
struct TVDualStep {
  Kokkos::View<const T*, MemorySpace> z;
  Kokkos::View<T*, MemorySpace> u;
  Grid<ND> grid;
  T sigma, lambda, rho;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t b, const std::int64_t i,
                                         const std::int64_t j) const {
    const std::int64_t c[2] = {i, j};
    apply((b * grid.n[0] + i) * grid.n[1] + j, c);
  }
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t b, const std::int64_t k,
                                         const std::int64_t i, const std::int64_t j) const {
    const std::int64_t c[3] = {k, i, j};
    apply(((b * grid.n[0] + k) * grid.n[1] + i) * grid.n[2] + j, c);
  }
  KOKKOS_INLINE_FUNCTION void apply(const std::int64_t p, const std::int64_t c[ND]) const {
    const T zp = z(p);
    T v[ND];
    T sq = T(0);
    for (int i = 0; i < ND; ++i) {
      const T g = c[i] < grid.n[i] - 1 ? z(p + grid.stride[i]) - zp : T(0);
      v[i] = u(p * ND + i) + sigma * g;
      sq += v[i] * v[i];
    }
    const T ratio = compat::math::sqrt(sq) / lambda;
    const T den = ratio > T(1) ? ratio : T(1);
    for (int i = 0; i < ND; ++i) {
      const T old = u(p * ND + i);
      u(p * ND + i) = old + rho * (v[i] / den - old);
    }
  }
};

// Terms of the stopping test: ||old x2 - new x2||^2 and ||new x2 + 1e-12||^2 (deepinv adds
// 1e-12 to every entry before taking the norm).
template <class T>
struct TVCriterionTerms {
  Kokkos::View<const T*, MemorySpace> diff, x2;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t p, double& a, double& b) const {
    const double d = static_cast<double>(diff(p));
    const double x = static_cast<double>(x2(p) + T(1e-12));
    a += d * d;
    b += x * x;
  }
};

// TV(x) at pixel p (second sum unused).
template <class T, int ND>
struct TVNormTerms {
  Kokkos::View<const T*, MemorySpace> x;
  Grid<ND> grid;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t p, double& a, double&) const {
    std::int64_t c[ND];
    grid.coords(p, c);
    const double xp = static_cast<double>(x(p));
    double sq = 0;
    for (int i = 0; i < ND; ++i) {
      const double g = c[i] < grid.n[i] - 1 ? static_cast<double>(x(p + grid.stride[i])) - xp : 0.0;
      sq += g * g;
    }
    a += compat::math::sqrt(sq);
  }
};

// Deterministic two-term sums: chunk k adds the terms of [k chunk, (k + 1) chunk) in index
// order, the host adds the chunks in order. The chunking depends on n only, so the result is
// the same bitwise for any thread count or backend run order.
template <class Terms>
struct ChunkSums {
  Terms terms;
  Kokkos::View<double*, MemorySpace> partial;
  std::int64_t n, chunk;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t k) const {
    double a = 0, b = 0;
    const std::int64_t end = (k + 1) * chunk < n ? (k + 1) * chunk : n;
    for (std::int64_t p = k * chunk; p < end; ++p) terms(p, a, b);
    partial(2 * k) = a;
    partial(2 * k + 1) = b;
  }
};

constexpr std::int64_t max_chunks = 1024;
constexpr std::int64_t min_chunk = 256;

std::int64_t chunk_size(std::int64_t n) {
  return std::max(min_chunk, (n + max_chunks - 1) / max_chunks);
}
std::int64_t num_chunks(std::int64_t n) {
  const std::int64_t c = chunk_size(n);
  return (n + c - 1) / c;
}

template <class Terms>
void chunk_sums(const char* label, const Terms& terms, std::int64_t n,
                const Kokkos::View<double*, MemorySpace>& partial,
                const Kokkos::View<double*, Kokkos::HostSpace>& partial_host, double& a,
                double& b) {
  const std::int64_t chunks = num_chunks(n);
  Kokkos::parallel_for(label, impl::range(ExecutionSpace(), chunks),
                       ChunkSums<Terms>{terms, partial, n, chunk_size(n)});
  const auto range = std::make_pair(std::size_t(0), static_cast<std::size_t>(2 * chunks));
  Kokkos::deep_copy(Kokkos::subview(partial_host, range), Kokkos::subview(partial, range));
  a = 0;
  b = 0;
  for (std::int64_t k = 0; k < chunks; ++k) {
    a += partial_host(2 * k);
    b += partial_host(2 * k + 1);
  }
}

void check_signal(const char* what, const Shape& s) {
  if (s.rank() != 4 && s.rank() != 5)
    throw ShapeError(std::string(what), "a tensor of rank 4 (B, C, H, W) or 5 (B, C, D, H, W)",
                     s.to_string() + " (rank " + std::to_string(s.rank()) + ")");
}

void check_ths(double ths) {
  if (!(ths >= 0.0) || !std::isfinite(ths))
    throw ValueError("TVDenoiser: ths must be finite and >= 0, got " + std::to_string(ths));
}

template <class T, int ND>
void run_tv(const Tensor<T>& y, double ths, const TVOptions& o,
            const Kokkos::View<T*, MemorySpace>& x2, const Kokkos::View<T*, MemorySpace>& z,
            const Kokkos::View<T*, MemorySpace>& diff, const Kokkos::View<T*, MemorySpace>& u,
            const Kokkos::View<double*, MemorySpace>& partial,
            const Kokkos::View<double*, Kokkos::HostSpace>& partial_host, int& iterations,
            bool& converged) {
  const std::int64_t n = y.size();
  const Grid<ND> grid = make_grid<ND>(y.shape());
  // deepinv: sigma = 1 / tau / 2^(ndim - 1), the squared norm bound of D being 4 ND.
  const double sigma = 1.0 / o.tau / static_cast<double>(1 << (ND + 1));
  // Iterate over (B C, [D,] H, W): coordinates without integer divisions, W fastest.
  using Policy =
      Kokkos::MDRangePolicy<ExecutionSpace,
                            Kokkos::Rank<ND + 1, Kokkos::Iterate::Right, Kokkos::Iterate::Right>,
                            Kokkos::IndexType<std::int64_t>>;
  typename Policy::point_type lower, upper;
  lower[0] = 0;
  upper[0] = y.shape()[0] * y.shape()[1];
  for (int i = 0; i < ND; ++i) {
    lower[i + 1] = 0;
    upper[i + 1] = grid.n[i];
  }
  const Policy policy(lower, upper);
  const TVPrimalStep<T, ND> primal{
      y.view(), x2, z, diff, u, grid, static_cast<T>(o.tau), static_cast<T>(o.rho)};
  const TVDualStep<T, ND> dual{
      z, u, grid, static_cast<T>(sigma), static_cast<T>(ths), static_cast<T>(o.rho)};
  const TVCriterionTerms<T> terms{diff, x2};
  iterations = o.n_it_max;
  converged = false;
  for (int it = 0; it < o.n_it_max; ++it) {
    Kokkos::parallel_for("kinv::TVDenoiser::primal", policy, primal);
    Kokkos::parallel_for("kinv::TVDenoiser::dual", policy, dual);
    if (it > 1 && o.crit > 0) {
      double dd = 0, xx = 0;
      chunk_sums("kinv::TVDenoiser::criterion", terms, n, partial, partial_host, dd, xx);
      if (std::sqrt(dd) / std::sqrt(xx) < o.crit) {
        iterations = it + 1;
        converged = true;
        break;
      }
    }
  }
}

template <class T>
struct SoftThreshold {
  Kokkos::View<const T*, MemorySpace> in;
  Kokkos::View<T*, MemorySpace> out;
  T lambda;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const T v = in(i);
    out(i) = v > lambda ? v - lambda : (v < -lambda ? v + lambda : T(0));
  }
};

template <class T>
struct ProjectBox {
  Kokkos::View<const T*, MemorySpace> in;
  Kokkos::View<T*, MemorySpace> out;
  T lo, hi;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const T v = in(i);
    out(i) = v < lo ? lo : (v > hi ? hi : v);
  }
};

template <class T>
void check_lambda(T lambda) {
  if (!(lambda >= T(0)) || !std::isfinite(static_cast<double>(lambda)))
    throw ValueError("soft_threshold: lambda must be finite and >= 0, got " +
                     std::to_string(lambda));
}

template <class T>
void check_box(T lo, T hi) {
  if (std::isnan(static_cast<double>(lo)) || std::isnan(static_cast<double>(hi)) || !(lo <= hi))
    throw ValueError("project_box: expected lo <= hi, got lo = " + std::to_string(lo) +
                     ", hi = " + std::to_string(hi));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TVDenoiser

template <class T>
TVDenoiser<T>::TVDenoiser(const TVOptions& options) : m_options(options) {
  check_ths(options.ths);
  if (options.n_it_max < 0)
    throw ValueError("TVDenoiser: n_it_max must be >= 0, got " + std::to_string(options.n_it_max));
  if (!(options.crit >= 0.0) || !std::isfinite(options.crit))
    throw ValueError("TVDenoiser: crit must be finite and >= 0, got " +
                     std::to_string(options.crit));
  if (!(options.tau > 0.0) || !std::isfinite(options.tau))
    throw ValueError("TVDenoiser: tau must be finite and > 0, got " + std::to_string(options.tau));
  if (!(options.rho > 0.0 && options.rho < 2.0))
    throw ValueError("TVDenoiser: rho must be in (0, 2), got " + std::to_string(options.rho));
}

template <class T>
Tensor<T> TVDenoiser<T>::operator()(const Tensor<T>& y) const {
  return (*this)(y, static_cast<T>(m_options.ths));
}

template <class T>
Tensor<T> TVDenoiser<T>::operator()(const Tensor<T>& y, T ths) const {
  check_signal("TVDenoiser: y", y.shape());
  auto out = Tensor<T>::uninitialized("kinv::TVDenoiser::out", y.shape());
  (*this)(y, out, ths);
  return out;
}

template <class T>
void TVDenoiser<T>::operator()(const Tensor<T>& y, const Tensor<T>& out) const {
  (*this)(y, out, static_cast<T>(m_options.ths));
}

template <class T>
void TVDenoiser<T>::ensure_workspace(std::int64_t n, int ndim) const {
  const auto need = static_cast<std::size_t>(n);
  if (m_x2.size() < need) {
    // Growing loses the warm-restart state, which belongs to another shape anyway.
    m_x2 = Kokkos::View<T*, MemorySpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::TVDenoiser::x2"), need);
    m_z = Kokkos::View<T*, MemorySpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::TVDenoiser::z"), need);
    m_diff = Kokkos::View<T*, MemorySpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::TVDenoiser::diff"), need);
    m_has_state = false;
  }
  const auto need_u = need * static_cast<std::size_t>(ndim);
  if (m_u.size() < need_u) {
    m_u = Kokkos::View<T*, MemorySpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::TVDenoiser::u"), need_u);
    m_has_state = false;
  }
  const auto need_p = static_cast<std::size_t>(2 * num_chunks(n));
  if (m_partial.size() < need_p) {
    m_partial = Kokkos::View<double*, MemorySpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::TVDenoiser::partial"), need_p);
    m_partial_host = Kokkos::View<double*, Kokkos::HostSpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::TVDenoiser::partial_host"), need_p);
  }
}

template <class T>
void TVDenoiser<T>::operator()(const Tensor<T>& y, const Tensor<T>& out, T ths) const {
  check_signal("TVDenoiser: y", y.shape());
  if (out.shape() != y.shape())
    throw ShapeError("TVDenoiser: out", "the shape of y " + y.shape().to_string(),
                     out.shape().to_string());
  check_ths(static_cast<double>(ths));
  m_iterations = 0;
  m_converged = false;
  const std::int64_t n = y.size();
  if (n == 0) return;
  // gamma = 0: the minimiser is y (deepinv divides by gamma here and returns NaN).
  if (ths == T(0)) {
    if (out.data() != y.data()) Kokkos::deep_copy(out.view(), y.view());
    return;
  }
  const int nd = y.rank() - 2;
  ensure_workspace(n, nd);
  const auto r = std::make_pair(std::size_t(0), static_cast<std::size_t>(n));
  const auto ru = std::make_pair(std::size_t(0), static_cast<std::size_t>(n * nd));
  const auto x2 = Kokkos::subview(m_x2, r);
  const auto z = Kokkos::subview(m_z, r);
  const auto diff = Kokkos::subview(m_diff, r);
  const auto u = Kokkos::subview(m_u, ru);
  const bool warm = m_options.warm_restart && m_has_state && m_state_shape == y.shape();
  if (!warm) {
    Kokkos::deep_copy(x2, y.view());
    Kokkos::deep_copy(u, T(0));
  }
  m_has_state = false;  // until the iterations below complete
  if (nd == 2)
    run_tv<T, 2>(y, static_cast<double>(ths), m_options, x2, z, diff, u, m_partial, m_partial_host,
                 m_iterations, m_converged);
  else
    run_tv<T, 3>(y, static_cast<double>(ths), m_options, x2, z, diff, u, m_partial, m_partial_host,
                 m_iterations, m_converged);
  Kokkos::deep_copy(out.view(), x2);
  m_state_shape = y.shape();
  m_has_state = true;
}

template <class T>
double total_variation(const Tensor<T>& x) {
  check_signal("total_variation: x", x.shape());
  const std::int64_t n = x.size();
  if (n == 0) return 0.0;
  const auto chunks = static_cast<std::size_t>(2 * num_chunks(n));
  Kokkos::View<double*, MemorySpace> partial(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::total_variation::partial"), chunks);
  Kokkos::View<double*, Kokkos::HostSpace> partial_host(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::total_variation::partial_host"),
      chunks);
  double a = 0, b = 0;
  if (x.rank() == 4)
    chunk_sums("kinv::total_variation", TVNormTerms<T, 2>{x.view(), make_grid<2>(x.shape())}, n,
               partial, partial_host, a, b);
  else
    chunk_sums("kinv::total_variation", TVNormTerms<T, 3>{x.view(), make_grid<3>(x.shape())}, n,
               partial, partial_host, a, b);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Elementwise proximal operators

template <class T>
void soft_threshold_inplace(const Tensor<T>& x, typename Tensor<T>::value_type lambda) {
  check_lambda(lambda);
  Kokkos::parallel_for("kinv::soft_threshold", impl::range(ExecutionSpace(), x.size()),
                       SoftThreshold<T>{x.view(), x.view(), lambda});
}

template <class T>
Tensor<T> soft_threshold(const Tensor<T>& x, typename Tensor<T>::value_type lambda) {
  check_lambda(lambda);
  auto out = Tensor<T>::uninitialized("kinv::soft_threshold", x.shape());
  Kokkos::parallel_for("kinv::soft_threshold", impl::range(ExecutionSpace(), x.size()),
                       SoftThreshold<T>{x.view(), out.view(), lambda});
  return out;
}

template <class T>
void project_box_inplace(const Tensor<T>& x, typename Tensor<T>::value_type lo,
                         typename Tensor<T>::value_type hi) {
  check_box(lo, hi);
  Kokkos::parallel_for("kinv::project_box", impl::range(ExecutionSpace(), x.size()),
                       ProjectBox<T>{x.view(), x.view(), lo, hi});
}

template <class T>
Tensor<T> project_box(const Tensor<T>& x, typename Tensor<T>::value_type lo,
                      typename Tensor<T>::value_type hi) {
  check_box(lo, hi);
  auto out = Tensor<T>::uninitialized("kinv::project_box", x.shape());
  Kokkos::parallel_for("kinv::project_box", impl::range(ExecutionSpace(), x.size()),
                       ProjectBox<T>{x.view(), out.view(), lo, hi});
  return out;
}

template <class T>
void project_nonnegative_inplace(const Tensor<T>& x) {
  project_box_inplace(x, T(0), std::numeric_limits<T>::infinity());
}

template <class T>
Tensor<T> project_nonnegative(const Tensor<T>& x) {
  return project_box(x, T(0), std::numeric_limits<T>::infinity());
}

template class TVDenoiser<float>;
template class TVDenoiser<double>;
#define KINV_PROX_INSTANTIATE(T)                                \
  template double total_variation<T>(const Tensor<T>&);         \
  template Tensor<T> soft_threshold<T>(const Tensor<T>&, T);    \
  template void soft_threshold_inplace<T>(const Tensor<T>&, T); \
  template Tensor<T> project_box<T>(const Tensor<T>&, T, T);    \
  template void project_box_inplace<T>(const Tensor<T>&, T, T); \
  template Tensor<T> project_nonnegative<T>(const Tensor<T>&);  \
  template void project_nonnegative_inplace<T>(const Tensor<T>&);
KINV_PROX_INSTANTIATE(float)
KINV_PROX_INSTANTIATE(double)
#undef KINV_PROX_INSTANTIATE

}  // namespace kinv
