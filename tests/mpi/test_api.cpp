// deepinv's distributed test suite (deepinv/tests/test_distributed.py, 0.5) ported to kinv, at
// any rank count, plus what it lacks: A_dagger(A x) recovers x, the global squared norm equals
// the largest eigenvalue of A^T A, the local bound is above it, gather = false partials sum to
// the gathered result, and data-fidelity gradients match finite differences.
//
// Each TEST names the deepinv test it ports. The processor tests (test_distribute_processor,
// test_processor_*, test_gather_false_processor) are ported in test_processing.cpp, except
// the distribute() entry point, which is tested here. deepinv's autograd tests (backward,
// parameter sync, unrolled) have no counterpart: kinv has no autograd; A_vjp is tested instead.
#include <kinv/distributed/distribute.hpp>
#include <kinv/operators/blur.hpp>
#include <kinv/operators/denoising.hpp>
#include <kinv/operators/inpainting.hpp>
#include <kinv/optim/vector_ops.hpp>

#include "mpi_test.hpp"
#include "test_operators.hpp"

#include <cmath>
#include <type_traits>

namespace kinv {
namespace {

using test::all_strategies;
using test::RankChecks;

template <class T>
class Api : public ::testing::Test {};
TYPED_TEST_SUITE(Api, test::ScalarTypes);

// deepinv's create_test_physics_list: circular Gaussian blurs of std 1 + 0.5 i, noise 0.01.
template <class T>
std::unique_ptr<LinearPhysics<T>> test_blur(std::int64_t i) {
  auto op = std::make_unique<Blur<T>>(gaussian_kernel<T>(1.0 + 0.5 * static_cast<double>(i)),
                                      Padding::Circular);
  op->set_noise_model(std::make_shared<GaussianNoise<T>>(T(0.01)));
  return op;
}

template <class T>
std::vector<std::unique_ptr<LinearPhysics<T>>> test_physics_list(std::int64_t n) {
  std::vector<std::unique_ptr<LinearPhysics<T>>> ops;
  for (std::int64_t i = 0; i < n; ++i) ops.push_back(test_blur<T>(i));
  return ops;
}

template <class T>
StackedLinearPhysics<T> test_stack(std::int64_t n) {
  return StackedLinearPhysics<T>(test_physics_list<T>(n));
}

template <class T>
DistributeOptions<T> with(GatherStrategy s) {
  DistributeOptions<T> o;
  o.gather_strategy = s;
  return o;
}

template <class T>
const char* type_name() {
  return sizeof(T) == 4 ? "float" : "double";
}

// The sum over ranks of a partial result (an empty one counts as zeros).
template <class T>
Tensor<T> sum_over_ranks(const Tensor<T>& partial, const Shape& shape) {
  Tensor<T> s("sum", shape);
  if (partial.shape() == shape) deep_copy(s, partial);
  test::context().all_reduce(s);
  return s;
}

// Relative error |a - b| / max(|b|, tiny).
template <class T>
double rel_diff(const Tensor<T>& a, const Tensor<T>& b) {
  return test::max_abs_diff(a, b) / std::max<double>(1e-30, static_cast<double>(test::norm(b)));
}

template <class T>
constexpr double tol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-12;
}

// ---- test_distribute_physics ----------------------------------------------------------------
TYPED_TEST(Api, DistributePhysicsFromAListAStackAndAFactory) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const auto x = test::random_tensor<T>({1, 1, 16, 16}, 42);
  const auto ref = test_stack<T>(4).A(x);
  for (auto s : all_strategies)
    for (const char* spec : {"physics_list", "stacked_physics", "callable_factory"}) {
      const std::string what = to_string(s) + ", " + spec + ", " + type_name<T>();
      checks.no_throw(
          [&] {
            std::unique_ptr<DistributedStackedLinearPhysics<T>> A;
            if (std::string(spec) == "physics_list") {
              A = distribute(test_physics_list<T>(4), ctx, with<T>(s));
            } else if (std::string(spec) == "stacked_physics") {
              A = distribute(test_stack<T>(4), ctx, with<T>(s));
            } else {
              auto o = with<T>(s);
              o.num_operators = 4;
              A = distribute<T>([](std::int64_t i, const Device&) { return test_blur<T>(i); }, ctx,
                                o);
            }
            const auto y = A->A(x);
            checks.expect(y.size() == 4, what + ": 4 measurements");
            for (std::size_t i = 0; i < y.size() && i < ref.size(); ++i)
              checks.expect(test::bitwise_equal(y[i], ref[i]),
                            what + ": operator " + std::to_string(i) + " equals the stack's");
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_distribute_processor (through distribute(); the rest in test_processing.cpp) -----
TYPED_TEST(Api, DistributeProcessorScalesLikeTheWholeSignal) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  checks.no_throw(
      [&] {
        DistributeOptions<T> o;
        o.processing.tiling.patch_size = {8};
        o.processing.tiling.overlap = {2};
        auto times_09 = [](const Tensor<T>& in) {
          Tensor<T> out = clone(in);
          scale(T(0.9), out);
          return out;
        };
        auto P = distribute<T>(times_09, ctx, o);
        static_assert(std::is_same_v<decltype(P), std::unique_ptr<DistributedProcessing<T>>>);
        const auto x = test::random_tensor<T>({1, 3, 16, 16}, 7);
        const Tensor<T> r = (*P)(x);
        Tensor<T> expect = clone(x);
        scale(T(0.9), expect);
        checks.expect(r.shape() == x.shape(), "result shape");
        checks.expect(test::bitwise_equal(r, expect), "0.9 x exactly");
      },
      "distribute(processor)");
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_distribute_data_fidelity ----------------------------------------------------------
TYPED_TEST(Api, DistributeDataFidelityFactoryEqualsSingle) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  checks.no_throw(
      [&] {
        auto A = distribute(test_physics_list<T>(3), ctx);
        DistributeOptions<T> o;
        o.num_operators = 3;
        auto from_factory =
            distribute<T>([](std::int64_t) { return std::make_unique<L2<T>>(); }, ctx, o);
        static_assert(
            std::is_same_v<decltype(from_factory), std::unique_ptr<DistributedDataFidelity<T>>>);
        auto single = distribute(std::make_shared<L2<T>>(), ctx);
        const auto x = test::random_tensor<T>({1, 1, 16, 16}, 3);
        const auto y = A->A(test::random_tensor<T>({1, 1, 16, 16}, 4));
        const auto f1 = from_factory->fn(x, y, *A), f2 = single->fn(x, y, *A);
        const auto g1 = from_factory->grad(x, y, *A), g2 = single->grad(x, y, *A);
        checks.expect(f1.shape() == Shape{1}, "fn has shape {B}");
        checks.expect(g1.shape() == x.shape(), "grad has the shape of x");
        checks.expect(test::bitwise_equal(f1, f2), "fn: factory == single");
        checks.expect(test::bitwise_equal(g1, g2), "grad: factory == single");
        checks.expect(to_vector(f1)[0] > T(0), "fn > 0 away from the data");
      },
      type_name<T>());
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_compute_norm, test_compute_norm_local_vs_global, plus: the global value is the
// largest eigenvalue of A^T A and the local bound is above it --------------------------------
TYPED_TEST(Api, ComputeSqnormGlobalIsTheLargestEigenvalueAndLocalBoundsIt) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t n = 3;
  const auto x0 = test::random_tensor<T>({1, 1, 16, 16}, 5);
  // A^T A = sum_i B_i^T B_i is circulant with eigenvalues sum_i |K_i(w)|^2, largest at w = 0:
  // sum_i (sum of kernel i)^2, computed here from the kernels on the host.
  double lambda = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (T v : to_vector(gaussian_kernel<T>(1.0 + 0.5 * static_cast<double>(i)))) s += v;
    lambda += s * s;
  }
  for (auto s : all_strategies) {
    const std::string what = to_string(s) + ", " + type_name<T>();
    checks.no_throw(
        [&] {
          auto A = distribute(test_physics_list<T>(n), ctx, with<T>(s));
          DistributedSqnormOptions o;
          o.max_iter = 10;  // deepinv's test: 10 iterations, a positive scalar
          o.local_only = true;
          const T local10 = A->compute_sqnorm(x0, o);
          o.local_only = false;
          const T global10 = A->compute_sqnorm(x0, o);
          checks.expect(local10 > T(0) && std::isfinite(local10), what + ": local > 0");
          checks.expect(global10 > T(0) && std::isfinite(global10), what + ": global > 0");
          // Converged: the largest eigenvalue to 1e-3.
          o.max_iter = 500;
          o.tol = 1e-7;
          SolverInfo info;
          o.info = &info;
          const T global = A->compute_sqnorm(x0, o);
          checks.expect(std::abs(global - lambda) <= 1e-3 * lambda,
                        what + ": global " + std::to_string(global) + " vs lambda_max " +
                            std::to_string(lambda));
          checks.expect(info.iterations > 0 && !info.history.empty(), what + ": info filled");
          o.local_only = true;
          o.info = nullptr;
          const T local = A->compute_sqnorm(x0, o);
          checks.expect(local >= global * (1 - 1e-4), what + ": local bound " +
                                                          std::to_string(local) + " >= global " +
                                                          std::to_string(global));
          o.gather = false;
          const T partial = A->compute_sqnorm(x0, o);
          Tensor<T> p("p", Shape{1});
          fill(p, partial);
          ctx.all_reduce(p);
          checks.expect(std::abs(to_vector(p)[0] - local) <= 1e-5 * local,
                        what + ": local partials sum to the bound");
        },
        what);
  }
  // A stack where the bound is strict: operators with different leading singular vectors.
  checks.no_throw(
      [&] {
        const std::int64_t C = 2, H = 12, W = 12;
        auto make = [&](std::int64_t i) { return test::mixed_operator<T>(i, C, H, W); };
        DistributedStackedLinearPhysics<T> A(ctx, 4, make);
        auto ref = test::stacked_reference<T>(4, make);
        DistributedSqnormOptions o;
        o.max_iter = 500;
        o.tol = 1e-7;
        const auto x = test::random_tensor<T>({1, C, H, W}, 9);
        o.local_only = false;
        const T global = A.compute_sqnorm(x, o);
        o.local_only = true;
        const T local = A.compute_sqnorm(x, o);
        PowerOptions po;
        po.max_iter = 500;
        po.tol = 1e-7;
        const T single = ref.compute_sqnorm(x, po);
        checks.expect(local >= global * (1 - 1e-4), "mixed stack: local >= global");
        checks.expect(std::abs(global - single) <= 1e-3 * single,
                      "mixed stack: global == the stack's (" + std::to_string(global) + " vs " +
                          std::to_string(single) + ")");
      },
      "mixed stack");
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_a_dagger, test_a_dagger_local_vs_global, plus: A_dagger(A x) recovers x ----------
TYPED_TEST(Api, ADaggerLocalAndGlobal) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  checks.no_throw(
      [&] {
        auto A = distribute(test_physics_list<T>(3), ctx);
        const auto x = test::random_tensor<T>({1, 1, 16, 16}, 11);
        const auto y = A->A(x);
        for (bool local_only : {true, false}) {
          DistributedDaggerOptions o;
          o.local_only = local_only;
          const auto xd = A->A_dagger(y, o);
          checks.expect(xd.shape() == x.shape(),
                        std::string("shape, local_only = ") + (local_only ? "true" : "false"));
        }
        // Local: the mean of the operators' own pseudo-inverses, against the single-process one.
        auto ref = test_stack<T>(3);
        LeastSquaresOptions lo;
        Tensor<T> mean("mean", x.shape());
        for (std::int64_t i = 0; i < 3; ++i)
          axpby(T(1) / T(3), ref[i].A_dagger(y[static_cast<std::size_t>(i)], lo), T(1), mean);
        DistributedDaggerOptions o;
        const auto local = A->A_dagger(y, o);
        checks.expect(rel_diff(local, mean) <= 1e3 * tol<T>(),
                      "local A_dagger == mean of A_i^+ y_i (rel " +
                          std::to_string(rel_diff(local, mean)) + ")");
        o.gather = false;
        const auto partial = A->A_dagger(y, o);
        Tensor<T> sum = sum_over_ranks(partial, x.shape());
        scale(T(1) / T(3), sum);
        checks.expect(rel_diff(sum, local) <= 1e2 * tol<T>(), "local partials sum to the mean");
      },
      type_name<T>());
  // A well-posed stack: two complementary masks and a well-conditioned circular blur.
  checks.no_throw(
      [&] {
        const std::int64_t H = 12, W = 10;
        auto make = [&](std::int64_t i) -> std::unique_ptr<LinearPhysics<T>> {
          if (i == 1)
            return std::make_unique<Blur<T>>(from_vector<T>("k", {1, 1, 1, 3}, {0.15, 0.7, 0.15}),
                                             Padding::Circular);
          std::vector<T> m(static_cast<std::size_t>(H * W));
          for (std::size_t p = 0; p < m.size(); ++p) m[p] = ((p % 3 == 0) == (i == 0)) ? 1 : 0;
          return std::make_unique<Inpainting<T>>(from_vector<T>("mask", {1, 1, H, W}, m));
        };
        DistributedStackedLinearPhysics<T> A(ctx, 3, make);
        auto ref = test::stacked_reference<T>(3, make);
        const auto x = test::random_tensor<T>({2, 1, H, W}, 12);
        const auto y = A.A(x);
        for (auto solver : {LeastSquaresSolver::CG, LeastSquaresSolver::BiCGStab,
                            LeastSquaresSolver::LSQR, LeastSquaresSolver::MINRES}) {
          const std::string what = "recovers x with " + to_string(solver);
          DistributedDaggerOptions o;
          o.local_only = false;
          o.solver = solver;
          o.max_iter = 200;
          o.tol = sizeof(T) == 4 ? 1e-6 : 1e-10;
          SolverInfo info;
          o.info = &info;
          const auto xd = A.A_dagger(y, o);
          checks.expect(rel_diff(xd, x) <= (sizeof(T) == 4 ? 1e-4 : 1e-8),
                        what + " (rel " + std::to_string(rel_diff(xd, x)) + ", " +
                            std::to_string(info.iterations) + " iterations)");
          LeastSquaresOptions lo = o;
          lo.info = nullptr;
          const auto xs = ref.A_dagger(y, lo);
          checks.expect(rel_diff(xd, xs) <= (sizeof(T) == 4 ? 1e-4 : 1e-8),
                        what + ": equals the single-process stack's");
        }
      },
      std::string("well-posed stack, ") + type_name<T>());
  // Global with only this rank's measurements is an error on every rank.
  checks.no_throw(
      [&] {
        auto A = distribute(test_physics_list<T>(3), ctx);
        const auto x = test::random_tensor<T>({1, 1, 16, 16}, 13);
        const auto y_local = A->A(x, false);
        DistributedDaggerOptions o;
        o.local_only = false;
        bool threw = false;
        try {
          (void)A->A_dagger(y_local, o);
        } catch (const Error&) {
          threw = true;
        }
        checks.expect(threw || A->num_local_operators() == 3,
                      "global A_dagger of a local list throws");
      },
      "A_dagger errors");
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_gather_false_operations, test_gather_false_physics_operations: the partials of
// every operation sum over ranks to the gathered result -------------------------------------
TYPED_TEST(Api, GatherFalsePartialsSumToTheGatheredResult) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  checks.no_throw(
      [&] {
        auto A = distribute(test_physics_list<T>(3), ctx);
        const auto x = test::random_tensor<T>({1, 1, 16, 16}, 21);
        const auto y = A->A(x);
        const auto y_local = A->A(x, false);
        checks.expect(y_local.size() == A->num_local_operators(), "A: this rank's results");
        for (std::size_t k = 0; k < y_local.size(); ++k)
          checks.expect(
              test::bitwise_equal(y_local[k], y[static_cast<std::size_t>(A->local_indices()[k])]),
              "A: local result equals the gathered one");
        const auto f_local = A->forward(x, false);
        checks.expect(f_local.size() == A->num_local_operators(), "forward: this rank's results");
        auto check_sum = [&](const char* what, const Tensor<T>& partial, const Tensor<T>& full) {
          const Tensor<T> s = sum_over_ranks(partial, full.shape());
          checks.expect(rel_diff(s, full) <= 10 * tol<T>(),
                        std::string(what) + ": partials sum to the gathered result");
        };
        check_sum("A_adjoint", A->A_adjoint(y, false), A->A_adjoint(y));
        check_sum("A_vjp", A->A_vjp(x, y, false), A->A_vjp(x, y));
        check_sum("A_adjoint_A", A->A_adjoint_A(x, false), A->A_adjoint_A(x));
        const auto aat_local = A->A_A_adjoint(y, false);
        const auto aat = A->A_A_adjoint(y);
        checks.expect(aat.size() == 3 && aat_local.size() == A->num_local_operators(),
                      "A_A_adjoint: gathered list and local list");
        for (std::size_t k = 0; k < aat_local.size(); ++k)
          checks.expect(test::bitwise_equal(aat_local[k],
                                            aat[static_cast<std::size_t>(A->local_indices()[k])]),
                        "A_A_adjoint: local result equals the gathered one");
      },
      type_name<T>());
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_consistency_single_vs_multiprocess, test_adjoint_operations ----------------------
TYPED_TEST(Api, AdjointOperationsMatchTheStack) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const auto x = test::random_tensor<T>({1, 1, 16, 16}, 31);
  for (auto s : all_strategies) {
    const std::string what = to_string(s) + ", " + type_name<T>();
    checks.no_throw(
        [&] {
          auto A = distribute(test_physics_list<T>(4), ctx, with<T>(s));
          auto ref = test_stack<T>(4);
          const auto y = A->A(x);
          const auto yr = ref.A(x);
          for (std::size_t i = 0; i < 4; ++i)
            checks.expect(test::bitwise_equal(y[i], yr[i]), what + ": A");
          checks.expect(rel_diff(A->A_adjoint(y), ref.A_adjoint(yr)) <= 10 * tol<T>(),
                        what + ": A_adjoint");
          checks.expect(rel_diff(A->A_vjp(x, y), ref.A_vjp(x, yr)) <= 10 * tol<T>(),
                        what + ": A_vjp");
          checks.expect(rel_diff(A->A_adjoint_A(x), ref.A_adjoint_A(x)) <= 10 * tol<T>(),
                        what + ": A_adjoint_A");
          const auto aat = A->A_A_adjoint(y);
          const auto aatr = ref.A_A_adjoint(yr);
          checks.expect(aat.size() == 4, what + ": A_A_adjoint has one entry per operator");
          for (std::size_t i = 0; i < 4 && i < aat.size(); ++i)
            checks.expect(rel_diff(aat[i], aatr[i]) <= 10 * tol<T>(), what + ": A_A_adjoint");
        },
        what);
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_empty_local_set -------------------------------------------------------------------
TYPED_TEST(Api, OneOperatorLeavesRanksEmpty) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  checks.no_throw(
      [&] {
        auto A = distribute(test_physics_list<T>(1), ctx);
        auto ref = test_stack<T>(1);
        const auto x = test::random_tensor<T>({1, 1, 16, 16}, 41);
        const auto y = A->A(x);
        const auto z = A->A_adjoint(y);
        checks.expect(y.size() == 1, "one measurement");
        checks.expect(z.shape() == x.shape(), "adjoint shape");
        checks.expect(rel_diff(z, ref.A_adjoint(ref.A(x))) <= 10 * tol<T>(), "adjoint value");
        checks.expect(A->num_local_operators() == (ctx.rank() == 0 ? 1u : 0u), "ownership");
      },
      type_name<T>());
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_gather_strategy_validation --------------------------------------------------------
TEST(ApiErrors, InvalidGatherStrategyIsAValueErrorNamingTheValidOnes) {
  RankChecks checks;
  try {
    (void)parse_gather_strategy("invalid_strategy");
    checks.fail("no exception");
  } catch (const ValueError& e) {
    const std::string m = e.what();
    checks.expect(m.find("naive") != std::string::npos &&
                      m.find("concatenated") != std::string::npos &&
                      m.find("broadcast") != std::string::npos,
                  "message lists the valid names: " + m);
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_distribute_auto_type_detection (at compile time in C++) ---------------------------
TEST(Api, DistributePicksTheDistributedTypeFromTheArgument) {
  using T = float;
  auto& ctx = test::context();
  using FromList = decltype(distribute(std::vector<std::unique_ptr<LinearPhysics<T>>>{}, ctx));
  using FromNonlinear = decltype(distribute(std::vector<std::unique_ptr<Physics<T>>>{}, ctx));
  using FromStack = decltype(distribute(StackedLinearPhysics<T>{}, ctx));
  auto linear_factory = [](std::int64_t) { return std::make_unique<Denoising<T>>(); };
  // A callable type (a lambda would be a variable that only its type uses).
  struct Processor {
    Tensor<T> operator()(const Tensor<T>& in) const { return clone(in); }
  };
  using FromLinearFactory = decltype(distribute<T>(linear_factory, ctx));
  using FromFidelity = decltype(distribute(std::make_shared<L1<T>>(), ctx));
  using FromProcessor = decltype(distribute<T>(Processor{}, ctx));
  static_assert(std::is_same_v<FromList, std::unique_ptr<DistributedStackedLinearPhysics<T>>>);
  static_assert(std::is_same_v<FromNonlinear, std::unique_ptr<DistributedStackedPhysics<T>>>);
  static_assert(std::is_same_v<FromStack, std::unique_ptr<DistributedStackedLinearPhysics<T>>>);
  static_assert(
      std::is_same_v<FromLinearFactory, std::unique_ptr<DistributedStackedLinearPhysics<T>>>);
  static_assert(std::is_same_v<FromFidelity, std::unique_ptr<DistributedDataFidelity<T>>>);
  static_assert(std::is_same_v<FromProcessor, std::unique_ptr<DistributedProcessing<T>>>);
  // And at run time: a factory without num_operators is an error on every rank.
  RankChecks checks;
  checks.expect_throws<Error>([&] { (void)distribute<T>(linear_factory, ctx); },
                              "factory without num_operators");
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_distributed_context_device_modes, _local_indices, _collectives --------------------
TEST(ApiContext, DeviceLocalIndicesAndCollectives) {
  auto& ctx = test::context();
  RankChecks checks;
  checks.expect(ctx.device().backend == ExecutionSpace::name(), "device backend");
  checks.expect(ctx.device().is_host == memory_is_host_accessible, "device is_host");
  // Round robin: every index in [0, 10) exactly once over the ranks.
  const auto mine = ctx.local_indices(10);
  Tensor<double> owned("owned", {10});
  std::vector<double> h(10, 0.0);
  for (auto i : mine) h[static_cast<std::size_t>(i)] = 1.0;
  deep_copy(owned, from_vector<double>("h", {10}, h));
  ctx.all_reduce(owned);
  for (double v : to_vector(owned)) checks.expect(v == 1.0, "each index owned once");
  // all_reduce sum and mean, broadcast.
  const double P = ctx.size(), r = ctx.rank();
  auto t = from_vector<double>("t", {3}, {r + 1, 2, 3});
  ctx.all_reduce(t, Reduce::Sum);
  const auto s = to_vector(t);
  checks.expect(s[0] == P * (P + 1) / 2 && s[1] == 2 * P && s[2] == 3 * P, "all_reduce sum");
  auto m = from_vector<double>("m", {3}, {r + 1, 2, 3});
  ctx.all_reduce(m, Reduce::Mean);
  const auto mv = to_vector(m);
  checks.expect(std::abs(mv[0] - (P + 1) / 2) < 1e-12 && std::abs(mv[1] - 2) < 1e-12,
                "all_reduce mean");
  auto b = from_vector<double>(
      "b", {3}, r == 0 ? std::vector<double>{10, 20, 30} : std::vector<double>{0, 0, 0});
  ctx.broadcast(b, 0);
  checks.expect(to_vector(b) == std::vector<double>({10, 20, 30}), "broadcast");
  // Mismatched sizes are an error on every rank, not a hang.
  checks.expect_throws<ShapeError>(
      [&] {
        Tensor<double> odd("odd", {ctx.rank() == 0 ? 3 : 4});
        ctx.all_reduce(odd);
        if (ctx.size() == 1) throw ShapeError("(one rank: nothing to mismatch)", "", "");
      },
      "all_reduce of different sizes");
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- test_data_fidelity_vs_stacked, test_data_fidelity_different_fidelities,
// test_gather_false_data_fidelity, test_distribute_helper_data_fidelity ----------------------
TYPED_TEST(Api, DataFidelityMatchesTheSingleProcessSum) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  for (auto red : {Reduce::Sum, Reduce::Mean})
    for (int kind = 0; kind < 2; ++kind) {
      const std::string what =
          std::string(kind ? "L1" : "L2") + ", " + to_string(red) + ", " + type_name<T>();
      checks.no_throw(
          [&] {
            auto A = distribute(test_physics_list<T>(3), ctx);
            auto ref = test_stack<T>(3);
            std::shared_ptr<DataFidelity<T>> f;
            if (kind)
              f = std::make_shared<L1<T>>();
            else
              f = std::make_shared<L2<T>>(0.5);
            DistributeOptions<T> o;
            o.reduction = red;
            auto F = distribute(f, ctx, o);
            const auto x = test::random_tensor<T>({2, 1, 16, 16}, 51);
            const auto y = A->A(test::random_tensor<T>({2, 1, 16, 16}, 52));
            Tensor<T> fn_ref("fn_ref", {2}), grad_ref("grad_ref", x.shape());
            for (std::int64_t i = 0; i < 3; ++i) {
              axpby(T(1), f->fn(x, y[static_cast<std::size_t>(i)], ref[i]), T(1), fn_ref);
              axpby(T(1), f->grad(x, y[static_cast<std::size_t>(i)], ref[i]), T(1), grad_ref);
            }
            if (red == Reduce::Mean) {
              scale(T(1) / T(3), fn_ref);
              scale(T(1) / T(3), grad_ref);
            }
            const auto fn = F->fn(x, y, *A);
            const auto g = F->grad(x, y, *A);
            checks.expect(rel_diff(fn, fn_ref) <= 10 * tol<T>(), what + ": fn");
            checks.expect(rel_diff(g, grad_ref) <= 10 * tol<T>(), what + ": grad");
            // gather = false: partial sums (no division for mean, as deepinv).
            Tensor<T> fs = sum_over_ranks(F->fn(x, y, *A, false), fn.shape());
            Tensor<T> gs = sum_over_ranks(F->grad(x, y, *A, false), g.shape());
            if (red == Reduce::Mean) {
              scale(T(1) / T(3), fs);
              scale(T(1) / T(3), gs);
            }
            checks.expect(rel_diff(fs, fn) <= 10 * tol<T>(), what + ": fn partials");
            checks.expect(rel_diff(gs, g) <= 10 * tol<T>(), what + ": grad partials");
            // Only this rank's measurements are accepted too.
            const auto y_local = A->A(test::random_tensor<T>({2, 1, 16, 16}, 52), false);
            checks.expect(test::bitwise_equal(F->fn(x, y_local, *A), fn), what + ": local y");
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

// Gradients against central finite differences of fn (double; L2 and L1 away from kinks).
TEST(Api, DataFidelityGradientsMatchFiniteDifferences) {
  using T = double;
  auto& ctx = test::context();
  RankChecks checks;
  for (int kind = 0; kind < 2; ++kind) {
    const std::string what = kind ? "L1" : "L2";
    checks.no_throw(
        [&] {
          const std::int64_t C = 2, H = 12, W = 12;
          auto make = [&](std::int64_t i) { return test::mixed_operator<T>(i, C, H, W); };
          DistributedStackedLinearPhysics<T> A(ctx, 4, make);
          std::shared_ptr<DataFidelity<T>> f;
          if (kind)
            f = std::make_shared<L1<T>>();
          else
            f = std::make_shared<L2<T>>(0.7);
          DistributedDataFidelity<T> F(ctx, f);
          const auto x = test::random_tensor<T>({1, C, H, W}, 61);
          const auto y = A.A(test::random_tensor<T>({1, C, H, W}, 62));
          const auto g = F.grad(x, y, A);
          for (std::uint64_t trial = 0; trial < 3; ++trial) {
            const auto d = test::random_tensor<T>(x.shape(), 70 + trial);
            const double h = 1e-6;
            Tensor<T> xp = clone(x), xm = clone(x);
            axpby(h, d, T(1), xp);
            axpby(-h, d, T(1), xm);
            const double fd =
                (to_vector(F.fn(xp, y, A))[0] - to_vector(F.fn(xm, y, A))[0]) / (2 * h);
            const double an = static_cast<double>(test::dot(g, d));
            checks.expect(std::abs(fd - an) <= 1e-5 * std::max(1.0, std::abs(an)),
                          what + ": finite difference " + std::to_string(fd) + " vs <grad, d> " +
                              std::to_string(an));
          }
        },
        what);
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// A factory fidelity built from the physics follows its partition and gives the round-robin
// stack's values; one built for round-robin fails on a block stack, on every rank.
TEST(Api, FidelityFactoryFollowsThePhysicsPartition) {
  using T = double;
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t C = 1, H = 12, W = 12, n = 5;
  auto make = [&](std::int64_t i) { return test::mixed_operator<T>(i, C, H, W); };
  auto fidelity = [](std::int64_t i) {
    return std::make_unique<L2<T>>(0.5 + 0.25 * static_cast<double>(i));
  };
  checks.no_throw(
      [&] {
        DistributedStackedLinearPhysics<T> rr(ctx, n, make);
        DistributedOptions o;
        o.partition = Partition::Block;
        DistributedStackedLinearPhysics<T> block(ctx, n, make, o);
        DistributedDataFidelity<T> F_rr(ctx, fidelity, n);
        DistributedDataFidelity<T> F_block(ctx, fidelity, block);
        const auto x = test::random_tensor<T>({1, C, H, W}, 91);
        const auto y = rr.A(test::random_tensor<T>({1, C, H, W}, 92));
        const double tol = 1e-12;
        const auto f0 = to_vector(F_rr.fn(x, y, rr)), f1 = to_vector(F_block.fn(x, y, block));
        checks.expect(std::abs(f0[0] - f1[0]) <= tol * (1 + std::abs(f0[0])), "fn");
        const auto g0 = F_rr.grad(x, y, rr), g1 = F_block.grad(x, y, block);
        checks.expect(test::close_to(g1, g0, tol), "grad");
        if (block.owners() != rr.owners())
          checks.expect_throws<Error>([&] { (void)F_rr.fn(x, y, block); },
                                      "a round-robin fidelity on a block stack");
      },
      "partition");
  KINV_EXPECT_ALL_RANKS(checks);
}

// A factory fidelity built for another number of operators: the same error on every rank.
TEST(ApiErrors, FidelityFactoryForAnotherStackFailsEveryRank) {
  using T = float;
  auto& ctx = test::context();
  RankChecks checks;
  auto A = distribute(test_physics_list<T>(3), ctx);
  DistributedDataFidelity<T> F(
      ctx, [](std::int64_t) { return std::make_unique<L2<T>>(); }, 4);
  const auto x = test::random_tensor<T>({1, 1, 16, 16}, 81);
  const auto y = A->A(x);
  checks.expect_throws<Error>([&] { (void)F.fn(x, y, *A); }, "fn with 3 operators");
  checks.expect_throws<Error>([&] { (void)F.grad(x, y, *A); }, "grad with 3 operators");
  KINV_EXPECT_ALL_RANKS(checks);
}

}  // namespace
}  // namespace kinv
