// The optim layer: vector operations against host loops, each least-squares solver against
// known solutions and host normal-equation solves, the power method against known spectra,
// gradient descent and FISTA against the least-squares solution and a constrained optimum,
// A_dagger / compute_sqnorm on single and stacked operators, and bad input.
#include <kinv/operators/blur.hpp>
#include <kinv/operators/denoising.hpp>
#include <kinv/operators/inpainting.hpp>
#include <kinv/operators/sparse_matrix.hpp>
#include <kinv/optim/options.hpp>
#include <kinv/optim/solvers.hpp>
#include <kinv/optim/vector_ops.hpp>
#include <kinv/physics/stacked.hpp>

#include "test_helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace kinv {

// Non-negativity prox: x = max(v, 0), a named functor at namespace scope (CUDA lambdas rule).
template <class T>
struct ClampNonNegative {
  Kokkos::View<const T*, MemorySpace> v;
  Kokkos::View<T*, MemorySpace> x;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    x(i) = v(i) > T(0) ? v(i) : T(0);
  }
};

namespace {

template <class T>
class OptimTest : public ::testing::Test {};
TYPED_TEST_SUITE(OptimTest, test::ScalarTypes);

template <class T>
constexpr bool is_float = std::is_same<T, float>::value;

// Solver tolerance and the accuracy expected from it, per scalar type.
template <class T>
double solve_tol() {
  return is_float<T> ? 1e-6 : 1e-11;
}
template <class T>
double accuracy() {
  return is_float<T> ? 2e-4 : 1e-8;
}

template <class T>
double rel_error(const Tensor<T>& x, const std::vector<long double>& ref) {
  const auto v = to_vector(x);
  long double num = 0, den = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    num += (v[i] - ref[i]) * (v[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return static_cast<double>(std::sqrt(num / (den > 0 ? den : 1)));
}

template <class T>
double rel_error(const Tensor<T>& x, const Tensor<T>& ref) {
  const auto r = to_vector(ref);
  return rel_error(x, std::vector<long double>(r.begin(), r.end()));
}

// A dense m x n matrix (row-major, host) with entries a pure function of the seed, plus
// `diag` on the diagonal: well conditioned for diag of order sqrt(max(m, n)).
std::vector<long double> dense_matrix(int m, int n, std::uint64_t seed, double diag) {
  std::vector<long double> a(static_cast<std::size_t>(m) * n);
  std::uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& v : a) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<long double>(static_cast<double>(s >> 11) / 9007199254740992.0 - 0.5);
  }
  for (int i = 0; i < std::min(m, n); ++i) a[static_cast<std::size_t>(i) * n + i] += diag;
  return a;
}

template <class T>
std::unique_ptr<SparseMatrixPhysics<T>> dense_physics(const std::vector<long double>& a, int m,
                                                      int n) {
  CrsArrays<T> crs;
  crs.row_map.push_back(0);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      crs.entries.push_back(j);
      crs.values.push_back(static_cast<T>(a[static_cast<std::size_t>(i) * n + j]));
    }
    crs.row_map.push_back(static_cast<std::int64_t>(crs.entries.size()));
  }
  return std::make_unique<SparseMatrixPhysics<T>>(crs, Shape{n}, Shape{m});
}

// The matrix as the device sees it (entries rounded to T), in long double.
template <class T>
std::vector<long double> rounded(const std::vector<long double>& a) {
  std::vector<long double> r(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) r[i] = static_cast<T>(a[i]);
  return r;
}

// Solves the n x n system M x = b (Gaussian elimination with partial pivoting).
std::vector<long double> host_solve(std::vector<long double> M, std::vector<long double> b) {
  const std::size_t n = b.size();
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t p = k;
    for (std::size_t i = k + 1; i < n; ++i)
      if (std::fabs(M[i * n + k]) > std::fabs(M[p * n + k])) p = i;
    for (std::size_t j = 0; j < n; ++j) std::swap(M[k * n + j], M[p * n + j]);
    std::swap(b[k], b[p]);
    for (std::size_t i = k + 1; i < n; ++i) {
      const long double f = M[i * n + k] / M[k * n + k];
      for (std::size_t j = k; j < n; ++j) M[i * n + j] -= f * M[k * n + j];
      b[i] -= f * b[k];
    }
  }
  std::vector<long double> x(n);
  for (std::size_t k = n; k-- > 0;) {
    long double s = b[k];
    for (std::size_t j = k + 1; j < n; ++j) s -= M[k * n + j] * x[j];
    x[k] = s / M[k * n + k];
  }
  return x;
}

// A^T A (n x n), A^T y, A A^T (m x m), A^T w for the dense m x n matrix a.
std::vector<long double> ata(const std::vector<long double>& a, int m, int n) {
  std::vector<long double> r(static_cast<std::size_t>(n) * n, 0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < m; ++k) r[i * n + j] += a[k * n + i] * a[k * n + j];
  return r;
}
std::vector<long double> aat(const std::vector<long double>& a, int m, int n) {
  std::vector<long double> r(static_cast<std::size_t>(m) * m, 0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j)
      for (int k = 0; k < n; ++k) r[i * m + j] += a[i * n + k] * a[j * n + k];
  return r;
}
std::vector<long double> at_times(const std::vector<long double>& a, int m, int n,
                                  const std::vector<long double>& y) {
  std::vector<long double> r(n, 0);
  for (int k = 0; k < m; ++k)
    for (int i = 0; i < n; ++i) r[i] += a[k * n + i] * y[k];
  return r;
}

template <class T>
std::vector<long double> host_values(const Tensor<T>& t) {
  const auto v = to_vector(t);
  return std::vector<long double>(v.begin(), v.end());
}

// A 3x3 kernel whose circular DFT is bounded away from 0: 0.6 + 0.2 cos(wx) + 0.2 cos(wy)
// lies in [0.2, 1], so the circular blur is symmetric positive definite with condition 5.
template <class T>
Tensor<T> well_conditioned_kernel() {
  return from_vector<T>("k", {3, 3},
                        {T(0), T(0.1), T(0), T(0.1), T(0.6), T(0.1), T(0), T(0.1), T(0)});
}

const LeastSquaresSolver all_solvers[] = {LeastSquaresSolver::CG, LeastSquaresSolver::BiCGStab,
                                          LeastSquaresSolver::LSQR, LeastSquaresSolver::MINRES};

// ---------------------------------------------------------------------------------------------
// vector_ops

TYPED_TEST(OptimTest, VectorOpsMatchHostLoops) {
  using T = TypeParam;
  const auto x = test::random_tensor<T>({2, 3, 17, 9}, 1);
  const auto y = test::random_tensor<T>({2, 3, 17, 9}, 2);
  const auto hx = to_vector(x), hy = to_vector(y);
  long double d = 0, n = 0;
  for (std::size_t i = 0; i < hx.size(); ++i) {
    d += static_cast<long double>(hx[i]) * hy[i];
    n += static_cast<long double>(hx[i]) * hx[i];
  }
  const double eps = std::numeric_limits<T>::epsilon();
  const double count = static_cast<double>(hx.size());
  EXPECT_NEAR(dot(x, y), static_cast<double>(d), 4 * eps * count);
  EXPECT_NEAR(norm2(x), static_cast<double>(std::sqrt(n)), 4 * eps * std::sqrt(count));

  auto z = clone(y);
  axpby(T(0.5), x, T(-2), z);
  auto hz = to_vector(z);
  for (std::size_t i = 0; i < hz.size(); ++i)
    ASSERT_NEAR(hz[i], T(0.5) * hx[i] - T(2) * hy[i], 4 * eps);
  scale(T(3), z);
  const auto hz3 = to_vector(z);
  for (std::size_t i = 0; i < hz.size(); ++i) ASSERT_NEAR(hz3[i], T(3) * hz[i], 8 * eps);
  // b == 0 must not read y (NaN there must not leak).
  auto w = Tensor<T>::uninitialized("w", x.shape());
  fill(w, std::numeric_limits<T>::quiet_NaN());
  axpby(T(2), x, T(0), w);
  const auto hw = to_vector(w);
  for (std::size_t i = 0; i < hw.size(); ++i) ASSERT_EQ(hw[i], T(2) * hx[i]);

  const auto zl = zeros_like(x);
  EXPECT_EQ(zl.shape(), x.shape());
  for (T v : to_vector(zl)) ASSERT_EQ(v, T(0));
  EXPECT_EQ(numel(x), x.size());
}

TYPED_TEST(OptimTest, VectorOpsOnTensorLists) {
  using T = TypeParam;
  TensorList<T> a{test::random_tensor<T>({3, 5}, 3), test::random_tensor<T>({7}, 4)};
  TensorList<T> b{test::random_tensor<T>({3, 5}, 5), test::random_tensor<T>({7}, 6)};
  const double eps = std::numeric_limits<T>::epsilon();
  const long double d = test::dot(a[0], b[0]) + test::dot(a[1], b[1]);
  const long double n = std::sqrt(test::dot(a[0], a[0]) + test::dot(a[1], a[1]));
  EXPECT_NEAR(dot(a, b), static_cast<double>(d), 50 * eps);
  EXPECT_NEAR(norm2(a), static_cast<double>(n), 50 * eps);
  EXPECT_EQ(numel(a), 22);

  TensorList<T> c = clone(a);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_NE(c[0].data(), a[0].data());
  EXPECT_TRUE(test::bitwise_equal(c[1], a[1]));
  axpby(T(1), b, T(-1), c);  // c = b - a
  scale(T(-1), c);           // c = a - b
  for (int k = 0; k < 2; ++k) {
    const auto ha = to_vector(a[k]), hb = to_vector(b[k]), hc = to_vector(c[k]);
    for (std::size_t i = 0; i < hc.size(); ++i) ASSERT_NEAR(hc[i], ha[i] - hb[i], 4 * eps);
  }
  TensorList<T> z = zeros_like(a);
  EXPECT_TRUE(same_shape(z, a));
  EXPECT_EQ(norm2(z), T(0));
  deep_copy(z, b);
  EXPECT_TRUE(test::bitwise_equal(z[0], b[0]));
  EXPECT_TRUE(test::bitwise_equal(z[1], b[1]));
}

TYPED_TEST(OptimTest, VectorOpsRejectShapeMismatch) {
  using T = TypeParam;
  const auto x = test::random_tensor<T>({4, 5}, 1);
  const auto y = test::random_tensor<T>({5, 4}, 2);
  EXPECT_THROW(dot(x, y), ShapeError);
  EXPECT_THROW(axpby(T(1), x, T(1), y), ShapeError);
  TensorList<T> one{x}, two{x, x}, other{y};
  EXPECT_THROW(dot(one, two), ShapeError);
  EXPECT_THROW(dot(one, other), ShapeError);
  EXPECT_THROW(axpby(T(1), one, T(1), two), ShapeError);
  EXPECT_THROW(deep_copy(one, two), ShapeError);
  try {
    dot(one, other);
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("element 0"), std::string::npos) << e.what();
  }
}

TYPED_TEST(OptimTest, VectorOpsAreDeterministic) {
  using T = TypeParam;
  const auto x = test::random_tensor<T>({1, 3, 64, 64}, 7);
  const auto y = test::random_tensor<T>({1, 3, 64, 64}, 8);
  const T d1 = dot(x, y), d2 = dot(x, y);
  const T n1 = norm2(x), n2 = norm2(x);
  EXPECT_EQ(std::memcmp(&d1, &d2, sizeof(T)), 0);
  EXPECT_EQ(std::memcmp(&n1, &n2, sizeof(T)), 0);
}

// ---------------------------------------------------------------------------------------------
// options

TEST(OptimOptions, ParseAndPrintSolverNames) {
  EXPECT_EQ(parse_least_squares_solver("CG"), LeastSquaresSolver::CG);
  EXPECT_EQ(parse_least_squares_solver("cg"), LeastSquaresSolver::CG);
  EXPECT_EQ(parse_least_squares_solver("BiCGStab"), LeastSquaresSolver::BiCGStab);
  EXPECT_EQ(parse_least_squares_solver("BICGSTAB"), LeastSquaresSolver::BiCGStab);
  EXPECT_EQ(parse_least_squares_solver("lsqr"), LeastSquaresSolver::LSQR);
  EXPECT_EQ(parse_least_squares_solver("LSQR"), LeastSquaresSolver::LSQR);
  EXPECT_EQ(parse_least_squares_solver("MinRes"), LeastSquaresSolver::MINRES);
  for (auto s : all_solvers) EXPECT_EQ(parse_least_squares_solver(to_string(s)), s);
  EXPECT_EQ(to_string(LeastSquaresSolver::LSQR), "lsqr");
  try {
    parse_least_squares_solver("gmres");
    ADD_FAILURE() << "no error for an unknown solver";
  } catch (const ValueError& e) {
    const std::string m = e.what();
    for (const char* n : {"gmres", "CG", "BiCGStab", "lsqr", "minres"})
      EXPECT_NE(m.find(n), std::string::npos) << m;
  }
  LeastSquaresOptions o;
  EXPECT_EQ(o.max_iter, 50);
  EXPECT_EQ(o.tol, 1e-4);
  EXPECT_EQ(o.solver, LeastSquaresSolver::CG);
  PowerOptions p;
  EXPECT_EQ(p.max_iter, 100);
  EXPECT_EQ(p.tol, 1e-3);
}

// ---------------------------------------------------------------------------------------------
// Square solvers on a circular blur (symmetric positive definite, condition 5)

TYPED_TEST(OptimTest, EverySolverInvertsACircularBlur) {
  using T = TypeParam;
  const Blur<T> blur(well_conditioned_kernel<T>(), Padding::Circular);
  const auto x_true = test::random_tensor<T>({1, 2, 12, 10}, 11);
  const auto y = blur.A(x_true);
  for (auto s : all_solvers) {
    SCOPED_TRACE(to_string(s));
    LeastSquaresOptions o;
    o.solver = s;
    o.max_iter = 200;
    o.tol = solve_tol<T>();
    SolverInfo info;
    o.info = &info;
    const auto x = blur.A_dagger(y, o);
    EXPECT_EQ(x.shape(), x_true.shape());
    EXPECT_LT(rel_error(x, x_true), accuracy<T>());
    EXPECT_TRUE(info.converged);
    EXPECT_GT(info.iterations, 0);
    EXPECT_EQ(static_cast<int>(info.history.size()), info.iterations);
    EXPECT_LE(info.relative_residual, o.tol);
  }
}

TYPED_TEST(OptimTest, SolversCalledDirectly) {
  using T = TypeParam;
  const Blur<T> blur(well_conditioned_kernel<T>(), Padding::Circular);
  const auto x_true = test::random_tensor<T>({1, 1, 16, 16}, 12);
  const auto b = blur.A(x_true);
  auto H = [&](const Tensor<T>& v) { return blur.A(v); };
  SolverOptions o;
  o.max_iter = 200;
  o.tol = solve_tol<T>();
  {
    auto x = zeros_like(b);
    const auto info = conjugate_gradient(H, b, x, o);
    EXPECT_TRUE(info.converged);
    EXPECT_LT(rel_error(x, x_true), accuracy<T>());
    // Same input, same bits (the distributed solvers rely on identical control flow).
    auto x2 = zeros_like(b);
    const auto info2 = conjugate_gradient(H, b, x2, o);
    EXPECT_EQ(info2.iterations, info.iterations);
    EXPECT_TRUE(test::bitwise_equal(x, x2));
  }
  {
    auto x = zeros_like(b);
    EXPECT_TRUE(bicgstab(H, b, x, o).converged);
    EXPECT_LT(rel_error(x, x_true), accuracy<T>());
  }
  {
    auto x = zeros_like(b);
    EXPECT_TRUE(minres(H, b, x, o).converged);
    EXPECT_LT(rel_error(x, x_true), accuracy<T>());
  }
  {
    auto x = zeros_like(b);
    EXPECT_TRUE(lsqr(H, H, b, x, o).converged);  // symmetric: A^T = A
    EXPECT_LT(rel_error(x, x_true), accuracy<T>());
  }
  // A good initial guess converges at once; b = 0 gives x = 0 without iterating.
  {
    auto x = clone(x_true);
    SolverOptions loose = o;
    loose.tol = 1e-3;
    const auto info = conjugate_gradient(H, b, x, loose);
    EXPECT_TRUE(info.converged);
    EXPECT_EQ(info.iterations, 0);
  }
  const auto zero = zeros_like(b);
  for (int k = 0; k < 3; ++k) {
    auto x = clone(x_true);
    const auto info = k == 0 ? conjugate_gradient(H, zero, x, o)
                             : (k == 1 ? bicgstab(H, zero, x, o) : minres(H, zero, x, o));
    EXPECT_TRUE(info.converged);
    EXPECT_EQ(info.iterations, 0);
    EXPECT_EQ(norm2(x), T(0));
  }
}

TYPED_TEST(OptimTest, SolversOnTensorLists) {
  using T = TypeParam;
  // H = diag(d0, d1) on a list of two tensors: x_i = b_i / d_i.
  const Tensor<T> d0 = test::random_tensor<T>({4, 6}, 21, T(0.5), T(2));
  const Tensor<T> d1 = test::random_tensor<T>({9}, 22, T(0.5), T(2));
  const Inpainting<T> m0(d0), m1(d1);
  auto H = [&](const TensorList<T>& v) { return TensorList<T>{m0.A(v[0]), m1.A(v[1])}; };
  TensorList<T> x_true{test::random_tensor<T>({4, 6}, 23), test::random_tensor<T>({9}, 24)};
  const TensorList<T> b = H(x_true);
  SolverOptions o;
  o.max_iter = 100;
  o.tol = solve_tol<T>();
  for (int k = 0; k < 4; ++k) {
    SCOPED_TRACE(k);
    TensorList<T> x = zeros_like(b);
    const SolverInfo info = k == 0   ? conjugate_gradient(H, b, x, o)
                            : k == 1 ? bicgstab(H, b, x, o)
                            : k == 2 ? minres(H, b, x, o)
                                     : lsqr(H, H, b, x, o);
    EXPECT_TRUE(info.converged);
    EXPECT_LT(rel_error(x[0], x_true[0]), accuracy<T>());
    EXPECT_LT(rel_error(x[1], x_true[1]), accuracy<T>());
  }
}

// ---------------------------------------------------------------------------------------------
// least_squares paths against host normal-equation solves (dense matrices)

TYPED_TEST(OptimTest, LeastSquaresOvercompleteMatchesNormalEquations) {
  using T = TypeParam;
  const int m = 30, n = 12;
  const auto a = dense_matrix(m, n, 31, 3.0);
  const auto op = dense_physics<T>(a, m, n);
  const auto y = test::random_tensor<T>({1, m}, 32);  // not in the range of A
  const auto ar = rounded<T>(a);
  const auto ref = host_solve(ata(ar, m, n), at_times(ar, m, n, host_values(y)));
  for (auto s : all_solvers) {
    SCOPED_TRACE(to_string(s));
    LeastSquaresOptions o;
    o.solver = s;
    o.max_iter = 300;
    o.tol = solve_tol<T>();
    SolverInfo info;
    o.info = &info;
    const auto x = op->A_dagger(y, o);
    EXPECT_EQ(x.shape(), Shape({1, n}));
    EXPECT_LT(rel_error(x, ref), accuracy<T>() * 10);
    EXPECT_TRUE(info.converged);
  }
}

TYPED_TEST(OptimTest, LeastSquaresUndercompleteIsTheMinimumNormSolution) {
  using T = TypeParam;
  const int m = 10, n = 26;
  const auto a = dense_matrix(m, n, 41, 3.0);
  const auto op = dense_physics<T>(a, m, n);
  const auto y = test::random_tensor<T>({1, m}, 42);
  const auto ar = rounded<T>(a);
  // x = A^T (A A^T)^{-1} y: in the range of A^T, and A x = y.
  const auto w = host_solve(aat(ar, m, n), host_values(y));
  const auto ref = at_times(ar, m, n, w);
  for (auto s : all_solvers) {
    SCOPED_TRACE(to_string(s));
    LeastSquaresOptions o;
    o.solver = s;
    o.max_iter = 300;
    o.tol = solve_tol<T>();
    const auto x = op->A_dagger(y, o);
    EXPECT_EQ(x.shape(), Shape({1, n}));
    EXPECT_LT(rel_error(x, ref), accuracy<T>() * 10);
    EXPECT_LT(rel_error(op->A(x), host_values(y)), accuracy<T>() * 10);
  }
}

TYPED_TEST(OptimTest, LeastSquaresRegularisedMatchesNormalEquations) {
  using T = TypeParam;
  for (const auto [m, n] : {std::pair<int, int>{25, 10}, std::pair<int, int>{8, 20}}) {
    const auto a = dense_matrix(m, n, 51 + m, 2.0);
    const auto op = dense_physics<T>(a, m, n);
    const auto y = test::random_tensor<T>({1, m}, 52);
    const auto z = test::random_tensor<T>({1, n}, 53);
    const double gamma = 0.7;
    const auto ar = rounded<T>(a);
    auto M = ata(ar, m, n);
    for (int i = 0; i < n; ++i) M[i * n + i] += 1.0L / gamma;
    auto rhs = at_times(ar, m, n, host_values(y));
    const auto hz = host_values(z);
    for (int i = 0; i < n; ++i) rhs[i] += hz[i] / gamma;
    const auto ref = host_solve(M, rhs);
    for (auto s : all_solvers) {
      SCOPED_TRACE(to_string(s) + " m=" + std::to_string(m));
      LeastSquaresOptions o;
      o.solver = s;
      o.max_iter = 300;
      o.tol = solve_tol<T>();
      o.gamma = gamma;
      auto a_ = [&](const Tensor<T>& v) { return op->A(v); };
      auto at_ = [&](const Tensor<T>& v) { return op->A_adjoint(v); };
      auto ata_ = [&](const Tensor<T>& v) { return op->A_adjoint_A(v); };
      auto aat_ = [&](const Tensor<T>& v) { return op->A_A_adjoint(v); };
      const auto x = least_squares<Tensor<T>>(a_, at_, ata_, aat_, y, o, &z);
      EXPECT_LT(rel_error(x, ref), accuracy<T>() * 10);
    }
  }
}

// The generic least-squares path agrees with deepinv's closed forms where they exist.
TYPED_TEST(OptimTest, ClosedFormPseudoInverses) {
  using T = TypeParam;
  const auto mask = test::random_tensor<T>({1, 6, 7}, 61, T(0.5), T(1.5));
  const Inpainting<T> op(mask);
  const auto y = test::random_tensor<T>({2, 3, 6, 7}, 62);
  LeastSquaresOptions o;
  o.tol = solve_tol<T>();
  o.max_iter = 100;
  SolverInfo info;
  o.info = &info;
  const auto closed = op.A_dagger(y, o);
  EXPECT_EQ(info.iterations, 0);
  EXPECT_TRUE(info.converged);
  const auto iterative = op.LinearPhysics<T>::A_dagger(y, o);  // least_squares with CG
  EXPECT_GT(info.iterations, 0);
  EXPECT_LT(rel_error(closed, iterative), accuracy<T>());
  // Host reference: y / m.
  const auto hm = to_vector(mask), hy = to_vector(y), hc = to_vector(closed);
  for (std::size_t i = 0; i < hy.size(); ++i)
    ASSERT_NEAR(hc[i], hy[i] / hm[i % hm.size()], 4 * std::numeric_limits<T>::epsilon());

  // Masked entries (m <= 1e-5) give 0, as in deepinv.
  const auto binary = from_vector<T>("m", {4}, {T(1), T(0), T(2), T(1e-6)});
  const Inpainting<T> inp(binary);
  const auto x = to_vector(inp.A_dagger(from_vector<T>("y", {1, 4}, {T(3), T(5), T(4), T(7)})));
  EXPECT_EQ(x, (std::vector<T>{T(3), T(0), T(2), T(0)}));

  const Denoising<T> den;
  EXPECT_TRUE(test::bitwise_equal(den.A_dagger(y), y));
  EXPECT_NE(den.A_dagger(y).data(), y.data());
}

// ---------------------------------------------------------------------------------------------
// Power method / compute_sqnorm against known spectra

TYPED_TEST(OptimTest, PowerMethodFindsKnownLargestEigenvalues) {
  using T = TypeParam;
  PowerOptions o;
  o.tol = is_float<T> ? 1e-6 : 1e-9;
  o.max_iter = 500;
  SolverInfo info;
  o.info = &info;
  {
    // A^T A = diag(m^2) with one clear maximum.
    auto hm = to_vector(test::random_tensor<T>({1, 8, 8}, 71, T(0.1), T(1)));
    hm[37] = T(1.8);
    const Inpainting<T> op(from_vector<T>("m", {1, 8, 8}, hm));
    const T s = op.compute_sqnorm(Tensor<T>("x0", {1, 1, 8, 8}), o);
    EXPECT_NEAR(s, 1.8 * 1.8, 1e-3 * 1.8 * 1.8);
    EXPECT_TRUE(info.converged);
    EXPECT_EQ(static_cast<int>(info.history.size()), info.iterations);
  }
  {
    // Circular blur: the eigenvalues of A^T A are |DFT(k)|^2, largest (sum k)^2 at DC.
    const auto k = test::random_tensor<T>({3, 3}, 72, T(0.05), T(0.5));
    long double sum = 0;
    for (T v : to_vector(k)) sum += v;
    const Blur<T> op(k, Padding::Circular);
    const T s = op.compute_sqnorm(Tensor<T>("x0", {1, 1, 8, 8}), o);
    EXPECT_NEAR(s, static_cast<double>(sum * sum), 1e-3 * static_cast<double>(sum * sum));
  }
  {
    // The same seed gives the same estimate; deepinv's defaults get within 1e-2 here.
    const Blur<T> op(well_conditioned_kernel<T>(), Padding::Circular);
    const Tensor<T> x0("x0", {1, 1, 8, 8});
    const T s1 = op.compute_sqnorm(x0), s2 = op.compute_sqnorm(x0);
    EXPECT_EQ(s1, s2);
    EXPECT_NEAR(s1, 1.0, 1e-2);
  }
}

TYPED_TEST(OptimTest, StackedComputeSqnorm) {
  using T = TypeParam;
  // A^T A = diag(m1^2 + m2^2): the largest value is known.
  auto h1 = to_vector(test::random_tensor<T>({5, 5}, 81, T(0.1), T(1)));
  auto h2 = to_vector(test::random_tensor<T>({5, 5}, 82, T(0.1), T(1)));
  h1[12] = T(1.5);
  h2[12] = T(1.2);
  long double best = 0;
  for (std::size_t i = 0; i < h1.size(); ++i)
    best = std::max(
        best, static_cast<long double>(h1[i]) * h1[i] + static_cast<long double>(h2[i]) * h2[i]);
  StackedLinearPhysics<T> stack;
  stack.push_back(std::make_unique<Inpainting<T>>(from_vector<T>("m1", {5, 5}, h1)));
  stack.push_back(std::make_unique<Inpainting<T>>(from_vector<T>("m2", {5, 5}, h2)));
  PowerOptions o;
  o.tol = 1e-7;
  o.max_iter = 500;
  const T s = stack.compute_sqnorm(Tensor<T>("x0", {1, 5, 5}), o);
  EXPECT_NEAR(s, static_cast<double>(best), 1e-3 * static_cast<double>(best));
  EXPECT_THROW(stack.compute_sqnorm(Tensor<T>("x0", {1, 4, 5}), o), ShapeError);
}

// ---------------------------------------------------------------------------------------------
// Stacked pseudo-inverse

TYPED_TEST(OptimTest, StackedAdaggerRecoversTheSignal) {
  using T = TypeParam;
  StackedLinearPhysics<T> stack;
  stack.push_back(std::make_unique<Blur<T>>(well_conditioned_kernel<T>(), Padding::Circular));
  stack.push_back(std::make_unique<Blur<T>>(gaussian_kernel<T>(0.8), Padding::Circular));
  stack.push_back(std::make_unique<Inpainting<T>>(Shape{1, 9, 11}, 0.5, 3));
  const auto x_true = test::random_tensor<T>({1, 1, 9, 11}, 91);
  const TensorList<T> y = stack.A(x_true);
  for (auto s : all_solvers) {
    SCOPED_TRACE(to_string(s));
    LeastSquaresOptions o;
    o.solver = s;
    o.max_iter = 300;
    o.tol = solve_tol<T>();
    SolverInfo info;
    o.info = &info;
    const auto x = stack.A_dagger(y, o);
    EXPECT_TRUE(info.converged);
    EXPECT_LT(rel_error(x, x_true), accuracy<T>() * 10);
  }
  // The least-squares solution of an inconsistent stack satisfies the normal equations.
  TensorList<T> noisy = clone(y);
  axpby(T(0.1),
        TensorList<T>{test::random_tensor<T>(y[0].shape(), 92),
                      test::random_tensor<T>(y[1].shape(), 93),
                      test::random_tensor<T>(y[2].shape(), 94)},
        T(1), noisy);
  LeastSquaresOptions o;
  o.max_iter = 300;
  o.tol = solve_tol<T>();
  const auto x = stack.A_dagger(noisy, o);
  auto g = stack.A_adjoint_A(x);
  axpby(T(-1), stack.A_adjoint(noisy), T(1), g);
  EXPECT_LT(static_cast<double>(norm2(g)) / norm2(stack.A_adjoint(noisy)), accuracy<T>() * 10);
  EXPECT_THROW(stack.A_dagger(TensorList<T>{y[0], y[1]}, o), ShapeError);
}

// ---------------------------------------------------------------------------------------------
// Gradient descent and FISTA

TYPED_TEST(OptimTest, GradientDescentAndFistaReachTheLeastSquaresSolution) {
  using T = TypeParam;
  const int m = 30, n = 12;
  const auto a = dense_matrix(m, n, 101, 3.0);
  const auto op = dense_physics<T>(a, m, n);
  const auto y = test::random_tensor<T>({1, m}, 102);
  const auto ar = rounded<T>(a);
  const auto ref = host_solve(ata(ar, m, n), at_times(ar, m, n, host_values(y)));
  auto grad = [&](const Tensor<T>& x) {
    auto r = op->A(x);
    axpby(T(-1), y, T(1), r);
    return op->A_adjoint(r);
  };
  PowerOptions po;
  po.tol = 1e-8;
  po.max_iter = 1000;
  const T step = step_from_sqnorm(op->compute_sqnorm(Tensor<T>("x0", {1, n}), po));
  ProximalOptions o;
  o.max_iter = 20000;
  o.tol = is_float<T> ? 2e-6 : 1e-13;
  SolverInfo gd_info, fista_info;
  {
    Tensor<T> x("x", {1, n});
    o.info = &gd_info;
    gradient_descent(grad, x, step, o);
    EXPECT_TRUE(gd_info.converged);
    EXPECT_LT(rel_error(x, ref), accuracy<T>() * 20);
  }
  {
    Tensor<T> x("x", {1, n});
    o.info = &fista_info;
    fista(grad, x, step, o);
    EXPECT_TRUE(fista_info.converged);
    EXPECT_LT(rel_error(x, ref), accuracy<T>() * 20);
  }
  // The callback sees every iteration and can stop the iteration.
  Tensor<T> x("x", {1, n});
  std::vector<int> seen;
  SolverInfo info;
  o.info = &info;
  fista(grad, identity_prox, x, step, o, [&](int k, const Tensor<T>& xk) {
    seen.push_back(k);
    EXPECT_EQ(xk.data(), x.data());
    return k < 4;
  });
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(info.iterations, 5);
  EXPECT_FALSE(info.converged);
}

TYPED_TEST(OptimTest, ProximalMethodsRespectANonNegativityConstraint) {
  using T = TypeParam;
  const int m = 30, n = 12;
  const auto a = dense_matrix(m, n, 111, 3.0);
  const auto op = dense_physics<T>(a, m, n);
  // y = A x_s with x_s of mixed signs: the constrained optimum differs from x_s.
  const auto x_s = test::random_tensor<T>({1, n}, 112);
  const auto y = op->A(x_s);
  auto grad = [&](const Tensor<T>& x) {
    auto r = op->A(x);
    axpby(T(-1), y, T(1), r);
    return op->A_adjoint(r);
  };
  auto prox = [](const Tensor<T>& v, T) {
    auto x = Tensor<T>::uninitialized("prox", v.shape());
    Kokkos::parallel_for("kinv::test::clamp", impl::range(ExecutionSpace(), v.size()),
                         ClampNonNegative<T>{v.view(), x.view()});
    return x;
  };
  const T step = step_from_sqnorm(op->compute_sqnorm(Tensor<T>("x0", {1, n})));
  ProximalOptions o;
  o.max_iter = 20000;
  o.tol = is_float<T> ? 2e-6 : 1e-12;
  for (int method = 0; method < 2; ++method) {
    SCOPED_TRACE(method == 0 ? "gradient_descent" : "fista");
    Tensor<T> x("x", {1, n});
    if (method == 0)
      gradient_descent(grad, prox, x, step, o);
    else
      fista(grad, prox, x, step, o);
    // KKT conditions of min 1/2 ||A x - y||^2 s.t. x >= 0: x >= 0, g >= 0, g_i = 0 where x_i > 0.
    const auto hx = to_vector(x), hg = to_vector(grad(x)), hs = to_vector(x_s);
    const double gtol = is_float<T> ? 2e-3 : 1e-7;
    int active = 0;
    for (int i = 0; i < n; ++i) {
      ASSERT_GE(hx[i], T(0));
      if (hx[i] > 0)
        EXPECT_NEAR(hg[i], 0, gtol) << i;
      else {
        EXPECT_GE(hg[i], -gtol) << i;
        ++active;
      }
    }
    EXPECT_GT(active, 0);  // the constraint binds somewhere
    EXPECT_TRUE(std::any_of(hs.begin(), hs.end(), [](T v) { return v < 0; }));
  }
}

// The solvers take operator results from uninitialised outputs: A_adjoint must overwrite
// whatever it finds there (Kokkos Kernels 3.4's transpose spmv, once used for SparseMatrixPhysics's
// adjoint, scaled it by beta = 0 and kept NaN).
TYPED_TEST(OptimTest, AdjointOverwritesGarbageInItsOutput) {
  using T = TypeParam;
  const int m = 7, n = 5;
  const auto op = dense_physics<T>(dense_matrix(m, n, 131, 1.0), m, n);
  const auto y = test::random_tensor<T>({2, m}, 132);
  Tensor<T> x("x", {2, n});
  fill(x, std::numeric_limits<T>::quiet_NaN());
  op->A_adjoint(y, x);
  Tensor<T> ref("ref", {2, n});
  op->A_adjoint(y, ref);
  for (T v : to_vector(x)) ASSERT_TRUE(std::isfinite(v));
  // Threaded backends sum the transpose with atomics: equal to rounding, not bitwise.
  EXPECT_LT(test::max_abs_diff(x, ref), 50 * std::numeric_limits<T>::epsilon());
  fill(x, std::numeric_limits<T>::infinity());
  op->A_adjoint_A(op->A_adjoint(y), x);
  for (T v : to_vector(x)) ASSERT_TRUE(std::isfinite(v));
}

// ---------------------------------------------------------------------------------------------
// Bad input

TYPED_TEST(OptimTest, BadInputGivesClearErrors) {
  using T = TypeParam;
  const Blur<T> blur(well_conditioned_kernel<T>(), Padding::Circular);
  auto H = [&](const Tensor<T>& v) { return blur.A(v); };
  const auto b = test::random_tensor<T>({1, 1, 8, 8}, 121);
  Tensor<T> wrong("x", {1, 1, 8, 7});
  EXPECT_THROW(conjugate_gradient(H, b, wrong), ShapeError);
  EXPECT_THROW(bicgstab(H, b, wrong), ShapeError);
  EXPECT_THROW(minres(H, b, wrong), ShapeError);
  Tensor<T> x("x", b.shape());
  SolverOptions bad;
  bad.max_iter = -1;
  EXPECT_THROW(conjugate_gradient(H, b, x, bad), ValueError);
  bad.max_iter = 10;
  bad.tol = -1;
  EXPECT_THROW(minres(H, b, x, bad), ValueError);
  EXPECT_THROW(lsqr(H, H, b, x, SolverOptions{}, -1.0), ValueError);
  // An operator that returns the wrong shape is caught.
  auto Hbad = [&](const Tensor<T>&) { return Tensor<T>("r", {1, 1, 4, 4}); };
  EXPECT_THROW(conjugate_gradient(Hbad, b, x), ShapeError);

  LeastSquaresOptions o;
  o.gamma = 0.0;
  EXPECT_THROW(blur.A_dagger(b, o), ValueError);
  o.gamma = -1.0;
  EXPECT_THROW(blur.A_dagger(b, o), ValueError);
  EXPECT_THROW(blur.A_dagger(Tensor<T>("y", {3, 3})), ShapeError);

  auto grad = [&](const Tensor<T>& v) { return blur.A(v); };
  EXPECT_THROW(gradient_descent(grad, x, T(0)), ValueError);
  EXPECT_THROW(fista(grad, x, T(-0.5)), ValueError);
  EXPECT_THROW(fista(grad, x, std::numeric_limits<T>::infinity()), ValueError);
  EXPECT_THROW(step_from_sqnorm(T(0)), ValueError);
  EXPECT_THROW(step_from_sqnorm(std::numeric_limits<T>::quiet_NaN()), ValueError);
  EXPECT_EQ(step_from_sqnorm(T(4)), T(0.25));
  auto bad_prox = [](const Tensor<T>&, T) { return Tensor<T>("p", {2}); };
  EXPECT_THROW(gradient_descent(grad, bad_prox, x, T(0.1)), ShapeError);

  PowerOptions p;
  p.max_iter = 0;
  EXPECT_THROW(blur.compute_sqnorm(b, p), ValueError);
  EXPECT_THROW(blur.compute_sqnorm(Tensor<T>("x0", {3})), ShapeError);

  // NaN or Inf in the right-hand side: refused by every solver, not iterated to garbage.
  for (T bad_value : {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity()}) {
    auto b_bad = clone(b);
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b_bad.view());
    h(5) = bad_value;
    Kokkos::deep_copy(b_bad.view(), h);
    Tensor<T> x0("x", b.shape());
    EXPECT_THROW(conjugate_gradient(H, b_bad, x0), ValueError);
    EXPECT_THROW(bicgstab(H, b_bad, x0), ValueError);
    EXPECT_THROW(minres(H, b_bad, x0), ValueError);
    EXPECT_THROW(lsqr(H, H, b_bad, x0), ValueError);
    EXPECT_THROW(blur.A_dagger(b_bad), ValueError);
  }
}

}  // namespace
}  // namespace kinv
