// The published list of bad inputs (docs/errors.md): one test per case, named after its number
// there, run at 1 to 5 ranks. Each checks that every rank gets the documented error (type and
// message), that no rank is left waiting, and, where the object survives, that it works after.
// Cases about one rank differing from the others need two ranks; at one rank they check that
// the same call succeeds (nothing differs).
#include <kinv/comm/mpi_interop.hpp>
#include <kinv/core/fault.hpp>
#include <kinv/distributed/data_fidelity.hpp>
#include <kinv/distributed/stacked_physics.hpp>
#include <kinv/operators/denoising.hpp>
#include <kinv/optim/solvers.hpp>

#include "mpi_test.hpp"
#include "test_operators.hpp"

#include <cmath>
#include <limits>

namespace kinv {
namespace {

using test::all_strategies;
using test::RankChecks;
namespace fault = impl::fault;

/// Runs f; when it throws E, hands the exception to inspect(e); records a failure when it
/// throws nothing or something else.
template <class E, class F, class G>
void inspect_error(RankChecks& checks, F&& f, const std::string& what, G&& inspect) {
  try {
    f();
    checks.fail(what + ": no exception");
  } catch (const E& e) {
    inspect(e);
  } catch (const std::exception& e) {
    checks.fail(what + ": wrong exception type: " + e.what());
  }
}

/// Runs f and records a failure unless it throws E with `needle` in its message.
template <class E = Error, class F>
void expect_error(RankChecks& checks, F&& f, const std::string& what, const std::string& needle) {
  inspect_error<E>(checks, std::forward<F>(f), what, [&](const E& e) {
    const std::string m = e.what();
    checks.expect(m.find(needle) != std::string::npos,
                  what + ": message '" + m + "' does not say '" + needle + "'");
  });
}

/// As expect_error when `differs` (the ranks disagree), else expects no exception.
template <class E = Error, class F>
void expect_error_if(bool differs, RankChecks& checks, F&& f, const std::string& what,
                     const std::string& needle) {
  if (differs)
    expect_error<E>(checks, std::forward<F>(f), what, needle);
  else
    checks.no_throw(std::forward<F>(f), what + " (one rank: nothing differs)");
}

auto mixed = [](std::int64_t i) { return test::mixed_operator<double>(i, 1, 8, 8); };

Tensor<double> image(std::uint64_t seed = 1, std::int64_t H = 8, std::int64_t W = 8) {
  return test::random_tensor<double>({1, 1, H, W}, seed);
}

// A non-linear operator: y = x * x.
struct SquareKernel {
  Kokkos::View<const double*, MemorySpace> x;
  Kokkos::View<double*, MemorySpace> y;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const { y(i) = x(i) * x(i); }
};
class Square : public Physics<double> {
 public:
  std::string name() const override { return "Square"; }
  Shape output_shape(const Shape& in) const override { return in; }

 protected:
  void apply_A(const Tensor<double>& x, const Tensor<double>& y) const override {
    Kokkos::parallel_for("kinv::test::Square", impl::range(execution_space(), y.size()),
                         SquareKernel{x.view(), y.view()});
  }
};

// A linear operator whose result has `elements` values (never computed: only its shape is
// used, to make a gather buffer larger than any memory) and a chosen cost estimate.
class Declared : public LinearPhysics<double> {
 public:
  Declared(std::int64_t elements, double cost) : m_elements(elements), m_cost(cost) {}
  std::string name() const override { return "Declared"; }
  double cost_estimate() const override { return m_cost; }
  Shape output_shape(const Shape&) const override { return Shape{1, m_elements}; }
  Shape input_shape(const Shape&) const override { return Shape{1, 1, 8, 8}; }

 protected:
  void apply_A(const Tensor<double>&, const Tensor<double>&) const override {}
  void apply_A_adjoint(const Tensor<double>&, const Tensor<double>&, bool) const override {}

 private:
  std::int64_t m_elements;
  double m_cost;
};

// ---------------------------------------------------------------------------------------------
// Building a stack

TEST(Errors, E01_EmptyStack) {
  auto& ctx = test::context();
  RankChecks checks;
  for (std::int64_t n : {0, -3})
    expect_error<RemoteError>(
        checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, n, mixed); },
        "num_operators " + std::to_string(n), "num_operators must be >= 1");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E02_NumberOfOperatorsDiffersAcrossRanks) {
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t n = ctx.rank() == ctx.size() - 1 ? 5 : 4;
  expect_error_if<ValueError>(
      ctx.size() > 1, checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, n, mixed); },
      "num_operators 4 or 5", "num_operators differs across ranks");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E03_FactoryThrowsOnOneRank) {
  auto& ctx = test::context();
  RankChecks checks;
  auto factory = [](std::int64_t i) -> std::unique_ptr<LinearPhysics<double>> {
    if (i == 4) throw std::runtime_error("no calibration file for coil 4");
    return mixed(i);
  };
  inspect_error<RemoteError>(
      checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, 6, factory); }, "factory",
      [&](const RemoteError& e) {
        checks.expect(e.rank() == 4 % ctx.size(), "names the owner of operator 4: " + e.message());
        checks.expect(e.operator_index() == 4, "names operator 4: " + e.message());
        checks.expect(e.origin_kind() == "std::runtime_error", "origin kind: " + e.origin_kind());
        checks.expect(e.message().find("no calibration file for coil 4") != std::string::npos,
                      "carries the factory's message: " + e.message());
      });
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E04_FactoryReturnsNull) {
  auto& ctx = test::context();
  RankChecks checks;
  expect_error<RemoteError>(
      checks,
      [&] {
        DistributedStackedLinearPhysics<double> A(
            ctx, 4, [](std::int64_t i) -> std::unique_ptr<LinearPhysics<double>> {
              return i == 2 ? nullptr : mixed(i);
            });
      },
      "null operator", "the factory returned no operator");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E05_NonLinearOperatorInALinearStack) {
  auto& ctx = test::context();
  RankChecks checks;
  expect_error<RemoteError>(
      checks,
      [&] {
        DistributedStackedLinearPhysics<double> A(
            ctx, 3, [](std::int64_t i) -> std::unique_ptr<Physics<double>> {
              if (i == 1) return std::make_unique<Square>();
              return mixed(i);
            });
      },
      "Square in a linear stack", "which is not a LinearPhysics");
  // The same operators make a valid non-linear stack.
  checks.no_throw(
      [&] {
        DistributedStackedPhysics<double> A(ctx, 3,
                                            [](std::int64_t i) -> std::unique_ptr<Physics<double>> {
                                              if (i == 1) return std::make_unique<Square>();
                                              return mixed(i);
                                            });
        (void)A.A(image());
      },
      "non-linear stack");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E06_OutOfMemoryInAFactoryOnOneRank) {
  auto& ctx = test::context();
  RankChecks checks;
  const int last = ctx.size() - 1;
  // A real allocation failure: 2^60 bytes on the last rank.
  auto factory = [&](std::int64_t i) -> std::unique_ptr<LinearPhysics<double>> {
    if (ctx.rank() == last && i == last) {
      Kokkos::View<double*, MemorySpace> table("kinv::test::huge_table", std::size_t(1) << 57);
      (void)table;
    }
    return mixed(i);
  };
  inspect_error<RemoteError>(
      checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, ctx.size(), factory); },
      "huge table",
      [&](const RemoteError& e) {
        checks.expect(e.rank() == last, "names the rank: " + std::string(e.what()));
        checks.expect(e.operator_index() == last, "names the operator: " + std::string(e.what()));
        checks.expect(e.message().find("huge_table") != std::string::npos,
                      "carries Kokkos' message: " + e.message());
      });
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---------------------------------------------------------------------------------------------
// Options

TEST(Errors, E07_UnknownStrategyName) {
  RankChecks checks;
  expect_error<ValueError>(
      checks, [] { (void)parse_gather_strategy("allgather"); }, "allgather",
      "valid names are 'naive', 'concatenated', 'broadcast'");
  expect_error<ValueError>(
      checks, [] { (void)parse_partition("random"); }, "random partition", "round_robin");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E08_InvalidStrategyValue) {
  auto& ctx = test::context();
  RankChecks checks;
  DistributedOptions o;
  o.gather_strategy = static_cast<GatherStrategy>(7);
  expect_error<RemoteError>(
      checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, 3, mixed, o); },
      "strategy 7 at construction", "invalid GatherStrategy value 7");
  DistributedStackedLinearPhysics<double> A(ctx, 3, mixed);
  expect_error<RemoteError>(
      checks, [&] { A.set_gather_strategy(static_cast<GatherStrategy>(7)); },
      "strategy 7 in set_gather_strategy", "invalid GatherStrategy value 7");
  checks.no_throw([&] { (void)A.A(image()); }, "A after the error");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E09_StrategyDiffersAcrossRanksAtConstruction) {
  auto& ctx = test::context();
  RankChecks checks;
  const bool odd = ctx.rank() == ctx.size() - 1;
  expect_error_if<ValueError>(
      ctx.size() > 1, checks,
      [&] {
        DistributedStackedLinearPhysics<double> A(
            ctx, 4, mixed,
            test::with_strategy(odd ? GatherStrategy::Broadcast : GatherStrategy::Naive));
      },
      "naive vs broadcast", "gather_strategy differs across ranks");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E10_SetGatherStrategyDiffersAcrossRanks) {
  auto& ctx = test::context();
  RankChecks checks;
  const bool odd = ctx.rank() == ctx.size() - 1;
  auto ref = test::stacked_reference<double>(5, mixed);
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<double> A(ctx, 5, mixed, test::with_strategy(s));
    const Tensor<double> x = image();
    checks.no_throw([&] { (void)A.A(x); }, to_string(s) + ": first call");  // steady state next
    const GatherStrategy other =
        s == GatherStrategy::Broadcast ? GatherStrategy::Naive : GatherStrategy::Broadcast;
    expect_error_if<ValueError>(
        ctx.size() > 1, checks, [&] { A.set_gather_strategy(odd ? other : s); },
        to_string(s) + ": one rank switches", "the strategy differs across ranks");
    checks.expect(A.gather_strategy() == (ctx.size() > 1 || !odd ? s : other),
                  to_string(s) + ": the strategy stays as it was");
    const auto y = A.A(x), yr = ref.A(x);
    checks.expect(test::bitwise_equal(y, yr), to_string(s) + ": A after the error");
    // Every rank switching together is fine, and the results stay exact.
    checks.no_throw([&] { A.set_gather_strategy(other); }, to_string(s) + ": all switch");
    checks.expect(test::bitwise_equal(A.A(x), yr), to_string(s) + ": A after switching");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E11_PartitionOrOptionsDifferAcrossRanks) {
  auto& ctx = test::context();
  RankChecks checks;
  const bool odd = ctx.rank() == ctx.size() - 1;
  const bool many = ctx.size() > 1;
  DistributedOptions o;
  o.partition = odd ? Partition::Block : Partition::RoundRobin;
  expect_error_if<ValueError>(
      many, checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, 4, mixed, o); },
      "partition", "partition differs across ranks");
  o = DistributedOptions{};
  o.partition = Partition::CostBalanced;
  o.costs = {1, 2, 3, odd ? 5.0 : 4.0};
  expect_error_if<ValueError>(
      many, checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, 4, mixed, o); }, "costs",
      "costs differs across ranks");
  o = DistributedOptions{};
  o.reproducible = odd;
  expect_error_if<ValueError>(
      many, checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, 4, mixed, o); },
      "reproducible", "reproducible differs across ranks");
  o = DistributedOptions{};
  o.validation = odd ? Validation::EveryCall : Validation::FirstCallOfEachShape;
  expect_error_if<ValueError>(
      many, checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, 4, mixed, o); },
      "validation", "validation differs across ranks");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E12_InvalidCosts) {
  auto& ctx = test::context();
  RankChecks checks;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::vector<double>, std::string>> cases = {
      {{1, 2, 3}, "3 costs"},
      {{1, -2, 3, 4}, "negative"},
      {{1, nan, 3, 4}, "NaN"},
      {{1, 2, inf, 4}, "Inf"}};
  for (const auto& c : cases) {
    DistributedOptions o;
    o.partition = Partition::CostBalanced;
    o.costs = c.first;
    expect_error<RemoteError>(
        checks, [&] { DistributedStackedLinearPhysics<double> A(ctx, 4, mixed, o); }, c.second,
        "partition cost_balanced");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E13_InvalidCostEstimate) {
  auto& ctx = test::context();
  RankChecks checks;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double bad : {nan, -1.0, std::numeric_limits<double>::infinity()}) {
    DistributedOptions o;
    o.partition = Partition::CostBalanced;  // no costs given: the operators' estimates
    expect_error<RemoteError>(
        checks,
        [&] {
          DistributedStackedLinearPhysics<double> A(
              ctx, 4,
              [&](std::int64_t i) -> std::unique_ptr<LinearPhysics<double>> {
                return std::make_unique<Declared>(4, i == 3 ? bad : 1.0);
              },
              o);
        },
        "estimate " + std::to_string(bad), "cost_estimate() must be finite and >= 0");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---------------------------------------------------------------------------------------------
// Inputs

TEST(Errors, E14_WrongInputShapeOnEveryRank) {
  auto& ctx = test::context();
  RankChecks checks;
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<double> A(ctx, 4, mixed, test::with_strategy(s));
    checks.no_throw([&] { (void)A.A(image()); }, to_string(s) + ": first call");
    // Operator 0 is an 8x8 mask: a 7x8 image does not fit it.
    expect_error<Error>(
        checks, [&] { (void)A.A(image(1, 7, 8)); }, to_string(s) + ": A of 7x8", "(1, 1, 7, 8)");
    expect_error<Error>(
        checks, [&] { (void)A.A_adjoint_A(image(1, 7, 8)); }, to_string(s) + ": A_adjoint_A",
        "(1, 1, 7, 8)");
    checks.no_throw([&] { (void)A.A(image()); }, to_string(s) + ": A after the error");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E15_InputShapeDiffersOnOneRank) {
  auto& ctx = test::context();
  RankChecks checks;
  const bool odd = ctx.rank() == ctx.size() - 1;
  // Circular blurs take any image size, so each rank's shape is valid on its own.
  auto blur = [](std::int64_t i) {
    return std::make_unique<Blur<double>>(gaussian_kernel<double>(0.5 + 0.1 * i),
                                          Padding::Circular);
  };
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<double> A(ctx, 4, blur, test::with_strategy(s));
    for (int rep = 0; rep < 2; ++rep) {  // the first call, then the steady state
      expect_error_if<ShapeError>(
          ctx.size() > 1, checks, [&] { (void)A.A(odd ? image(1, 9, 8) : image()); },
          to_string(s) + ": 9x8 on one rank, call " + std::to_string(rep),
          "input shape differs across ranks");
      checks.no_throw([&] { (void)A.A(image()); }, to_string(s) + ": A after the error");
    }
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E16_ZeroSizeInput) {
  auto& ctx = test::context();
  RankChecks checks;
  const Tensor<double> empty("kinv::test::empty", Shape{1, 1, 0, 8});
  // kinv's operators are defined on non-empty images: an empty input is a ShapeError (on every
  // rank), an empty image size at construction a ValueError.
  auto denoise = [](std::int64_t) { return std::make_unique<Denoising<double>>(); };
  auto blur = [](std::int64_t) {
    return std::make_unique<Blur<double>>(gaussian_kernel<double>(1.0), Padding::Circular);
  };
  expect_error<ValueError>(
      checks,
      [] {
        Inpainting<double> m(Shape{1, 0, 8}, 0.5);
      },
      "empty mask", "is empty");
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<double> D(ctx, 3, denoise, test::with_strategy(s));
    DistributedStackedLinearPhysics<double> B(ctx, 2, blur, test::with_strategy(s));
    expect_error<RemoteError>(
        checks, [&] { (void)D.A(empty); }, to_string(s) + ": Denoising of an empty image",
        "a non-empty signal");
    expect_error<RemoteError>(
        checks, [&] { (void)B.A(empty); }, to_string(s) + ": Blur of an empty image",
        "expected (B, C, H >= ");
    checks.no_throw([&] { (void)D.A(image()), (void)B.A(image()); },
                    to_string(s) + ": A afterwards");
    // An operator of the user's that gives zero-size results: the stack gathers them.
    checks.no_throw(
        [&] {
          DistributedStackedLinearPhysics<double> Z(
              ctx, 4, [](std::int64_t) { return std::make_unique<Declared>(0, 1.0); },
              test::with_strategy(s));
          for (int rep = 0; rep < 2; ++rep) {
            const auto y = Z.A(image());
            checks.expect(y.size() == 4, to_string(s) + ": 4 results");
            for (const auto& t : y)
              checks.expect(t.shape() == (Shape{1, 0}), to_string(s) + ": zero-size results");
          }
        },
        to_string(s) + ": zero-size results");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E17_MeasurementListOfTheWrongLength) {
  auto& ctx = test::context();
  RankChecks checks;
  DistributedStackedLinearPhysics<double> A(ctx, 5, mixed);
  TensorList<double> y = A.A(image());
  TensorList<double> shorter(y.begin(), y.end() - 1);
  if (shorter.size() == A.num_local_operators()) shorter.pop_back();  // not a local list either
  expect_error<Error>(
      checks, [&] { (void)A.A_adjoint(shorter); }, "A_adjoint of N - 1", "number of measurements");
  // The wrong length on one rank only fails every rank too.
  TensorList<double> mine = ctx.rank() == ctx.size() - 1 ? shorter : y;
  expect_error<Error>(
      checks, [&] { (void)A.A_adjoint(mine); }, "A_adjoint, one rank short",
      "number of measurements");
  checks.no_throw([&] { (void)A.A_adjoint(y); }, "A_adjoint afterwards");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E18_MeasurementOfTheWrongShape) {
  auto& ctx = test::context();
  RankChecks checks;
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<double> A(ctx, 4, mixed, test::with_strategy(s));
    const Tensor<double> x = image();
    TensorList<double> y = A.A(x);
    TensorList<double> bad(y.begin(), y.end());
    bad[1] = test::random_tensor<double>({1, 1, 3, 3}, 5);  // operator 1 is a crop of 8x8
    expect_error<Error>(
        checks, [&] { (void)A.A_adjoint(bad); }, to_string(s) + ": A_adjoint", "");
    expect_error<Error>(
        checks, [&] { (void)A.A_vjp(x, bad); }, to_string(s) + ": A_vjp", "cotangent shape");
    checks.no_throw([&] { (void)A.A_adjoint(y); }, to_string(s) + ": A_adjoint afterwards");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E19_ReductionOverResultsOfDifferentShapes) {
  auto& ctx = test::context();
  RankChecks checks;
  DistributedStackedLinearPhysics<double> A(ctx, 4, mixed);  // masks, crops, blurs: 3 shapes
  // Found on one rank (its own operators differ: a RemoteError) or when the ranks compare
  // their sums' shapes (a ShapeError), depending on the partition.
  expect_error<Error>(
      checks, [&] { (void)A.A(image(), true, Reduce::Sum); }, "A(reduce = sum)", "shape");
  checks.no_throw([&] { (void)A.A(image()); }, "A afterwards");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E20_NaNOrInfWhereItMatters) {
  auto& ctx = test::context();
  RankChecks checks;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  expect_error<ValueError>(
      checks, [&] { GaussianNoise<double> n(inf); }, "Gaussian sigma Inf", "finite");
  expect_error<ValueError>(
      checks, [&] { GaussianNoise<double> n(nan); }, "Gaussian sigma NaN", "finite");
  expect_error<ValueError>(
      checks, [&] { PoissonNoise<double> n(nan); }, "Poisson gain NaN", "finite");
  expect_error<ValueError>(
      checks, [&] { UniformNoise<double> n(inf); }, "uniform a Inf", "finite");
  // A NaN in the measurements of a least-squares solve: refused on every rank, not iterated.
  DistributedStackedLinearPhysics<double> A(ctx, 4, mixed);
  TensorList<double> y = A.A(image());
  Tensor<double> bad = clone(y[2]);
  {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), bad.view());
    h(3) = nan;
    Kokkos::deep_copy(bad.view(), h);
  }
  TensorList<double> ybad(y.begin(), y.end());
  ybad[2] = bad;
  DistributedDaggerOptions o;
  o.local_only = false;
  expect_error<ValueError>(
      checks, [&] { (void)A.A_dagger(ybad, o); }, "A_dagger with a NaN", "NaN or Inf");
  checks.no_throw([&] { (void)A.A_dagger(y, o); }, "A_dagger afterwards");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E21_NoiseFailsOnOneOperator) {
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) {
    auto op = mixed(i);
    op->set_noise_model(
        std::make_shared<PoissonNoise<double>>(1.0, true, /*clip_positive=*/i != 2));
    return op;
  };
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<double> A(ctx, 4, make, test::with_strategy(s));
    inspect_error<RemoteError>(
        checks,
        [&] {
          (void)A.forward(test::random_tensor<double>({1, 1, 8, 8}, 3, -1.0, -0.5));
        },
        to_string(s),
        [&](const RemoteError& e) {
          checks.expect(e.operator_index() == 2,
                        to_string(s) + ": names operator 2: " + e.message());
          checks.expect(e.rank() == 2 % ctx.size(), to_string(s) + ": names its rank");
          checks.expect(e.message().find("non-negative") != std::string::npos,
                        to_string(s) + ": says why: " + e.message());
        });
    checks.no_throw(
        [&] {
          (void)A.forward(test::random_tensor<double>({1, 1, 8, 8}, 3, 0.0, 1.0));
        },
        to_string(s) + ": forward afterwards");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---------------------------------------------------------------------------------------------
// Communication faults (injected on one rank)

TEST(Errors, E22_MalformedNaiveRecords) {
  auto& ctx = test::context();
  RankChecks checks;
  const int last = ctx.size() - 1;
  auto ref = test::stacked_reference<double>(5, mixed);
  const Tensor<double> x = image();
  for (auto point : {fault::Point::NaiveCorruptBlock, fault::Point::NaiveWrongSize}) {
    const std::string what =
        point == fault::Point::NaiveCorruptBlock ? "corrupted block" : "block of the wrong size";
    DistributedStackedLinearPhysics<double> A(ctx, 5, mixed,
                                              test::with_strategy(GatherStrategy::Naive));
    for (int rep = 0; rep < 2; ++rep) {  // the first call, then the steady state
      if (ctx.rank() == last) fault::arm(point);
      inspect_error<Error>(
          checks, [&] { (void)A.A(x); }, what,
          [&](const Error& e) {
            const std::string m = e.what();
            checks.expect(m.find("naive gather") != std::string::npos &&
                              m.find("rank " + std::to_string(last)) != std::string::npos,
                          what + ": names the gather and the rank: " + m);
          });
      fault::disarm_all();
      checks.expect(test::bitwise_equal(A.A(x), ref.A(x)), what + ": A afterwards");
    }
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E23_OutOfMemoryForTheGatherBuffers) {
  auto& ctx = test::context();
  RankChecks checks;
  const int last = ctx.size() - 1;
  auto ref = test::stacked_reference<double>(4, mixed);
  const Tensor<double> x = image();
  for (auto s : all_strategies) {
    // Injected on one rank, at the first call of a shape (where buffers are allocated).
    DistributedStackedLinearPhysics<double> A(ctx, 4, mixed, test::with_strategy(s));
    if (ctx.rank() == last) fault::arm(fault::Point::GatherAllocation);
    inspect_error<RemoteError>(
        checks, [&] { (void)A.A(x); }, to_string(s),
        [&](const RemoteError& e) {
          checks.expect(e.rank() == last, to_string(s) + ": names the rank: " + e.message());
          checks.expect(e.origin_kind() == "std::bad_alloc", to_string(s) + ": " + e.origin_kind());
        });
    fault::disarm_all();
    checks.expect(test::bitwise_equal(A.A(x), ref.A(x)), to_string(s) + ": A afterwards");
    if (ctx.rank() == last) fault::arm(fault::Point::GatherAllocation);
    expect_error<RemoteError>(
        checks, [&] { (void)A.A_adjoint_A(x); }, to_string(s) + ": reduction", "bad_alloc");
    fault::disarm_all();
    checks.no_throw([&] { (void)A.A_adjoint_A(x); }, to_string(s) + ": reduction afterwards");
    // A real one: results of 2^57 doubles on every operator.
    DistributedStackedLinearPhysics<double> H(
        ctx, 3, [](std::int64_t) { return std::make_unique<Declared>(std::int64_t(1) << 57, 1.0); },
        test::with_strategy(s));
    expect_error<Error>(
        checks, [&] { (void)H.A(x); }, to_string(s) + ": 2^57 values", "");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---------------------------------------------------------------------------------------------
// Calls

TEST(Errors, E24_DifferentCallsOnDifferentRanks) {
  auto& ctx = test::context();
  RankChecks checks;
  const bool odd = ctx.rank() == ctx.size() - 1;
  const Tensor<double> x = image();
  // First calls agree on their shapes: a rank in another call is caught there.
  {
    DistributedStackedLinearPhysics<double> A(ctx, 4, mixed);
    const TensorList<double> y = test::stacked_reference<double>(4, mixed).A(x);
    expect_error_if<ValueError>(
        ctx.size() > 1, checks,
        [&] {
          if (odd)
            (void)A.A_adjoint(y);
          else
            (void)A.A(x);
        },
        "A vs A_adjoint", "is in a different call");
  }
  // In the steady state the check is skipped; Validation::EveryCall makes every call agree.
  for (auto s : all_strategies) {
    DistributedOptions o = test::with_strategy(s);
    o.validation = Validation::EveryCall;
    DistributedStackedLinearPhysics<double> A(ctx, 4, mixed, o);
    checks.no_throw([&] { (void)A.A(x), (void)A.A_adjoint_A(x); }, to_string(s) + ": warm-up");
    expect_error_if<ValueError>(
        ctx.size() > 1, checks,
        [&] {
          if (odd)
            (void)A.A_adjoint_A(x);
          else
            (void)A.A(x);
        },
        to_string(s) + ": A vs A_adjoint_A in the steady state", "calls");
    checks.no_throw([&] { (void)A.A(x); }, to_string(s) + ": A afterwards");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E25_FidelityForAnotherStack) {
  auto& ctx = test::context();
  RankChecks checks;
  DistributedStackedLinearPhysics<double> A(ctx, 4, mixed);
  DistributedStackedLinearPhysics<double> B(ctx, 5, mixed);
  DistributedDataFidelity<double> f(
      ctx, [](std::int64_t) { return std::make_unique<L2<double>>(); }, 4);
  const Tensor<double> x = image();
  const TensorList<double> yb = B.A(x);
  expect_error<Error>(
      checks, [&] { (void)f.fn(x, yb, B); }, "4-operator fidelity on a 5-operator stack",
      "operators");
  checks.no_throw([&] { (void)f.fn(x, A.A(x), A); }, "the right stack");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E26_ContextUsedAfterFinalize) {
  auto& world = test::context();
  RankChecks checks;
  MPI_Comm dup;
  MPI_Comm_dup(comm::to_mpi(world.comm()), &dup);
  {
    DistributedContext ctx(comm::from_mpi(dup));
    DistributedStackedLinearPhysics<double> A(ctx, 3, mixed);
    const Tensor<double> x = image();
    checks.no_throw([&] { (void)A.A(x); }, "before finalize");
    ctx.finalize();
    expect_error<StateError>(
        checks, [&] { (void)A.A(x); }, "stack after finalize", "finalised");
    expect_error<StateError>(
        checks, [&] { (void)ctx.comm(); }, "context after finalize", "after finalize");
    expect_error<StateError>(
        checks, [&] { DistributedStackedLinearPhysics<double> B(ctx, 3, mixed); },
        "new stack on a finalised context", "finalize");
    checks.no_throw([&] { ctx.finalize(); }, "finalize twice");
  }
  MPI_Comm_free(&dup);
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Errors, E27_TensorsThatDoNotFit) {
  RankChecks checks;
  // A View whose size is not the shape's.
  Kokkos::View<double*, MemorySpace> v("kinv::test::v", 12);
  expect_error<ShapeError>(
      checks,
      [&] {
        Tensor<double> t(v, Shape{1, 1, 3, 5});
      },
      "12 values as 3x5", "elements");
  // Not row-major, not contiguous.
  Kokkos::View<double**, Kokkos::LayoutLeft, MemorySpace> left("kinv::test::left", 3, 4);
  expect_error<ValueError>(
      checks, [&] { Tensor<double> t(left); }, "LayoutLeft View", "row-major");
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> big("kinv::test::big", 6, 4);
  auto part = Kokkos::subview(big, Kokkos::ALL(), std::make_pair(0, 2));
  expect_error<ValueError>(
      checks, [&] { Tensor<double> t(part); }, "strided subview", "not contiguous");
  // Shapes of more than Shape::max_rank extents, negative extents.
  expect_error<ValueError>(
      checks, [&] { Shape s(std::vector<std::int64_t>(9, 1)); }, "rank 9", "maximum rank");
  expect_error<ValueError>(
      checks,
      [&] {
        (void)Shape{2, 3}.with(1, -1);
      },
      "negative extent", "negative extent");
  KINV_EXPECT_ALL_RANKS(checks);
}

}  // namespace
}  // namespace kinv
