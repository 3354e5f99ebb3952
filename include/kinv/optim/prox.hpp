// Simple priors for reconstruction: the isotropic total-variation denoiser of deepinv
// (deepinv.models.TVDenoiser) and the proximal operators of the l1 norm and of box constraints.
// Each is a callable on a batch tensor, usable as a denoiser or as the proximal step of FISTA.
#pragma once

#include <kinv/core/tensor.hpp>

#include <cstdint>

namespace kinv {

/// Options of TVDenoiser (deepinv.models.TVDenoiser's keyword arguments).
struct TVOptions {
  /// Regularisation weight gamma of min_x 1/2 ||x - y||^2 + gamma TV(x). deepinv has no
  /// default (it must be given to the constructor or to forward); kinv uses 0.1.
  double ths = 0.1;
  /// Maximum number of primal-dual iterations (deepinv: 1000).
  int n_it_max = 1000;
  /// Stop when ||x_k - x_{k-1}|| / ||x_k + 1e-12|| < crit, from the third iteration on
  /// (deepinv: 1e-5). 0 runs n_it_max iterations.
  double crit = 1e-5;
  /// Primal step size (deepinv: 0.01); the dual step is 1 / (tau 2^(ndim - 1)).
  double tau = 0.01;
  /// Over-relaxation, in (0, 2) (deepinv: 1.99).
  double rho = 1.99;
  /// Start each call from the previous call's primal and dual variables when the shape is the
  /// same (deepinv's default). Off by default here: a call's result then depends on its input
  /// only, so the same tile gives the same answer whichever rank (and in whichever order)
  /// processes it.
  bool warm_restart = false;
};

/// Proximal operator of gamma * TV (isotropic total variation, per channel):
///   argmin_x 1/2 ||x - y||^2 + gamma sum_pixels ||(D x)_pixel||_2,
/// with D the forward differences along each spatial axis (zero past the last sample, i.e.
/// Neumann boundaries), solved by deepinv's over-relaxed Chambolle-Pock (Condat) iterations.
/// Inputs are (B, C, H, W) or (B, C, D, H, W). The stopping test sums in a fixed order that
/// depends on the shape only, so every process decides it identically for the same input.
///
/// Calls reuse workspaces (sized to the largest input seen) and are not thread-safe: use one
/// denoiser per concurrent caller. A copy has the same options and its own (empty) workspaces
/// and warm-restart state.
template <class T>
class TVDenoiser {
 public:
  explicit TVDenoiser(const TVOptions& options = TVOptions());
  TVDenoiser(const TVDenoiser& other) : m_options(other.m_options) {}
  TVDenoiser(TVDenoiser&&) = default;
  TVDenoiser& operator=(const TVDenoiser& other) {
    if (this != &other) *this = TVDenoiser(other.m_options);
    return *this;
  }
  TVDenoiser& operator=(TVDenoiser&&) = default;
  ~TVDenoiser() = default;

  /// The denoised y, with the threshold of the options.
  Tensor<T> operator()(const Tensor<T>& y) const;
  /// The denoised y with threshold `ths` (e.g. gamma * lambda in a proximal gradient step).
  Tensor<T> operator()(const Tensor<T>& y, T ths) const;
  /// Writes the denoised y into `out` (same shape; `out` may be `y`).
  void operator()(const Tensor<T>& y, const Tensor<T>& out) const;
  void operator()(const Tensor<T>& y, const Tensor<T>& out, T ths) const;

  const TVOptions& options() const noexcept { return m_options; }
  /// Iterations run by the last call (0 when ths was 0 or the input empty).
  int last_iterations() const noexcept { return m_iterations; }
  /// Whether the last call stopped on `crit` (rather than on n_it_max).
  bool last_converged() const noexcept { return m_converged; }
  /// Forgets the warm-restart state.
  void reset() const noexcept { m_has_state = false; }

 private:
  void ensure_workspace(std::int64_t n, int ndim) const;

  TVOptions m_options;
  mutable Kokkos::View<T*, MemorySpace> m_x2, m_z, m_diff, m_u;
  mutable Kokkos::View<double*, MemorySpace> m_partial;
  mutable Kokkos::View<double*, Kokkos::HostSpace> m_partial_host;
  mutable Shape m_state_shape;
  mutable bool m_has_state = false;
  mutable int m_iterations = 0;
  mutable bool m_converged = false;
};

/// Isotropic total variation sum_{b, c, pixels} ||(D x)_pixel||_2 of a (B, C, H, W) or
/// (B, C, D, H, W) tensor, with TVDenoiser's differences; summed in double in a fixed order.
template <class T>
double total_variation(const Tensor<T>& x);

/// Proximal operator of lambda ||x||_1: sign(x) max(|x| - lambda, 0) (lambda >= 0).
template <class T>
Tensor<T> soft_threshold(const Tensor<T>& x, typename Tensor<T>::value_type lambda);
/// soft_threshold in place.
template <class T>
void soft_threshold_inplace(const Tensor<T>& x, typename Tensor<T>::value_type lambda);

/// Projection onto the box [lo, hi] (the proximal operator of its indicator); lo <= hi, either
/// may be infinite.
template <class T>
Tensor<T> project_box(const Tensor<T>& x, typename Tensor<T>::value_type lo,
                      typename Tensor<T>::value_type hi);
/// project_box in place.
template <class T>
void project_box_inplace(const Tensor<T>& x, typename Tensor<T>::value_type lo,
                         typename Tensor<T>::value_type hi);

/// Projection onto x >= 0.
template <class T>
Tensor<T> project_nonnegative(const Tensor<T>& x);
/// project_nonnegative in place.
template <class T>
void project_nonnegative_inplace(const Tensor<T>& x);

extern template class TVDenoiser<float>;
extern template class TVDenoiser<double>;
#define KINV_PROX_DECLARE(T)                                           \
  extern template double total_variation<T>(const Tensor<T>&);         \
  extern template Tensor<T> soft_threshold<T>(const Tensor<T>&, T);    \
  extern template void soft_threshold_inplace<T>(const Tensor<T>&, T); \
  extern template Tensor<T> project_box<T>(const Tensor<T>&, T, T);    \
  extern template void project_box_inplace<T>(const Tensor<T>&, T, T); \
  extern template Tensor<T> project_nonnegative<T>(const Tensor<T>&);  \
  extern template void project_nonnegative_inplace<T>(const Tensor<T>&);
KINV_PROX_DECLARE(float)
KINV_PROX_DECLARE(double)
#undef KINV_PROX_DECLARE

}  // namespace kinv
