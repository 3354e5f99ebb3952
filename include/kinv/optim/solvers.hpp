// Iterative solvers written once against an operator concept, so that single, stacked and
// distributed operators share them: conjugate gradient, BiCGStab, MINRES, LSQR, deepinv's
// least_squares dispatch, the power method, and proximal gradient descent / FISTA.
//
// The operator concept: a callable `V H(const V& v)` returning H v as a V, where V is
// Tensor<T> or TensorList<T>. The solvers treat a returned V as a temporary that is valid
// until the next call of the same callable (they copy what they keep), so an operator may
// return a buffer it reuses. The vector algebra is optim/vector_ops.hpp; every scalar that
// steers the iteration is a deterministic function of the vectors, so ranks that run a
// solver redundantly on identical data take identical branches.
#pragma once

#include <kinv/core/error.hpp>
#include <kinv/core/rng.hpp>
#include <kinv/core/tensor.hpp>
#include <kinv/optim/options.hpp>
#include <kinv/optim/vector_ops.hpp>

#include <cmath>
#include <iostream>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

namespace kinv {

namespace impl {

template <class V>
struct vector_traits;
template <class T>
struct vector_traits<Tensor<T>> {
  using scalar_type = T;
};
template <class T>
struct vector_traits<TensorList<T>> {
  using scalar_type = T;
};
template <class V>
using scalar_of = typename vector_traits<std::decay_t<V>>::scalar_type;

template <class T>
struct type_identity {
  using type = T;
};
/// T in a non-deduced context (so that `step = 0.1` works for Tensor<float>).
template <class T>
using non_deduced = typename type_identity<T>::type;

inline void check_solver_options(const char* who, int max_iter, double tol) {
  if (max_iter < 0)
    throw ValueError(std::string(who) + ": max_iter must be >= 0, got " + std::to_string(max_iter));
  if (!(tol >= 0) || !std::isfinite(tol))
    throw ValueError(std::string(who) + ": tol must be finite and >= 0, got " +
                     std::to_string(tol));
}

/// A right-hand side holding NaN or Inf has a non-finite norm: every iterate would be NaN, so
/// it is refused rather than run for max_iter iterations to a meaningless answer.
inline void check_finite_rhs(const char* who, const char* what, double norm) {
  if (!std::isfinite(norm))
    throw ValueError(std::string(who) + ": " + what + " holds NaN or Inf (its norm is " +
                     std::to_string(norm) + ")");
}

template <class V>
void set_zero(const V& v) {
  if constexpr (std::is_same<std::decay_t<V>, Tensor<scalar_of<V>>>::value) {
    fill(v, scalar_of<V>(0));
  } else {
    for (const auto& t : v) fill(t, scalar_of<V>(0));
  }
}

inline void progress(bool verbose, const char* who, int iteration, double value,
                     const char* what = "relative residual") {
  if (verbose)
    std::cout << who << ": iteration " << iteration << ", " << what << " " << value << '\n';
}

inline void finish(bool verbose, const char* who, const SolverInfo& info) {
  if (!verbose) return;
  if (info.converged)
    std::cout << who << ": converged after " << info.iterations << " iterations";
  else
    std::cout << who << ": did not converge in " << info.iterations << " iterations";
  std::cout << " (relative residual " << info.relative_residual << ")\n";
}

/// Applies H to v and checks that the result has the shape of `like`.
template <class Op, class V, class W>
decltype(auto) apply_checked(const char* who, Op& H, const V& v, const W& like) {
  decltype(auto) r = H(v);
  check_same_shape(who, like, r);
  return r;
}

}  // namespace impl

// ---------------------------------------------------------------------------------------------
// Square systems H x = b. x holds the initial guess on entry and the solution on exit; b and x
// must not share storage. All three stop when the residual satisfies ||b - H x|| <= tol ||b||
// (measured over the whole vector: deepinv tests each batch element on its own). b = 0 gives
// x = 0, converged, without applying H.

/// Conjugate gradient for symmetric positive (semi-)definite H (deepinv.optim.linear
/// .conjugate_gradient). One H application per iteration; the residual is recomputed from x
/// every 100 iterations, as deepinv does. Stops early, not converged, if p^T H p <= 0.
template <class V, class Op>
SolverInfo conjugate_gradient(Op&& H, const V& b, V& x, const SolverOptions& o = {}) {
  using T = impl::scalar_of<V>;
  static const char* who = "kinv::conjugate_gradient";
  impl::check_solver_options(who, o.max_iter, o.tol);
  check_same_shape("kinv::conjugate_gradient: initial guess x", b, x);
  SolverInfo info;
  const double bnorm = norm2(b);
  impl::check_finite_rhs(who, "the right-hand side b", bnorm);
  if (bnorm == 0) {
    impl::set_zero(x);
    info.converged = true;
    impl::finish(o.verbose, who, info);
    return info;
  }
  V r = clone(b);
  {
    decltype(auto) Hx = impl::apply_checked("kinv::conjugate_gradient: H(x)", H, x, b);
    axpby(T(-1), Hx, T(1), r);
  }
  double rr = dot(r, r);
  info.relative_residual = std::sqrt(rr) / bnorm;
  if (info.relative_residual <= o.tol) {
    info.converged = true;
    impl::finish(o.verbose, who, info);
    return info;
  }
  V p = clone(r);
  for (int k = 0; k < o.max_iter; ++k) {
    double pHp;
    {
      decltype(auto) Hp = impl::apply_checked("kinv::conjugate_gradient: H(p)", H, p, b);
      pHp = dot(p, Hp);
      if (!(pHp > 0)) break;  // H is not positive definite along p (or p = 0): breakdown
      const T alpha = static_cast<T>(rr / pHp);
      axpby(alpha, p, T(1), x);
      axpby(-alpha, Hp, T(1), r);
    }
    if ((k + 1) % 100 == 0) {  // replace the recursive residual, which drifts
      deep_copy(r, b);
      decltype(auto) Hx = impl::apply_checked("kinv::conjugate_gradient: H(x)", H, x, b);
      axpby(T(-1), Hx, T(1), r);
    }
    const double rr_new = dot(r, r);
    info.iterations = k + 1;
    info.relative_residual = std::sqrt(rr_new) / bnorm;
    info.history.push_back(info.relative_residual);
    impl::progress(o.verbose, who, k + 1, info.relative_residual);
    if (info.relative_residual <= o.tol) {
      info.converged = true;
      break;
    }
    axpby(T(1), r, static_cast<T>(rr_new / rr), p);
    rr = rr_new;
  }
  impl::finish(o.verbose, who, info);
  return info;
}

/// BiCGStab for general square H (van der Vorst 1992; deepinv.optim.linear.bicgstab without
/// preconditioners). Two H applications per iteration. Where deepinv compares denominators
/// with machine epsilon, kinv only guards exact zeros (the test must not depend on the
/// operator's scale).
template <class V, class Op>
SolverInfo bicgstab(Op&& H, const V& b, V& x, const SolverOptions& o = {}) {
  using T = impl::scalar_of<V>;
  static const char* who = "kinv::bicgstab";
  impl::check_solver_options(who, o.max_iter, o.tol);
  check_same_shape("kinv::bicgstab: initial guess x", b, x);
  SolverInfo info;
  const double bnorm = norm2(b);
  impl::check_finite_rhs(who, "the right-hand side b", bnorm);
  if (bnorm == 0) {
    impl::set_zero(x);
    info.converged = true;
    impl::finish(o.verbose, who, info);
    return info;
  }
  V r = clone(b);
  {
    decltype(auto) Hx = impl::apply_checked("kinv::bicgstab: H(x)", H, x, b);
    axpby(T(-1), Hx, T(1), r);
  }
  info.relative_residual = static_cast<double>(norm2(r)) / bnorm;
  if (info.relative_residual <= o.tol) {
    info.converged = true;
    impl::finish(o.verbose, who, info);
    return info;
  }
  const V r_hat = clone(r);
  double rho = dot(r, r_hat);
  V p = clone(r);
  V v = zeros_like(b);
  for (int k = 0; k < o.max_iter; ++k) {
    deep_copy(v, impl::apply_checked("kinv::bicgstab: H(p)", H, p, b));
    const double rv = dot(r_hat, v);
    const double alpha = rv != 0 ? rho / rv : 0.0;
    axpby(static_cast<T>(alpha), p, T(1), x);   // x = x + alpha p
    axpby(static_cast<T>(-alpha), v, T(1), r);  // r = s = r - alpha v
    double omega;
    {
      decltype(auto) t = impl::apply_checked("kinv::bicgstab: H(s)", H, r, b);
      const double ts = dot(t, r);
      const double tt = dot(t, t);
      omega = tt != 0 ? ts / tt : 0.0;
      axpby(static_cast<T>(omega), r, T(1), x);   // x = x + omega s
      axpby(static_cast<T>(-omega), t, T(1), r);  // r = s - omega t
    }
    info.iterations = k + 1;
    info.relative_residual = static_cast<double>(norm2(r)) / bnorm;
    info.history.push_back(info.relative_residual);
    impl::progress(o.verbose, who, k + 1, info.relative_residual);
    if (info.relative_residual <= o.tol) {
      info.converged = true;
      break;
    }
    if (!std::isfinite(info.relative_residual)) break;
    const double rho_new = dot(r, r_hat);
    const double beta = (rho != 0 && omega != 0) ? (rho_new / rho) * (alpha / omega) : 0.0;
    axpby(static_cast<T>(-omega), v, T(1), p);  // p = p - omega v
    axpby(T(1), r, static_cast<T>(beta), p);    // p = r + beta p
    rho = rho_new;
  }
  impl::finish(o.verbose, who, info);
  return info;
}

/// MINRES for symmetric (possibly indefinite) H (Paige-Saunders 1975, in the form of
/// deepinv.optim.linear.minres without preconditioner). One H application per iteration.
/// deepinv stops on the relative size of the update; kinv stops on the residual norm, which
/// MINRES's recurrences give for free (|phi_k| = ||b - H x_k|| in exact arithmetic).
template <class V, class Op>
SolverInfo minres(Op&& H, const V& b, V& x, const SolverOptions& o = {}) {
  using T = impl::scalar_of<V>;
  static const char* who = "kinv::minres";
  impl::check_solver_options(who, o.max_iter, o.tol);
  check_same_shape("kinv::minres: initial guess x", b, x);
  SolverInfo info;
  const double bnorm = norm2(b);
  impl::check_finite_rhs(who, "the right-hand side b", bnorm);
  if (bnorm == 0) {
    impl::set_zero(x);
    info.converged = true;
    impl::finish(o.verbose, who, info);
    return info;
  }
  V q1 = clone(b);  // the current Lanczos vector, first the residual
  {
    decltype(auto) Hx = impl::apply_checked("kinv::minres: H(x)", H, x, b);
    axpby(T(-1), Hx, T(1), q1);
  }
  const double beta1 = norm2(q1);
  info.relative_residual = beta1 / bnorm;
  if (info.relative_residual <= o.tol) {
    info.converged = true;
    impl::finish(o.verbose, who, info);
    return info;
  }
  scale(static_cast<T>(1.0 / beta1), q1);
  V q0 = zeros_like(b);  // the previous Lanczos vector, then the next one
  V d1 = zeros_like(b);  // search directions
  V d0 = zeros_like(b);
  double beta_prev = beta1, phi_prev = beta1;
  double c_prev2 = 1, s_prev2 = 0, c_prev1 = 1, s_prev1 = 0;
  for (int k = 0; k < o.max_iter; ++k) {
    {
      decltype(auto) Hq = impl::apply_checked("kinv::minres: H(q)", H, q1, b);
      axpby(T(1), Hq, static_cast<T>(-beta_prev), q0);  // q0 = H q1 - beta q0
    }
    const double alpha = dot(q0, q1);
    axpby(static_cast<T>(-alpha), q1, T(1), q0);
    const double beta = norm2(q0);
    if (beta > 0) scale(static_cast<T>(1.0 / beta), q0);
    // Apply the two previous Givens rotations to the new tridiagonal column, then make one
    // that eliminates beta.
    const double eps_k = s_prev2 * beta_prev;
    double delta = c_prev2 * beta_prev;
    double gamma = alpha * c_prev1 - s_prev1 * delta;
    delta = delta * c_prev1 + s_prev1 * alpha;
    const double radius = std::hypot(gamma, beta);
    if (!(radius > 0)) break;  // singular H on the Krylov space: breakdown
    const double c = gamma / radius, s = beta / radius;
    const double phi = -phi_prev * s;
    // d = (q1 - delta d1 - eps_k d0) / radius, written into d0.
    axpby(static_cast<T>(-delta), d1, static_cast<T>(-eps_k), d0);
    axpby(T(1), q1, T(1), d0);
    scale(static_cast<T>(1.0 / radius), d0);
    axpby(static_cast<T>(phi_prev * c), d0, T(1), x);
    std::swap(d0, d1);
    std::swap(q0, q1);
    beta_prev = beta;
    phi_prev = phi;
    c_prev2 = c_prev1;
    s_prev2 = s_prev1;
    c_prev1 = c;
    s_prev1 = s;
    info.iterations = k + 1;
    info.relative_residual = std::fabs(phi) / bnorm;
    info.history.push_back(info.relative_residual);
    impl::progress(o.verbose, who, k + 1, info.relative_residual);
    if (info.relative_residual <= o.tol) {
      info.converged = true;
      break;
    }
    if (!(beta > 0)) break;  // exact invariant subspace but residual not small: stop
  }
  impl::finish(o.verbose, who, info);
  return info;
}

namespace impl {
/// Stable Givens rotation (c, s, r) with [c s; -s c] [a; b] = [r; 0] (SciPy's _sym_ortho).
inline void sym_ortho(double a, double b, double& c, double& s, double& r) {
  auto sign = [](double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); };
  if (b == 0) {
    c = sign(a);
    s = 0;
    r = std::fabs(a);
  } else if (a == 0) {
    c = 0;
    s = sign(b);
    r = std::fabs(b);
  } else if (std::fabs(b) > std::fabs(a)) {
    const double tau = a / b;
    s = sign(b) / std::sqrt(1 + tau * tau);
    c = s * tau;
    r = b / s;
  } else {
    const double tau = b / a;
    c = sign(a) / std::sqrt(1 + tau * tau);
    s = c * tau;
    r = a / c;
  }
}
}  // namespace impl

/// LSQR (Paige-Saunders 1982, after SciPy and deepinv.optim.linear.lsqr): minimises
/// ||A x - y||^2 + eta ||x - x0||^2 where x0 is x on entry (the initial guess and, with
/// eta > 0, the centre of the damping). `a` maps VX -> VY, `at` VY -> VX; two operator
/// applications per iteration. Stops, converged, when the residual estimate of the (damped)
/// system satisfies ||r|| <= tol ||y|| (deepinv's test) or when the normal equations are
/// solved to ||A^T r - eta (x - x0)|| <= tol ||A|| ||r|| (SciPy's atol test, which ends
/// inconsistent problems that deepinv runs to max_iter); stops, not converged, when the
/// condition estimate exceeds 1e8 (deepinv's conlim). relative_residual is ||r|| / ||y||.
template <class VX, class VY, class A, class AT>
SolverInfo lsqr(A&& a, AT&& at, const VY& y, VX& x, const SolverOptions& o = {}, double eta = 0) {
  using T = impl::scalar_of<VX>;
  static_assert(std::is_same<T, impl::scalar_of<VY>>::value,
                "kinv::lsqr: x and y must hold the same scalar type");
  static const char* who = "kinv::lsqr";
  impl::check_solver_options(who, o.max_iter, o.tol);
  if (!(eta >= 0) || !std::isfinite(eta))
    throw ValueError(std::string(who) +
                     ": the damping eta must be finite and >= 0 (LSQR cannot solve problems "
                     "with negative damping), got " +
                     std::to_string(eta));
  constexpr double conlim = 1e8;
  SolverInfo info;
  const double bnorm = norm2(y);
  impl::check_finite_rhs(who, "the measurement y", bnorm);
  VY u = clone(y);
  if (norm2(x) != 0) {
    decltype(auto) Ax = impl::apply_checked("kinv::lsqr: A(x)", a, x, y);
    axpby(T(-1), Ax, T(1), u);
  }
  double beta = norm2(u);
  VX v = zeros_like(x);
  double alpha = 0;
  if (beta > 0) {
    scale(static_cast<T>(1.0 / beta), u);
    deep_copy(v, impl::apply_checked("kinv::lsqr: A_adjoint(u)", at, u, x));
    alpha = norm2(v);
  }
  if (alpha > 0) scale(static_cast<T>(1.0 / alpha), v);
  VX w = clone(v);
  double rhobar = alpha, phibar = beta;
  info.relative_residual = bnorm > 0 ? beta / bnorm : beta;
  if (alpha * beta == 0) {  // x already solves the problem: zero residual or A^T r = 0
    info.converged = true;
    impl::finish(o.verbose, who, info);
    return info;
  }
  const double damp = std::sqrt(eta);
  double anorm = 0, ddnorm = 0, res2 = 0;
  for (int k = 0; k < o.max_iter; ++k) {
    {
      decltype(auto) Av = impl::apply_checked("kinv::lsqr: A(v)", a, v, y);
      axpby(T(1), Av, static_cast<T>(-alpha), u);  // u = A v - alpha u
    }
    beta = norm2(u);
    if (beta > 0) {
      scale(static_cast<T>(1.0 / beta), u);
      anorm = std::sqrt(anorm * anorm + alpha * alpha + beta * beta + eta);
      {
        decltype(auto) ATu = impl::apply_checked("kinv::lsqr: A_adjoint(u)", at, u, x);
        axpby(T(1), ATu, static_cast<T>(-beta), v);  // v = A^T u - beta v
      }
      alpha = norm2(v);
      if (alpha > 0) scale(static_cast<T>(1.0 / alpha), v);
    }
    // Eliminate the damping, then the subdiagonal beta.
    double rhobar1 = rhobar, psi = 0;
    if (eta > 0) {
      rhobar1 = std::sqrt(rhobar * rhobar + eta);
      const double cs1 = rhobar / rhobar1, sn1 = damp / rhobar1;
      psi = sn1 * phibar;
      phibar = cs1 * phibar;
    }
    double cs, sn, rho;
    impl::sym_ortho(rhobar1, beta, cs, sn, rho);
    if (!(rho != 0)) break;  // breakdown
    const double theta = sn * alpha;
    rhobar = -cs * alpha;
    const double phi = cs * phibar;
    phibar = sn * phibar;
    const double tau = sn * phi;
    const double wnorm = norm2(w);
    ddnorm += (wnorm / rho) * (wnorm / rho);
    axpby(static_cast<T>(phi / rho), w, T(1), x);     // x = x + (phi / rho) w
    axpby(T(1), v, static_cast<T>(-theta / rho), w);  // w = v - (theta / rho) w
    const double acond = anorm * std::sqrt(ddnorm);
    res2 += psi * psi;
    const double rnorm = std::sqrt(phibar * phibar + res2);
    const double arnorm = alpha * std::fabs(tau);
    info.iterations = k + 1;
    info.relative_residual = bnorm > 0 ? rnorm / bnorm : rnorm;
    info.history.push_back(info.relative_residual);
    impl::progress(o.verbose, who, k + 1, info.relative_residual);
    if (rnorm <= o.tol * bnorm || arnorm <= o.tol * anorm * rnorm) {
      info.converged = true;
      break;
    }
    if (acond > conlim) {
      if (o.verbose) std::cout << who << ": condition estimate " << acond << " exceeds 1e8\n";
      break;
    }
  }
  impl::finish(o.verbose, who, info);
  return info;
}

namespace impl {
template <class V, class Op>
SolverInfo run_square_solver(LeastSquaresSolver solver, Op&& H, const V& b, V& x,
                             const SolverOptions& o) {
  switch (solver) {
    case LeastSquaresSolver::CG:
      return conjugate_gradient(H, b, x, o);
    case LeastSquaresSolver::BiCGStab:
      return bicgstab(H, b, x, o);
    case LeastSquaresSolver::MINRES:
      return minres(H, b, x, o);
    case LeastSquaresSolver::LSQR:
      break;
  }
  throw ValueError("kinv::least_squares: " + to_string(solver) + " is not a square solver");
}
}  // namespace impl

/// deepinv.optim.linear.least_squares: x minimising ||A x - y||^2 (+ ||x - z||^2 / gamma).
///
/// - LSQR: the rectangular problem directly, damping eta = 1 / gamma around z (with gamma),
///   starting from z (with gamma) or from init, else z, else 0.
/// - gamma set: (A^T A + I / gamma) x = A^T y + z / gamma, from init (else 0).
/// - otherwise, overcomplete (numel(A^T y) < numel(y)): the normal equations A^T A x = A^T y,
///   from init (else 0);
/// - otherwise, square with BiCGStab or MINRES and VX = VY of equal shapes: A x = y, from init
///   (MINRES needs a symmetric A there);
/// - otherwise (undercomplete, or square with CG): A A^T w = y from w = 0 in y-space, then
///   x = A^T w, the minimum-norm solution (init is not used: it lives in x-space).
///
/// Deviations from deepinv 0.5, which (1) returns (A A^T)^{-1} y without the final A^T for a
/// square A with CG, and (2) ignores gamma for a square A with BiCGStab or MINRES: kinv applies
/// A^T and honours gamma. gamma must be finite and > 0 (deepinv only warns). a: VX -> VY,
/// at: VY -> VX, ata: VX -> VX, aat: VY -> VY. Writes the solver's record to *o.info when set.
template <class VX, class VY, class A, class AT, class ATA, class AAT>
VX least_squares(A&& a, AT&& at, ATA&& ata, AAT&& aat, const VY& y, const LeastSquaresOptions& o,
                 const VX* z = nullptr, const VX* init = nullptr) {
  using T = impl::scalar_of<VX>;
  static_assert(std::is_same<T, impl::scalar_of<VY>>::value,
                "kinv::least_squares: x and y must hold the same scalar type");
  static const char* who = "kinv::least_squares";
  impl::check_solver_options(who, o.max_iter, o.tol);
  const bool regularised = o.gamma.has_value();
  const double gamma = regularised ? *o.gamma : 0.0;
  if (regularised && !(gamma > 0 && std::isfinite(gamma)))
    throw ValueError(std::string(who) + ": gamma must be finite and > 0, got " +
                     std::to_string(gamma));
  VX Aty;
  {
    decltype(auto) r = at(y);
    Aty = clone(r);
  }
  if (z) check_same_shape("kinv::least_squares: z (shape of A^T y)", Aty, *z);
  if (init) check_same_shape("kinv::least_squares: init (shape of A^T y)", Aty, *init);
  const SolverOptions so{o.max_iter, o.tol, o.verbose};
  SolverInfo info;
  VX x;

  if (o.solver == LeastSquaresSolver::LSQR) {
    const VX* start = regularised ? z : (init ? init : z);
    x = start ? clone(*start) : zeros_like(Aty);
    info = lsqr(a, at, y, x, so, regularised ? 1.0 / gamma : 0.0);
    if (o.info) *o.info = info;
    return x;
  }

  x = init ? clone(*init) : zeros_like(Aty);
  if (regularised) {
    const T inv_gamma = static_cast<T>(1.0 / gamma);
    if (z) axpby(inv_gamma, *z, T(1), Aty);  // b = A^T y + z / gamma
    auto H = [&](const VX& v) {
      decltype(auto) r = ata(v);
      check_same_shape("kinv::least_squares: A_adjoint_A(x)", v, r);
      VX out = r;  // a handle on the operator's result, updated in place
      axpby(inv_gamma, v, T(1), out);
      return out;
    };
    info = impl::run_square_solver(o.solver, H, Aty, x, so);
    if (o.info) *o.info = info;
    return x;
  }

  const bool overcomplete = numel(Aty) < numel(y);
  if (overcomplete) {
    auto H = [&](const VX& v) -> decltype(auto) { return ata(v); };
    info = impl::run_square_solver(o.solver, H, Aty, x, so);
    if (o.info) *o.info = info;
    return x;
  }

  if constexpr (std::is_same<std::decay_t<VX>, std::decay_t<VY>>::value) {
    if (o.solver != LeastSquaresSolver::CG && same_shape(Aty, y)) {
      auto H = [&](const VX& v) -> decltype(auto) { return a(v); };
      info = impl::run_square_solver(o.solver, H, y, x, so);
      if (o.info) *o.info = info;
      return x;
    }
  }

  VY w = zeros_like(y);
  auto H = [&](const VY& v) -> decltype(auto) { return aat(v); };
  info = impl::run_square_solver(o.solver, H, y, w, so);
  {
    decltype(auto) r = at(w);
    x = clone(r);
  }
  if (o.info) *o.info = info;
  return x;
}

/// The power method on a symmetric positive semi-definite H (deepinv.physics.functional
/// .power_method): returns the Rayleigh quotient estimate of H's largest eigenvalue, e.g.
/// ||A||_2^2 for H = A^T A. x0 gives the shape only; the start vector is Gaussian, drawn with
/// kinv's counter-based RNG keyed by o.seed, so every rank starts from the same vector. Stops
/// when |z_k - z_{k-1}| <= tol |z_k| (deepinv: |z_k - z_{k-1}| < tol). info->history holds the
/// estimate after each iteration.
template <class T, class Op>
T power_method(Op&& H, const Tensor<T>& x0, const PowerOptions& o = {}) {
  static const char* who = "kinv::power_method";
  impl::check_solver_options(who, o.max_iter, o.tol);
  if (o.max_iter < 1) throw ValueError(std::string(who) + ": max_iter must be >= 1, got 0");
  if (x0.size() == 0)
    throw ValueError(std::string(who) + ": x0 of shape " + x0.shape().to_string() + " is empty");
  SolverInfo info;
  auto x = Tensor<T>::uninitialized("kinv::power_method::x", x0.shape());
  RandomStream stream;
  stream.seed = o.seed;
  fill_standard_normal(x, stream);
  scale(static_cast<T>(1.0 / static_cast<double>(norm2(x))), x);
  double z = 0, z_old = 0;
  for (int k = 0; k < o.max_iter; ++k) {
    double ynorm;
    {
      decltype(auto) y = impl::apply_checked("kinv::power_method: H(x)", H, x, x);
      z = static_cast<double>(dot(x, y)) / static_cast<double>(dot(x, x));
      ynorm = norm2(y);
      if (ynorm > 0) deep_copy(x, y);
    }
    info.iterations = k + 1;
    info.history.push_back(z);
    info.relative_residual = z != 0 ? std::fabs(z - z_old) / std::fabs(z) : 0.0;
    impl::progress(o.verbose, who, k + 1, z, "estimate");
    if (std::fabs(z - z_old) <= o.tol * std::fabs(z) || !(ynorm > 0)) {
      info.converged = std::isfinite(z);
      break;
    }
    z_old = z;
    scale(static_cast<T>(1.0 / ynorm), x);
  }
  if (o.verbose)
    std::cout << who << ": " << (info.converged ? "converged" : "did not converge") << " after "
              << info.iterations << " iterations, estimate " << z << '\n';
  if (o.info) *o.info = info;
  return static_cast<T>(z);
}

// ---------------------------------------------------------------------------------------------
// Proximal gradient methods for min f(x) + g(x): grad(x) = grad f(x), prox(v, step) =
// prox_{step g}(v). For the L2 fidelity f(x) = 1/2 ||A x - y||^2, grad f = A^T (A x - y) is
// Lipschitz with L = ||A||_2^2 = compute_sqnorm(...), and step = 1 / L
// (step_from_sqnorm) guarantees convergence of both methods.

/// Options of gradient_descent and fista: stop when ||x_k - x_{k-1}|| <= tol ||x_k||.
struct ProximalOptions {
  int max_iter = 100;
  double tol = 1e-6;
  bool verbose = false;
  /// Where to write the record (history: the relative change per iteration), when not null.
  SolverInfo* info = nullptr;
};

/// The proximal operator of g = 0: returns v itself.
struct IdentityProx {
  template <class T>
  Tensor<T> operator()(const Tensor<T>& v, T /*step*/) const {
    return v;
  }
};
inline constexpr IdentityProx identity_prox{};

/// A callback that never stops the iteration.
struct NoCallback {
  template <class T>
  bool operator()(int /*iteration*/, const Tensor<T>& /*x*/) const {
    return true;
  }
};
inline constexpr NoCallback no_callback{};

/// The step 1 / L for a gradient that is L-Lipschitz, L = sqnorm (e.g. compute_sqnorm for the
/// L2 fidelity); ValueError unless sqnorm is finite and > 0.
template <class T>
T step_from_sqnorm(T sqnorm) {
  if (!(sqnorm > 0) || !std::isfinite(static_cast<double>(sqnorm)))
    throw ValueError("kinv::step_from_sqnorm: the squared norm must be finite and > 0, got " +
                     std::to_string(static_cast<double>(sqnorm)));
  return T(1) / sqnorm;
}

namespace impl {

inline void check_step(const char* who, double step) {
  if (!(step > 0) || !std::isfinite(step))
    throw ValueError(std::string(who) + ": the step size must be finite and > 0, got " +
                     std::to_string(step));
}

/// One proximal step from `from`: x = prox(from - step grad(from), step); returns
/// ||x_new - x_old|| / ||x_new|| with x_old saved in x_prev. v is a workspace.
template <class T, class Grad, class Prox>
double proximal_step(const char* who, Grad& grad, Prox& prox, const Tensor<T>& from, Tensor<T>& x,
                     Tensor<T>& x_prev, Tensor<T>& v, T step) {
  deep_copy(v, from);
  {
    decltype(auto) g = grad(from);
    check_same_shape((std::string(who) + ": gradient").c_str(), from, g);
    axpby(-step, g, T(1), v);
  }
  deep_copy(x_prev, x);
  {
    decltype(auto) p = prox(v, step);
    check_same_shape((std::string(who) + ": proximal operator").c_str(), from, p);
    deep_copy(x, p);
  }
  // v = x - x_prev (the prox result is no longer needed).
  deep_copy(v, x);
  axpby(T(-1), x_prev, T(1), v);
  const double change = norm2(v);
  const double xn = norm2(x);
  return xn > 0 ? change / xn : (change == 0 ? 0.0 : std::numeric_limits<double>::infinity());
}

}  // namespace impl

/// Proximal gradient descent x_{k+1} = prox(x_k - step grad(x_k), step) (deepinv.optim.utils
/// .gradient_descent with a proximal step). x holds the initial guess on entry and the result
/// on exit (written in place). After each iteration k (0-based) cb(k, x) is called; returning
/// false stops the iteration.
template <class T, class Grad, class Prox, class Callback>
void gradient_descent(Grad&& grad, Prox&& prox, Tensor<T>& x, impl::non_deduced<T> step,
                      const ProximalOptions& o, Callback&& cb) {
  static const char* who = "kinv::gradient_descent";
  impl::check_solver_options(who, o.max_iter, o.tol);
  impl::check_step(who, step);
  SolverInfo info;
  auto x_prev = Tensor<T>::uninitialized("kinv::gradient_descent::x_prev", x.shape());
  auto v = Tensor<T>::uninitialized("kinv::gradient_descent::v", x.shape());
  for (int k = 0; k < o.max_iter; ++k) {
    const double rel = impl::proximal_step<T>(who, grad, prox, x, x, x_prev, v, step);
    info.iterations = k + 1;
    info.relative_residual = rel;
    info.history.push_back(rel);
    impl::progress(o.verbose, who, k + 1, rel, "relative change");
    if (rel <= o.tol) info.converged = true;
    if (!cb(k, static_cast<const Tensor<T>&>(x)) || info.converged) break;
  }
  impl::finish(o.verbose, who, info);
  if (o.info) *o.info = info;
}

/// FISTA (Beck and Teboulle 2009): the proximal step is taken from the extrapolated point
/// y_k = x_k + (t_{k-1} - 1) / t_k (x_k - x_{k-1}), t_k = (1 + sqrt(1 + 4 t_{k-1}^2)) / 2.
/// Same arguments and stopping rule as gradient_descent.
template <class T, class Grad, class Prox, class Callback>
void fista(Grad&& grad, Prox&& prox, Tensor<T>& x, impl::non_deduced<T> step,
           const ProximalOptions& o, Callback&& cb) {
  static const char* who = "kinv::fista";
  impl::check_solver_options(who, o.max_iter, o.tol);
  impl::check_step(who, step);
  SolverInfo info;
  auto x_prev = Tensor<T>::uninitialized("kinv::fista::x_prev", x.shape());
  auto v = Tensor<T>::uninitialized("kinv::fista::v", x.shape());
  Tensor<T> y = clone(x, "kinv::fista::y");
  double t = 1;
  for (int k = 0; k < o.max_iter; ++k) {
    const double rel = impl::proximal_step<T>(who, grad, prox, y, x, x_prev, v, step);
    const double t_next = 0.5 * (1 + std::sqrt(1 + 4 * t * t));
    deep_copy(y, x);  // y = x + (t - 1) / t_next (x - x_prev); v holds x - x_prev
    axpby(static_cast<T>((t - 1) / t_next), v, T(1), y);
    t = t_next;
    info.iterations = k + 1;
    info.relative_residual = rel;
    info.history.push_back(rel);
    impl::progress(o.verbose, who, k + 1, rel, "relative change");
    if (rel <= o.tol) info.converged = true;
    if (!cb(k, static_cast<const Tensor<T>&>(x)) || info.converged) break;
  }
  impl::finish(o.verbose, who, info);
  if (o.info) *o.info = info;
}

/// gradient_descent / fista without a callback.
template <class T, class Grad, class Prox>
void gradient_descent(Grad&& grad, Prox&& prox, Tensor<T>& x, impl::non_deduced<T> step,
                      const ProximalOptions& o = {}) {
  gradient_descent(grad, prox, x, step, o, no_callback);
}
template <class T, class Grad, class Prox>
void fista(Grad&& grad, Prox&& prox, Tensor<T>& x, impl::non_deduced<T> step,
           const ProximalOptions& o = {}) {
  fista(grad, prox, x, step, o, no_callback);
}

/// gradient_descent / fista with g = 0 (identity prox) and no callback.
template <class T, class Grad>
void gradient_descent(Grad&& grad, Tensor<T>& x, impl::non_deduced<T> step,
                      const ProximalOptions& o = {}) {
  gradient_descent(grad, identity_prox, x, step, o, no_callback);
}
template <class T, class Grad>
void fista(Grad&& grad, Tensor<T>& x, impl::non_deduced<T> step, const ProximalOptions& o = {}) {
  fista(grad, identity_prox, x, step, o, no_callback);
}

}  // namespace kinv
