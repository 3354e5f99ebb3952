// Options and results of kinv's iterative solvers. This header is light (no Kokkos Kernels)
// so that physics/physics.hpp can take solver options in its signatures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kinv {

/// The least-squares solvers of deepinv.optim.linear.least_squares.
enum class LeastSquaresSolver {
  CG,        ///< conjugate gradient on the normal equations ("CG")
  BiCGStab,  ///< biconjugate gradient stabilised ("BiCGStab")
  LSQR,      ///< Paige-Saunders LSQR on the rectangular system ("lsqr")
  MINRES     ///< minimal residual, for symmetric systems ("minres")
};

/// Parses deepinv's solver names "CG", "BiCGStab", "lsqr", "minres" (case-insensitive);
/// anything else is a kinv::ValueError listing the valid names.
LeastSquaresSolver parse_least_squares_solver(const std::string& name);
/// deepinv's spelling: "CG", "BiCGStab", "lsqr", "minres".
std::string to_string(LeastSquaresSolver solver);

/// Stopping rule and verbosity of an iterative solver.
struct SolverOptions {
  int max_iter = 100;    ///< iteration limit (>= 0)
  double tol = 1e-6;     ///< relative tolerance (>= 0); each solver documents what it measures
  bool verbose = false;  ///< print progress to std::cout
};

/// What a solver did.
struct SolverInfo {
  int iterations = 0;            ///< iterations run (operator applications vary by solver)
  bool converged = false;        ///< whether the stopping rule was met
  double relative_residual = 0;  ///< the last relative residual the solver measured
  std::vector<double> history;   ///< the relative residual after each iteration (power
                                 ///< method: the eigenvalue estimate after each iteration)
};

/// Options of least_squares and LinearPhysics::A_dagger (deepinv's defaults for A_dagger:
/// CG, 50 iterations, tolerance 1e-4).
struct LeastSquaresOptions : SolverOptions {
  LeastSquaresSolver solver = LeastSquaresSolver::CG;
  /// deepinv's inverse regularisation: with gamma, solves min ||A x - y||^2 + ||x - z||^2 / gamma.
  std::optional<double> gamma;
  /// Where to write the solver's record, when not null.
  SolverInfo* info = nullptr;
  LeastSquaresOptions() {
    max_iter = 50;
    tol = 1e-4;
  }
};

/// Options of power_method and compute_sqnorm. The iteration stops when the estimate changes
/// by at most tol relative to itself, |z_k - z_{k-1}| <= tol |z_k| (deepinv tests the absolute
/// change |z_k - z_{k-1}| < tol, which depends on the operator's scale).
struct PowerOptions {
  int max_iter = 100;
  double tol = 1e-3;
  bool verbose = false;
  /// Seeds the Gaussian start vector (kinv's counter-based RNG: the same on every rank).
  std::uint64_t seed = 0;
  /// Where to write the iteration record, when not null.
  SolverInfo* info = nullptr;
};

}  // namespace kinv
