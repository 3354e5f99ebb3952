// The gather strategies' steady state: naive blocks built and read in place (values aligned,
// slots of last call's sizes that grow and shrink with the results), status words that travel
// with the data (broadcast included, from ranks that own no operator too), and an operator
// failing on one rank after the layout is known raised as the same error on every rank.
#include <kinv/distributed/stacked_physics.hpp>

#include "mpi_test.hpp"
#include "test_operators.hpp"

#include <atomic>
#include <cstdint>

namespace kinv {
namespace {

using test::all_strategies;
using test::RankChecks;

template <class T>
class Gather : public ::testing::Test {};
TYPED_TEST_SUITE(Gather, test::ScalarTypes);

// Crops of odd sizes (so float blocks need padding before the next record's values), on inputs
// whose size changes from call to call: blocks grow (a size exchange), repeat, and shrink. The
// 128 x 96 inputs take the broadcast strategy past broadcast_blocking_bytes (non-blocking,
// overlapped broadcasts); the others stay below it (compute first, blocking broadcasts).
TYPED_TEST(Gather, EveryStrategyMatchesTheStackedReferenceWhileBlocksGrowAndShrink) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t n = 5;
  auto make = [](std::int64_t i) { return std::make_unique<test::Crop<T>>(1 + i % 3, i % 2); };
  auto ref = test::stacked_reference<T>(n, make);
  const Shape inputs[] = {{1, 1, 8, 8},    {1, 1, 8, 8}, {1, 1, 12, 9},  {1, 1, 12, 9},
                          {1, 2, 5, 7},    {1, 1, 8, 8}, {2, 1, 16, 15}, {1, 1, 128, 96},
                          {1, 1, 128, 96}, {1, 1, 6, 4}, {1, 1, 6, 4}};
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<T> A(ctx, n, make, test::with_strategy(s));
    std::uint64_t seed = 1;
    for (const Shape& in : inputs) {
      const Tensor<T> x = test::random_tensor<T>(in, seed++);
      const std::string what = to_string(s) + ", input " + in.to_string();
      checks.no_throw(
          [&] {
            const TensorList<T> y = A.A(x);
            const TensorList<T> yr = ref.A(x);
            checks.expect(y.size() == yr.size(), what + ": result count");
            for (std::size_t i = 0; i < y.size() && i < yr.size(); ++i) {
              checks.expect(y[i].shape() == yr[i].shape(), what + ": shape " + std::to_string(i));
              checks.expect(test::bitwise_equal(y[i], yr[i]),
                            what + ": values " + std::to_string(i));
              // Aligned like a lone allocation, so that vendor libraries pick the same kernels.
              checks.expect(reinterpret_cast<std::uintptr_t>(y[i].data()) % comm::slot_bytes == 0,
                            what + ": result " + std::to_string(i) + " at a 64-byte boundary");
            }
          },
          what);
    }
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Gather, NaiveSteadyStateReusesBuffersButNeverOverwritesHeldResults) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) { return test::mixed_operator<T>(i, 1, 8, 8); };
  auto ref = test::stacked_reference<T>(3, make);
  checks.no_throw(
      [&] {
        DistributedStackedLinearPhysics<T> A(ctx, 3, make,
                                             test::with_strategy(GatherStrategy::Naive));
        const Tensor<T> x1 = test::random_tensor<T>({1, 1, 8, 8}, 1);
        const Tensor<T> x2 = test::random_tensor<T>({1, 1, 8, 8}, 2);
        const T* p1 = A.A(x1)[0].data();
        const T* p2 = A.A(x2)[0].data();
        const T* p3 = A.A(x1)[0].data();
        checks.expect(p1 != nullptr && p2 == p1 && p3 == p1,
                      "steady state allocates a new result buffer");
        const TensorList<T> held = A.A(x1);
        const TensorList<T> other = A.A(x2);
        const TensorList<T> third = A.A(x2);
        const TensorList<T> r1 = ref.A(x1), r2 = ref.A(x2);
        for (std::size_t i = 0; i < r1.size(); ++i) {
          checks.expect(test::bitwise_equal(held[i], r1[i]), "held result overwritten");
          checks.expect(
              test::bitwise_equal(other[i], r2[i]) && test::bitwise_equal(third[i], r2[i]),
              "later results");
        }
        checks.expect(held[0].data() != other[0].data() && held[0].data() != third[0].data() &&
                          other[0].data() != third[0].data(),
                      "three live results must use three buffers");
      },
      "naive");
  KINV_EXPECT_ALL_RANKS(checks);
}

// Which operator refuses to run (-1: none); the same on every rank.
std::atomic<std::int64_t> g_refuse{-1};

/// A crop that throws in A when its index is g_refuse: a failure on the owning rank only.
template <class T>
class Refusing : public test::Crop<T> {
 public:
  explicit Refusing(std::int64_t i) : test::Crop<T>(1 + i % 2, 0), m_i(i) {}

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override {
    if (g_refuse.load() == m_i)
      throw ValueError("operator " + std::to_string(m_i) + " refuses this input");
    test::Crop<T>::apply_A(x, y);
  }

 private:
  std::int64_t m_i;
};

// After the layout (or the naive slots) is known, an operator fails on the rank that owns it:
// every rank gets the same error naming the owner, and the next call works again. 8 x 8 inputs
// keep the broadcast strategy's gathers below broadcast_blocking_bytes, 96 x 96 take them past.
TEST(GatherErrors, AnOperatorFailingInTheSteadyStateFailsEveryRank) {
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t n = 4;
  auto make = [](std::int64_t i) { return std::make_unique<Refusing<float>>(i); };
  auto ref = test::stacked_reference<float>(n, make);
  for (std::int64_t side : {8, 96}) {
    const Tensor<float> x = test::random_tensor<float>({1, 1, side, side}, 5);
    g_refuse = -1;
    const TensorList<float> yr = ref.A(x);
    for (auto s : all_strategies)
      for (std::int64_t bad : {std::int64_t(0), n - 1}) {
        const std::string what =
            to_string(s) + ", " + std::to_string(side) + "^2, operator " + std::to_string(bad);
        DistributedStackedLinearPhysics<float> A(ctx, n, make, test::with_strategy(s));
        g_refuse = -1;
        checks.no_throw(
            [&] {
              A.A(x);
              A.A(x);
            },
            what + ": steady state");
        g_refuse = bad;
        try {
          A.A(x);
          checks.fail(what + ": no exception");
        } catch (const RemoteError& e) {
          checks.expect(std::string(e.what()).find("refuses this input") != std::string::npos,
                        what + ": message: " + e.what());
          checks.expect(e.rank() == static_cast<int>(bad % ctx.size()),
                        what + ": names rank " + std::to_string(e.rank()));
        } catch (const std::exception& e) {
          checks.fail(what + ": wrong exception: " + e.what());
        }
        g_refuse = -1;
        checks.no_throw(
            [&] {
              const TensorList<float> y = A.A(x);
              for (std::size_t i = 0; i < yr.size(); ++i)
                checks.expect(test::bitwise_equal(y[i], yr[i]), what + ": recovered result");
            },
            what + ": after the error");
      }
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// A rank that owns no operator (one fewer operator than ranks) and whose input differs from the
// agreed one must be heard in the steady state, when its status word is its only message; with
// blocking broadcasts (8 x 8) and with overlapped ones (96 x 96 doubles: past
// broadcast_blocking_bytes).
TEST(GatherErrors, ARankWithoutOperatorsIsHeardInTheSteadyState) {
  auto& ctx = test::context();
  RankChecks checks;
  const int P = ctx.size();
  const std::int64_t n = std::max(1, P - 1);
  for (std::int64_t side : {8, 96}) {
    auto make = [side](std::int64_t i) { return test::mixed_operator<double>(i, 1, side, side); };
    const Tensor<double> good = test::random_tensor<double>({1, 1, side, side}, 1);
    const Tensor<double> other = test::random_tensor<double>({1, 1, side + 1, side}, 1);
    const Tensor<double>& mine = ctx.rank() == P - 1 ? other : good;
    for (auto s : all_strategies) {
      const std::string what = to_string(s) + ", " + std::to_string(side) + "^2";
      DistributedStackedLinearPhysics<double> A(ctx, n, make, test::with_strategy(s));
      checks.no_throw(
          [&] {
            A.A(good);
            A.A(good);
          },
          what + ": steady state");
      if (P > 1)
        checks.expect_throws<Error>([&] { A.A(mine); }, what + ": odd input on the last rank");
      checks.no_throw([&] { A.A(good); }, what + ": after the error");
    }
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

}  // namespace
}  // namespace kinv
