// Distributed stacks against the single-process reference at any rank count: every strategy
// bitwise equal for A and forward, adjoints equal to rounding, and errors on one rank raised on
// every rank.
#include <kinv/comm/mpi_interop.hpp>
#include <kinv/distributed/stacked_physics.hpp>

#include "mpi_test.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include "region_recorder.hpp"
#include "test_operators.hpp"

namespace kinv {
namespace {

using test::all_strategies;
using test::RankChecks;

template <class T>
class Distributed : public ::testing::Test {};
TYPED_TEST_SUITE(Distributed, test::ScalarTypes);

template <class T>
std::string label(GatherStrategy s, std::int64_t n) {
  return to_string(s) + ", N=" + std::to_string(n) + ", " + (sizeof(T) == 4 ? "float" : "double");
}

TYPED_TEST(Distributed, AEqualsTheStackedReferenceBitwise) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t C = 2, H = 12, W = 12;
  auto make = [&](std::int64_t i) { return test::mixed_operator<T>(i, C, H, W); };
  for (auto s : all_strategies)
    for (std::int64_t n : {1, 3, 7}) {
      const std::string what = label<T>(s, n);
      checks.no_throw(
          [&] {
            DistributedStackedLinearPhysics<T> A(ctx, n, make, test::with_strategy(s));
            auto ref = test::stacked_reference<T>(n, make);
            // Two inputs of one shape (steady state), then another shape (new layout), then back.
            const Shape shapes[] = {{2, C, H, W}, {2, C, H, W}, {1, C, H, W}, {2, C, H, W}};
            std::uint64_t seed = 1;
            for (const Shape& xs : shapes) {
              const Tensor<T> x = test::random_tensor<T>(xs, seed++);
              const TensorList<T> y = A.A(x);
              const TensorList<T> yr = ref.A(x);
              checks.expect(static_cast<std::int64_t>(y.size()) == n, what + ": list length");
              for (std::int64_t i = 0; i < n && i < static_cast<std::int64_t>(y.size()); ++i)
                checks.expect(
                    test::bitwise_equal(y[i], yr[i]),
                    what + ": operator " + std::to_string(i) + " for x " + xs.to_string());
            }
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Distributed, GatherFalseGivesThisRanksResults) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) { return test::mixed_operator<T>(i, 1, 9, 9); };
  checks.no_throw(
      [&] {
        DistributedStackedLinearPhysics<T> A(ctx, 5, make);
        auto ref = test::stacked_reference<T>(5, make);
        const Tensor<T> x = test::random_tensor<T>({1, 1, 9, 9}, 3);
        const TensorList<T> y = A.A(x, false);
        checks.expect(y.size() == A.local_indices().size(), "local list length");
        checks.expect(A.local_indices() == ctx.local_indices(5), "round-robin local indices");
        for (std::size_t k = 0; k < y.size(); ++k)
          checks.expect(test::bitwise_equal(y[k], ref[A.local_indices()[k]].A(x)),
                        "local result " + std::to_string(k));
      },
      "gather=false");
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Distributed, AdjointsMatchTheStackedReference) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t C = 2, H = 11, W = 11;
  auto make = [&](std::int64_t i) { return test::mixed_operator<T>(i, C, H, W); };
  const double tol = 64 * std::numeric_limits<T>::epsilon();
  for (auto s : all_strategies)
    for (std::int64_t n : {1, 3, 6}) {
      const std::string what = label<T>(s, n);
      checks.no_throw(
          [&] {
            DistributedStackedLinearPhysics<T> A(ctx, n, make, test::with_strategy(s));
            auto ref = test::stacked_reference<T>(n, make);
            const Tensor<T> x = test::random_tensor<T>({2, C, H, W}, 5);
            const TensorList<T> y = ref.A(test::random_tensor<T>({2, C, H, W}, 6));
            auto close = [&](const Tensor<T>& a, const Tensor<T>& b, const std::string& m) {
              const double scale = 1.0 + static_cast<double>(test::norm(b));
              checks.expect(
                  a.shape() == b.shape() && test::max_abs_diff(a, b) <= tol * scale,
                  what + ": " + m + " differs by " + std::to_string(test::max_abs_diff(a, b)));
            };
            for (int rep = 0; rep < 2; ++rep) {  // agreement, then steady state
              close(A.A_adjoint(y), ref.A_adjoint(y), "A_adjoint (all measurements)");
              TensorList<T> mine;
              for (auto i : A.local_indices()) mine.push_back(y[static_cast<std::size_t>(i)]);
              close(A.A_adjoint(mine), ref.A_adjoint(y), "A_adjoint (local measurements)");
              close(A.A_vjp(x, y), ref.A_vjp(x, y), "A_vjp");
              close(A.A_adjoint_A(x), ref.A_adjoint_A(x), "A_adjoint_A");
              const TensorList<T> aat = A.A_A_adjoint(y), aatr = ref.A_A_adjoint(y);
              for (std::int64_t i = 0; i < n; ++i) close(aat[i], aatr[i], "A_A_adjoint");
              const Tensor<T> mean = A.A_adjoint(y, true, Reduce::Mean);
              const auto vr = to_vector(ref.A_adjoint(y));
              std::vector<T> scaled;
              for (T v : vr) scaled.push_back(v / static_cast<T>(n));
              close(mean, from_vector<T>("mean", mean.shape(), scaled), "A_adjoint mean");
            }
            // gather = false: this rank's partial sums add up to the whole.
            const Tensor<T> part = A.A_adjoint(y, false);
            if (!A.local_indices().empty()) {
              StackedLinearPhysics<T> mine;
              for (auto i : A.local_indices()) mine.push_back(make(i));
              TensorList<T> ym;
              for (auto i : A.local_indices()) ym.push_back(y[static_cast<std::size_t>(i)]);
              close(part, mine.A_adjoint(ym), "A_adjoint gather=false");
            }
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Distributed, ReduceSumsOverOperators) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) { return test::same_shape_operator<T>(i, 3, 8, 8); };
  checks.no_throw(
      [&] {
        DistributedStackedLinearPhysics<T> A(ctx, 4, make);
        auto ref = test::stacked_reference<T>(4, make);
        const Tensor<T> x = test::random_tensor<T>({1, 3, 8, 8}, 9);
        const TensorList<T> s = A.A(x, true, Reduce::Sum);
        checks.expect(s.size() == 1, "one reduced tensor");
        const TensorList<T> yr = ref.A(x);
        std::vector<double> sum(static_cast<std::size_t>(x.size()), 0.0);
        for (const auto& t : yr) {
          const auto v = to_vector(t);
          for (std::size_t j = 0; j < v.size(); ++j) sum[j] += v[j];
        }
        const auto got = to_vector(s.at(0));
        double err = 0;
        for (std::size_t j = 0; j < sum.size(); ++j)
          err = std::max(err, std::fabs(got[j] - sum[j]));
        checks.expect(err <= 16 * std::numeric_limits<T>::epsilon(), "A(reduce=sum)");
        const auto mean = to_vector(A.A(x, true, Reduce::Mean).at(0));
        err = 0;
        for (std::size_t j = 0; j < sum.size(); ++j)
          err = std::max(err, std::fabs(mean[j] - sum[j] / 4));
        checks.expect(err <= 16 * std::numeric_limits<T>::epsilon(), "A(reduce=mean)");
      },
      "reduce");
  KINV_EXPECT_ALL_RANKS(checks);
}

// DistributedOptions::reproducible: every sum over operators adds the terms in operator order,
// so the result is the same bits at any rank count and with any partition: equal to the terms
// added in order on the host, and to the same stack on one process (MPI_COMM_SELF).
TYPED_TEST(Distributed, ReproducibleSumsAreBitwiseTheSameAtAnyRankCount) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t n = 7;
  auto make = [](std::int64_t i) { return test::same_shape_operator<T>(i, 2, 9, 9); };
  auto ref = test::stacked_reference<T>(n, make);
  const Tensor<T> x = test::random_tensor<T>({1, 2, 9, 9}, 31);
  const TensorList<T> y = ref.A(test::random_tensor<T>({1, 2, 9, 9}, 32));
  // The terms added one after the other, in operator order (one IEEE addition per term).
  auto in_order = [&](auto term) {
    std::vector<T> sum = to_vector(term(std::int64_t(0)));
    for (std::int64_t i = 1; i < n; ++i) {
      const std::vector<T> t = to_vector(term(i));
      for (std::size_t j = 0; j < sum.size(); ++j) sum[j] = sum[j] + t[j];
    }
    return from_vector<T>("kinv::test::in_order", x.shape(), sum);
  };
  const Tensor<T> adj = in_order([&](std::int64_t i) { return ref[i].A_adjoint(y[i]); });
  const Tensor<T> ata = in_order([&](std::int64_t i) { return ref[i].A_adjoint_A(x); });
  const Tensor<T> sum = in_order([&](std::int64_t i) { return ref[i].A(x); });

  DistributedContext self(comm::from_mpi(MPI_COMM_SELF));
  for (auto p : {Partition::RoundRobin, Partition::Block, Partition::CostBalanced})
    for (auto s : all_strategies) {
      const std::string what = to_string(p) + ", " + to_string(s);
      checks.no_throw(
          [&] {
            DistributedOptions o = test::with_strategy(s);
            o.partition = p;
            o.reproducible = true;
            DistributedStackedLinearPhysics<T> A(ctx, n, make, o);
            DistributedStackedLinearPhysics<T> one(self, n, make, o);
            for (int rep = 0; rep < 2; ++rep) {  // agreement, then steady state
              const Tensor<T> a = A.A_adjoint(y);
              checks.expect(test::bitwise_equal(a, adj), what + ": A_adjoint, operator order");
              checks.expect(test::bitwise_equal(a, one.A_adjoint(y)), what + ": A_adjoint, 1 rank");
              checks.expect(test::bitwise_equal(A.A_adjoint_A(x), ata), what + ": A_adjoint_A");
              checks.expect(test::bitwise_equal(A.A_vjp(x, y), one.A_vjp(x, y)), what + ": A_vjp");
              checks.expect(test::bitwise_equal(A.A(x, true, Reduce::Sum).at(0), sum),
                            what + ": A(reduce = sum)");
              checks.expect(test::bitwise_equal(A.A_adjoint(y, true, Reduce::Mean),
                                                one.A_adjoint(y, true, Reduce::Mean)),
                            what + ": A_adjoint mean");
            }
            // Without the option the sums differ from the stack's by rounding only.
            DistributedOptions fast = test::with_strategy(s);
            fast.partition = p;
            DistributedStackedLinearPhysics<T> F(ctx, n, make, fast);
            checks.expect(
                test::close_to(F.A_adjoint(y), adj, 64 * std::numeric_limits<T>::epsilon()),
                what + ": default mode close");
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

// KINV_GPU_AWARE_MPI, read when a communicator is made, decides whether MPI gets the buffers'
// pointers (direct) or copies through reused pinned host buffers (staged). Two contexts on
// MPI_COMM_WORLD, one made each way, must give the same bits for every call, strategy and
// reduction mode. On host memory "direct" is forced; on a GPU it is whatever detection says
// (forcing it with an MPI that is not GPU-aware would hand device pointers to MPI), so with such
// an MPI both contexts stage and the test says so.
TYPED_TEST(Distributed, StagedAndDirectBuffersGiveTheSameBits) {
  using T = TypeParam;
  RankChecks checks;
  const char* env = std::getenv("KINV_GPU_AWARE_MPI");
  const std::string user = env != nullptr ? env : "";
  setenv("KINV_GPU_AWARE_MPI", "0", 1);
  DistributedContext staged(comm::from_mpi(MPI_COMM_WORLD));
  if (memory_is_host_accessible)
    setenv("KINV_GPU_AWARE_MPI", "1", 1);
  else if (env != nullptr && user != "0")
    setenv("KINV_GPU_AWARE_MPI", user.c_str(), 1);
  else
    unsetenv("KINV_GPU_AWARE_MPI");
  DistributedContext direct(comm::from_mpi(MPI_COMM_WORLD));
  if (env != nullptr)
    setenv("KINV_GPU_AWARE_MPI", user.c_str(), 1);
  else
    unsetenv("KINV_GPU_AWARE_MPI");
  checks.expect(!staged.comm().gpu_aware(), "staged: " + staged.comm().gpu_aware_reason());
  checks.expect(direct.comm().gpu_aware() || !memory_is_host_accessible,
                "direct: " + direct.comm().gpu_aware_reason());
  if (!direct.comm().gpu_aware() && staged.rank() == 0)
    std::printf("note: MPI is not GPU-aware here (%s): both contexts stage\n",
                direct.comm().gpu_aware_reason().c_str());

  const std::int64_t n = 5, C = 2, H = 10, W = 10;
  auto make = [&](std::int64_t i) { return test::mixed_operator<T>(i, C, H, W); };
  const Tensor<T> x = test::random_tensor<T>({2, C, H, W}, 41);
  for (auto s : all_strategies)
    for (bool reproducible : {false, true}) {
      const std::string what = to_string(s) + (reproducible ? ", reproducible" : "");
      checks.no_throw(
          [&] {
            DistributedOptions o = test::with_strategy(s);
            o.reproducible = reproducible;
            DistributedStackedLinearPhysics<T> a(staged, n, make, o), b(direct, n, make, o);
            for (int rep = 0; rep < 2; ++rep) {  // agreement, then steady state
              const TensorList<T> ya = a.A(x), yb = b.A(x);
              for (std::int64_t i = 0; i < n; ++i)
                checks.expect(test::bitwise_equal(ya[i], yb[i]),
                              what + ": A, operator " + std::to_string(i));
              checks.expect(test::bitwise_equal(a.A_adjoint(ya), b.A_adjoint(yb)),
                            what + ": A_adjoint");
              checks.expect(test::bitwise_equal(a.A_adjoint_A(x), b.A_adjoint_A(x)),
                            what + ": A_adjoint_A");
              checks.expect(test::bitwise_equal(a.A_adjoint(ya, true, Reduce::Mean),
                                                b.A_adjoint(yb, true, Reduce::Mean)),
                            what + ": A_adjoint(reduce = mean)");
            }
            const Tensor<T> root = test::random_tensor<T>({2, C, H, W}, 100);
            const Tensor<T> ta = test::random_tensor<T>({2, C, H, W}, 100 + staged.rank());
            const Tensor<T> tb = test::random_tensor<T>({2, C, H, W}, 100 + staged.rank());
            staged.broadcast(ta, 0);
            direct.broadcast(tb, 0);
            checks.expect(test::bitwise_equal(ta, root) && test::bitwise_equal(tb, root),
                          what + ": broadcast");
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Distributed, ForwardNoiseIsTheSameAtAnyRankCount) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) {
    auto op = test::mixed_operator<T>(i, 1, 10, 10);
    op->set_noise_model(std::make_shared<GaussianNoise<T>>(T(0.2), 1234));
    return op;
  };
  for (auto s : all_strategies)
    checks.no_throw(
        [&] {
          DistributedStackedLinearPhysics<T> A(ctx, 5, make, test::with_strategy(s));
          auto ref = test::stacked_reference<T>(5, make);
          const Tensor<T> x = test::random_tensor<T>({2, 1, 10, 10}, 4);
          for (int draw = 0; draw < 3; ++draw) {  // fresh noise per call, same on every rank
            const TensorList<T> y = A.forward(x), yr = ref.forward(x);
            for (std::size_t i = 0; i < yr.size(); ++i)
              checks.expect(test::bitwise_equal(y[i], yr[i]),
                            to_string(s) + ": forward, draw " + std::to_string(draw) +
                                ", operator " + std::to_string(i));
          }
        },
        to_string(s));
  KINV_EXPECT_ALL_RANKS(checks);
}

// Every noise and sensor model: operator i gets model i % 4, so each model runs on some rank
// at every rank count, and forward must give the single-process bits.
TYPED_TEST(Distributed, EveryNoiseModelIsTheSameAtAnyRankCount) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) {
    auto op = test::mixed_operator<T>(i, 1, 10, 10);
    const std::uint64_t seed = 77;
    switch (i % 4) {
      case 0:
        op->set_noise_model(std::make_shared<PoissonNoise<T>>(T(0.05), true, false, seed));
        break;
      case 1:
        op->set_noise_model(std::make_shared<PoissonGaussianNoise<T>>(T(0.02), T(0.1), true, seed));
        break;
      case 2:
        op->set_noise_model(std::make_shared<UniformNoise<T>>(T(0.3), seed));
        break;
      default:
        op->set_noise_model(std::make_shared<GaussianNoise<T>>(T(0.2), seed));
    }
    op->set_sensor_model(std::make_shared<QuantizeSensor<T>>(T(0), T(2), 256));
    return op;
  };
  for (auto s : all_strategies)
    checks.no_throw(
        [&] {
          DistributedStackedLinearPhysics<T> A(ctx, 6, make, test::with_strategy(s));
          auto ref = test::stacked_reference<T>(6, make);
          const Tensor<T> x = test::random_tensor<T>({2, 1, 10, 10}, 5, T(0), T(1));
          for (int draw = 0; draw < 2; ++draw) {
            const TensorList<T> y = A.forward(x), yr = ref.forward(x);
            for (std::size_t i = 0; i < yr.size(); ++i)
              checks.expect(test::bitwise_equal(y[i], yr[i]),
                            to_string(s) + ": forward, draw " + std::to_string(draw) +
                                ", operator " + std::to_string(i));
          }
        },
        to_string(s));
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Distributed, SteadyStateReusesBuffersButNeverOverwritesHeldResults) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) { return test::mixed_operator<T>(i, 1, 8, 8); };
  for (auto s : {GatherStrategy::Concatenated, GatherStrategy::Broadcast})
    checks.no_throw(
        [&] {
          DistributedStackedLinearPhysics<T> A(ctx, 3, make, test::with_strategy(s));
          const Tensor<T> x1 = test::random_tensor<T>({1, 1, 8, 8}, 1);
          const Tensor<T> x2 = test::random_tensor<T>({1, 1, 8, 8}, 2);
          // Results dropped at once: every later call of the same shape reuses one buffer.
          const T* p1 = A.A(x1)[0].data();
          const T* p2 = A.A(x2)[0].data();
          const T* p3 = A.A(x1)[0].data();
          checks.expect(p1 != nullptr && p2 == p1 && p3 == p1,
                        to_string(s) + ": steady state allocates a new result buffer");
          // Held results stay intact while later calls run.
          const TensorList<T> held = A.A(x1);
          const auto before = to_vector(held[0]);
          const TensorList<T> other = A.A(x2);
          const TensorList<T> third = A.A(x2);
          checks.expect(to_vector(held[0]) == before, to_string(s) + ": held result overwritten");
          checks.expect(held[0].data() != other[0].data() && held[0].data() != third[0].data() &&
                            other[0].data() != third[0].data(),
                        to_string(s) + ": three live results must use three buffers");
        },
        to_string(s));
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---------------------------------------------------------------------------------------------
// Errors: raised on every rank, never a hang, and the stack still works afterwards.

// Every partition gives the single-process stack's results (A bitwise, adjoints to rounding),
// with the owners it says: round-robin, block, cost-balanced on given costs and on the
// operators' own estimates (operators that move are built again on their new rank).
TYPED_TEST(Distributed, EveryPartitionMatchesTheStackedReference) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const int P = ctx.size();
  const std::int64_t C = 1, H = 10, W = 10, n = 7;
  auto make = [&](std::int64_t i) { return test::mixed_operator<T>(i, C, H, W); };
  auto ref = test::stacked_reference<T>(n, make);
  std::vector<double> estimates;
  for (std::int64_t i = 0; i < n; ++i) estimates.push_back(ref[i].cost_estimate());
  checks.expect(*std::max_element(estimates.begin(), estimates.end()) >
                    *std::min_element(estimates.begin(), estimates.end()),
                "the test stack's estimates differ");
  struct PartitionCase {
    Partition partition;
    std::vector<double> costs;
  };
  const PartitionCase cases[] = {{Partition::RoundRobin, {}},
                                 {Partition::Block, {}},
                                 {Partition::CostBalanced, {1, 9, 2, 8, 3, 7, 4}},
                                 {Partition::CostBalanced, {}}};
  const Tensor<T> x = test::random_tensor<T>({2, C, H, W}, 11);
  const TensorList<T> yr = ref.A(x);
  const double tol = 64 * std::numeric_limits<T>::epsilon();
  for (const auto& pc : cases)
    for (auto s : all_strategies) {
      const std::string what =
          to_string(pc.partition) + (pc.costs.empty() ? "" : " (costs)") + ", " + to_string(s);
      checks.no_throw(
          [&] {
            DistributedOptions o = test::with_strategy(s);
            o.partition = pc.partition;
            o.costs = pc.costs;
            DistributedStackedLinearPhysics<T> A(ctx, n, make, o);
            const auto expected = partition_owners(
                n, P, pc.partition,
                pc.partition == Partition::CostBalanced && pc.costs.empty() ? estimates : pc.costs);
            checks.expect(A.owners() == expected, what + ": owners");
            checks.expect(A.local_indices() == owned_items(expected, ctx.rank()),
                          what + ": local indices");
            for (std::size_t k = 0; k < A.num_local_operators(); ++k)
              checks.expect(A.local_operator(k).name() == ref[A.local_indices()[k]].name(),
                            what + ": local operator " + std::to_string(k));
            for (int rep = 0; rep < 2; ++rep) {
              checks.expect(test::bitwise_equal(A.A(x), yr), what + ": A");
              const Tensor<T> at = A.A_adjoint(yr), atr = ref.A_adjoint(yr);
              checks.expect(test::close_to(at, atr, tol), what + ": A_adjoint");
            }
          },
          what);
    }
  // Options must be the same on every rank: a partition that differs fails everywhere.
  if (P > 1) {
    DistributedOptions o;
    o.partition = ctx.rank() == P - 1 ? Partition::Block : Partition::RoundRobin;
    checks.expect_throws<ValueError>([&] { DistributedStackedLinearPhysics<T> A(ctx, n, make, o); },
                                     "partition per rank");
    DistributedOptions c;
    c.partition = Partition::CostBalanced;
    c.costs = {1, 2, 3, 4, 5, 6, ctx.rank() == P - 1 ? 8.0 : 7.0};
    checks.expect_throws<ValueError>([&] { DistributedStackedLinearPhysics<T> A(ctx, n, make, c); },
                                     "costs per rank");
  }
  DistributedOptions bad;
  bad.partition = Partition::CostBalanced;
  bad.costs = {1, 2};
  checks.expect_throws<Error>([&] { DistributedStackedLinearPhysics<T> A(ctx, n, make, bad); },
                              "two costs for seven operators");
  KINV_EXPECT_ALL_RANKS(checks);
}

// A stack on a user's execution space instance (another stream or thread partition): its
// operators and its own kernels run there, with the same results as on the default instance.
TYPED_TEST(Distributed, RunsOnAUserExecutionSpaceInstance) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t C = 1, H = 10, W = 10, n = 5;
  auto make = [&](std::int64_t i) { return test::mixed_operator<T>(i, C, H, W); };
  auto ref = test::stacked_reference<T>(n, make);
  const auto instances = compat::partition_instances(ExecutionSpace(), 2);
  const Tensor<T> x = test::random_tensor<T>({1, C, H, W}, 21);
  const TensorList<T> yr = ref.A(x);
  const double tol = 64 * std::numeric_limits<T>::epsilon();
  for (auto s : all_strategies) {
    const std::string what = to_string(s);
    checks.no_throw(
        [&] {
          DistributedStackedLinearPhysics<T> A(ctx, n, make, test::with_strategy(s));
          A.set_execution_space(instances[1]);
          checks.expect(compat::same_instance(A.execution_space(), instances[1]),
                        what + ": the stack's instance");
          for (std::size_t k = 0; k < A.num_local_operators(); ++k)
            checks.expect(
                compat::same_instance(A.local_operator(k).execution_space(), instances[1]),
                what + ": operator " + std::to_string(k) + "'s instance");
          for (int rep = 0; rep < 2; ++rep) {
            checks.expect(test::bitwise_equal(A.A(x), yr), what + ": A");
            const Tensor<T> at = A.A_adjoint(yr), atr = ref.A_adjoint(yr);
            const Tensor<T> mean = A.A_adjoint(yr, true, Reduce::Mean);
            checks.expect(test::close_to(at, atr, tol), what + ": A_adjoint");
            std::vector<T> scaled = to_vector(at);
            for (T& v : scaled) v /= static_cast<T>(n);
            checks.expect(test::close_to(mean, from_vector<T>("mean", at.shape(), scaled), tol),
                          what + ": A_adjoint mean");
          }
        },
        what);
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// Kokkos Tools see each distributed call as a region holding its strategy, this rank's operator
// calls and the MPI collectives, the first call (agreement) and the steady state alike.
TEST(Distributed, CallsAndTheirPhasesAreProfilingRegions) {
  using T = double;
  auto& ctx = test::context();
  RankChecks checks;
  const int P = ctx.comm().size();
  auto make = [](std::int64_t i) { return test::mixed_operator<T>(i, 1, 8, 8); };
  for (auto s : all_strategies) {
    const std::string what = to_string(s);
    checks.no_throw(
        [&] {
          DistributedStackedLinearPhysics<T> A(ctx, 4, make, test::with_strategy(s));
          const Tensor<T> x = test::random_tensor<T>({1, 1, 8, 8}, 1);
          for (int rep = 0; rep < 2; ++rep) {
            test::RegionRecorder rec;
            const TensorList<T> y = A.A(x);
            const auto& names = rec.pushed();
            checks.expect(!names.empty() && names.front() == "kinv::DistributedStackedPhysics::A",
                          what + ": the call's region comes first");
            checks.expect(rec.saw("kinv::gather::" + what), what + ": no strategy region");
            for (std::size_t k = 0; k < A.num_local_operators(); ++k)
              checks.expect(rec.saw("kinv::" + A.local_operator(k).name() + "::A"),
                            what + ": no region for local operator " + std::to_string(k));
            bool mpi = false;
            for (const auto& n : names) mpi = mpi || n.rfind("kinv::mpi::", 0) == 0;
            checks.expect(mpi || P == 1,
                          what + ": no MPI region at " + std::to_string(P) + " ranks");
            checks.expect(rec.open() == 0, what + ": regions left open");
            rec.clear();
            A.A_adjoint(y);
            checks.expect(
                rec.saw("kinv::DistributedStackedPhysics::A_adjoint") && rec.saw("kinv::reduce"),
                what + ": A_adjoint's regions");
            checks.expect(rec.open() == 0, what + ": regions left open after A_adjoint");
          }
        },
        what);
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(DistributedErrors, InvalidStrategyNameListsTheValidOnes) {
  RankChecks checks;
  try {
    (void)parse_gather_strategy("allgather");
    checks.fail("no exception");
  } catch (const ValueError& e) {
    const std::string m = e.what();
    checks.expect(m.find("naive") != std::string::npos &&
                      m.find("concatenated") != std::string::npos &&
                      m.find("broadcast") != std::string::npos,
                  "message lists the strategies: " + m);
  }
  checks.expect(parse_gather_strategy("broadcast") == GatherStrategy::Broadcast, "parse");
  checks.expect(to_string(GatherStrategy::Naive) == "naive", "print");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(DistributedErrors, WrongInputShapeOnEveryRank) {
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) { return test::mixed_operator<double>(i, 1, 8, 8); };
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<double> A(ctx, 3, make, test::with_strategy(s));
    const Tensor<double> good = test::random_tensor<double>({1, 1, 8, 8}, 1);
    const Tensor<double> bad = test::random_tensor<double>({1, 1, 8, 7}, 1);  // the mask is 8x8
    checks.no_throw([&] { A.A(good); }, to_string(s) + ": first call");
    checks.expect_throws<Error>([&] { A.A(bad); }, to_string(s) + ": bad shape");
    checks.expect_throws<Error>([&] { A.A_adjoint_A(bad); }, to_string(s) + ": bad A_adjoint_A");
    checks.no_throw([&] { A.A(good); }, to_string(s) + ": call after the error");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(DistributedErrors, WrongInputOnOneRankOnlyFailsEverywhere) {
  auto& ctx = test::context();
  RankChecks checks;
  const int last = ctx.size() - 1;
  auto make = [](std::int64_t i) { return test::mixed_operator<float>(i, 1, 8, 8); };
  auto ref = test::stacked_reference<float>(4, make);
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<float> A(ctx, 4, make, test::with_strategy(s));
    const Tensor<float> good = test::random_tensor<float>({1, 1, 8, 8}, 1);
    const Tensor<float> other = test::random_tensor<float>({1, 1, 9, 8}, 1);
    const Tensor<float>& mine = ctx.rank() == last ? other : good;
    for (int rep = 0; rep < 2; ++rep) {  // before and after a layout exists
      try {
        A.A(mine);
        checks.fail(to_string(s) + ": no exception");
      } catch (const Error& e) {
        if (ctx.size() > 1)
          checks.expect(std::string(e.what()).find("(1, 1, 9, 8)") != std::string::npos,
                        to_string(s) + ": message names the odd shape: " + e.what());
      }
      const TensorList<float> y = A.A(good);
      const TensorList<float> yr = ref.A(good);
      for (std::size_t i = 0; i < yr.size(); ++i)
        checks.expect(test::bitwise_equal(y[i], yr[i]), to_string(s) + ": recovered result");
    }
    // A measurement list of the wrong length on one rank (N - 1 is never that rank's local
    // count here, so it cannot be read as a local list).
    TensorList<float> y = ref.A(good);
    if (ctx.rank() == last) y.pop_back();
    checks.expect_throws<Error>([&] { A.A_adjoint(y); }, to_string(s) + ": short list on one rank");
    y = ref.A(good);
    checks.no_throw([&] { A.A_adjoint(y); }, to_string(s) + ": A_adjoint after the error");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// Poisson noise on a negative input fails on the rank that owns that operator only: every rank
// must get the error, and the stack must work afterwards.
TEST(DistributedErrors, NoiseErrorOnOneOperatorFailsEveryRank) {
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) {
    auto op = test::mixed_operator<double>(i, 1, 8, 8);
    op->set_noise_model(
        std::make_shared<PoissonNoise<double>>(1.0, true, /*clip_positive=*/i != 2));
    return op;
  };
  for (auto s : all_strategies) {
    DistributedStackedLinearPhysics<double> A(ctx, 4, make, test::with_strategy(s));
    const Tensor<double> negative = test::random_tensor<double>({1, 1, 8, 8}, 3, -1.0, -0.5);
    const Tensor<double> positive = test::random_tensor<double>({1, 1, 8, 8}, 3, 0.0, 1.0);
    try {
      A.forward(negative);
      checks.fail(to_string(s) + ": no exception");
    } catch (const Error& e) {
      checks.expect(std::string(e.what()).find("non-negative") != std::string::npos,
                    to_string(s) + ": message says why: " + e.what());
    }
    checks.no_throw([&] { A.forward(positive); }, to_string(s) + ": forward after the error");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(DistributedErrors, FactoryThrowingOnOneRankFailsEveryRank) {
  auto& ctx = test::context();
  RankChecks checks;
  const std::int64_t n = 4;
  auto factory = [](std::int64_t i) -> std::unique_ptr<LinearPhysics<double>> {
    if (i == 3) throw std::runtime_error("cannot build operator three");
    return test::mixed_operator<double>(i, 1, 8, 8);
  };
  try {
    DistributedStackedLinearPhysics<double> A(ctx, n, factory);
    checks.fail("no exception");
  } catch (const RemoteError& e) {
    checks.expect(e.rank() == 3 % ctx.size(), "names the failing rank: " + std::string(e.what()));
    checks.expect(e.operator_index() == 3, "names the operator: " + std::string(e.what()));
    checks.expect(std::string(e.what()).find("cannot build operator three") != std::string::npos,
                  "carries the message: " + std::string(e.what()));
  } catch (const std::exception& e) {
    checks.fail(std::string("wrong exception: ") + e.what());
  }
  // A non-linear operator in a linear stack, and a null operator.
  checks.expect_throws<Error>(
      [&] {
        DistributedStackedLinearPhysics<double> A(
            ctx, n, [](std::int64_t i) -> std::unique_ptr<Physics<double>> {
              return i == 0 ? nullptr : test::mixed_operator<double>(i, 1, 8, 8);
            });
      },
      "null operator");
  checks.expect_throws<Error>([&] { DistributedStackedLinearPhysics<double> A(ctx, 0, factory); },
                              "empty stack");
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---------------------------------------------------------------------------------------------

TEST(Distributed, FactoryArgsComeFromRankZero) {
  auto& ctx = test::context();
  RankChecks checks;
  FactoryArgs<double> kw;
  // Only rank 0's values count; other ranks pass something else.
  const double ratio = ctx.rank() == 0 ? 0.25 : 0.9;
  kw.set("ratio", ratio);
  kw.set("mask", test::random_tensor<double>({1, 6, 6}, ctx.rank() == 0 ? 5 : 77));
  auto factory = [](std::int64_t i, const Device&,
                    const FactoryArgs<double>& a) -> std::unique_ptr<LinearPhysics<double>> {
    if (i % 2 == 0) return std::make_unique<Inpainting<double>>(a.tensor("mask"));
    return std::make_unique<Inpainting<double>>(Shape{1, 6, 6}, a.scalar("ratio"), 3);
  };
  checks.no_throw(
      [&] {
        DistributedStackedLinearPhysics<double> A(ctx, 3, factory, kw);
        FactoryArgs<double> root;
        root.set("ratio", 0.25);
        root.set("mask", test::random_tensor<double>({1, 6, 6}, 5));
        StackedLinearPhysics<double> ref;
        for (int i = 0; i < 3; ++i) ref.push_back(factory(i, Device{}, root));
        const Tensor<double> x = test::random_tensor<double>({1, 1, 6, 6}, 8);
        const auto y = A.A(x), yr = ref.A(x);
        for (std::size_t i = 0; i < yr.size(); ++i)
          checks.expect(test::bitwise_equal(y[i], yr[i]), "operator " + std::to_string(i));
        checks.expect(A.factory_args().scalar("ratio") == 0.25, "broadcast scalar");
        checks.expect_throws<ValueError>([&] { A.factory_args().tensor("missing"); },
                                         "missing name");
      },
      "factory args");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(Distributed, FactoryFormsAndContext) {
  auto& ctx = test::context();
  RankChecks checks;
  auto f1 = [](std::int64_t i) { return test::mixed_operator<float>(i, 1, 8, 8); };
  auto f2 = [](std::int64_t i, const Device& d) {
    (void)d;
    return test::mixed_operator<float>(i, 1, 8, 8);
  };
  checks.no_throw(
      [&] {
        DistributedStackedLinearPhysics<float> a(ctx, 3, f1), b(ctx, 3, f2);
        const Tensor<float> x = test::random_tensor<float>({1, 1, 8, 8}, 1);
        const auto ya = a.A(x), yb = b.A(x);
        for (int i = 0; i < 3; ++i) checks.expect(test::bitwise_equal(ya[i], yb[i]), "forms agree");
      },
      "factory forms");
  const auto mine = ctx.local_indices(11);
  for (auto i : mine) checks.expect(i % ctx.size() == ctx.rank(), "round robin");
  checks.expect(
      static_cast<std::int64_t>(mine.size()) == (11 - ctx.rank() + ctx.size() - 1) / ctx.size(),
      "local count");
  checks.expect(ctx.device().backend == Kokkos::DefaultExecutionSpace::name(), "device backend");
  // KINV_GPU_AWARE_MPI=0 makes every collective stage through host buffers.
  const char* env = std::getenv("KINV_GPU_AWARE_MPI");
  if (env != nullptr && std::string(env) == "0")
    checks.expect(
        !ctx.comm().gpu_aware() && ctx.comm().gpu_aware_reason() == "KINV_GPU_AWARE_MPI=0",
        "staging requested: " + ctx.comm().gpu_aware_reason());
  else if (memory_is_host_accessible && env == nullptr)
    checks.expect(ctx.comm().gpu_aware(), "host memory goes to MPI directly");
  KINV_EXPECT_ALL_RANKS(checks);
}

// With KINV_TEST_INJECT_FAILURE=1 (CTest test mpi.harness.abort.np3, expected to fail fast):
// one rank throws outside any check while the others wait in a barrier. The harness must abort
// the job instead of hanging.
TEST(Harness, AnEscapedExceptionOnOneRankAbortsTheJob) {
  if (std::getenv("KINV_TEST_INJECT_FAILURE") == nullptr)
    GTEST_SKIP() << "set KINV_TEST_INJECT_FAILURE=1";
  auto& ctx = test::context();
  if (ctx.rank() == ctx.size() - 1) throw std::runtime_error("injected failure on the last rank");
  ctx.barrier();
}

TEST(Distributed, ContextOnAUserCommunicator) {
  auto& world = test::context();
  RankChecks checks;
  // Even and odd ranks form two independent groups, each with its own stack.
  MPI_Comm half;
  MPI_Comm_split(comm::to_mpi(world.comm()), world.rank() % 2, world.rank(), &half);
  checks.no_throw(
      [&] {
        DistributedContext ctx(comm::from_mpi(half));
        checks.expect(ctx.size() == (world.size() + 1 - world.rank() % 2) / 2, "group size");
        checks.expect(!ctx.started_mpi() && !ctx.started_kokkos(), "nothing started");
        auto make = [](std::int64_t i) { return test::mixed_operator<double>(i, 1, 8, 8); };
        DistributedStackedLinearPhysics<double> A(ctx, 5, make);
        auto ref = test::stacked_reference<double>(5, make);
        const Tensor<double> x = test::random_tensor<double>({1, 1, 8, 8}, 2);
        const auto y = A.A(x), yr = ref.A(x);
        for (std::size_t i = 0; i < yr.size(); ++i)
          checks.expect(test::bitwise_equal(y[i], yr[i]), "operator " + std::to_string(i));
      },
      "sub-communicator");
  MPI_Comm_free(&half);
  KINV_EXPECT_ALL_RANKS(checks);
}

// The byte all-gather that reuses last call's sizes gives what the one with a size exchange
// gives, while sizes repeat, shrink, grow on one rank only, or drop to zero.
TEST(Distributed, ByteAllGatherWithRememberedSizes) {
  const auto& c = test::context().comm();
  RankChecks checks;
  const int me = c.rank();
  // Block sizes of rank r in each round.
  auto size_of = [](int round, int r) -> std::size_t {
    switch (round) {
      case 0:
      case 1:
        return 5 + 3 * r;  // first call, then the same sizes
      case 2:
        return 2 + r;  // every block shrinks
      case 3:
        return r == 1 ? 40 : 2 + r;  // rank 1 outgrows its slot
      case 4:
        return 0;  // empty blocks
      default:
        return 7;
    }
  };
  std::vector<std::int64_t> sizes;
  for (int round = 0; round < 6; ++round) {
    std::vector<char> mine(size_of(round, me));
    for (std::size_t k = 0; k < mine.size(); ++k) mine[k] = static_cast<char>(me * 31 + k + round);
    std::vector<std::int64_t> off_ref, off;
    const auto ref = c.allgatherv_bytes(mine, off_ref);
    const auto got = c.allgatherv_bytes(mine, off, sizes);
    const std::string what = "round " + std::to_string(round);
    checks.expect(got == ref, what + ": bytes");
    checks.expect(off == off_ref, what + ": offsets");
    checks.expect(static_cast<int>(sizes.size()) == c.size(), what + ": remembered sizes");
    for (int r = 0; r < c.size() && r < static_cast<int>(sizes.size()); ++r)
      checks.expect(sizes[r] == static_cast<std::int64_t>(size_of(round, r)),
                    what + ": size of rank " + std::to_string(r));
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

}  // namespace
}  // namespace kinv
