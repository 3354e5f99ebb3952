// Partitions of a stack over ranks: round-robin, block, and greedy longest-first on costs; the
// operators' cost estimates.
#include <kinv/distributed/partition.hpp>
#include <kinv/operators/blur.hpp>
#include <kinv/operators/compressed_sensing.hpp>
#include <kinv/operators/inpainting.hpp>
#include <kinv/operators/tomography.hpp>
#include <kinv/physics/composition.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "test_helpers.hpp"

namespace kinv {
namespace {

using Owners = std::vector<int>;

TEST(Partition, RoundRobinAndBlock) {
  EXPECT_EQ(partition_owners(7, 3, Partition::RoundRobin), (Owners{0, 1, 2, 0, 1, 2, 0}));
  EXPECT_EQ(partition_owners(7, 3, Partition::Block), (Owners{0, 0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(partition_owners(6, 3, Partition::Block), (Owners{0, 0, 1, 1, 2, 2}));
  // Fewer items than ranks: the last ranks own nothing.
  EXPECT_EQ(partition_owners(2, 4, Partition::Block), (Owners{0, 1}));
  EXPECT_EQ(partition_owners(2, 4, Partition::RoundRobin), (Owners{0, 1}));
  EXPECT_EQ(partition_owners(0, 2, Partition::Block), Owners{});
  EXPECT_EQ(owned_items(Owners{0, 0, 0, 1, 1, 2, 2}, 1), (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(owned_items(Owners{0, 1}, 3), std::vector<std::int64_t>{});
}

TEST(Partition, CostBalancedIsGreedyLongestFirst) {
  // Largest first, each to the least-loaded rank, ties to the lower rank and the lower index.
  EXPECT_EQ(partition_owners(5, 2, Partition::CostBalanced, {3, 3, 2, 2, 2}),
            (Owners{0, 1, 0, 1, 0}));
  EXPECT_EQ(partition_owners(6, 2, Partition::CostBalanced, {5, 1, 1, 1, 1, 1}),
            (Owners{0, 1, 1, 1, 1, 1}));
  EXPECT_EQ(partition_owners(4, 3, Partition::CostBalanced, {1, 1, 1, 1}), (Owners{0, 1, 2, 0}));
  EXPECT_EQ(partition_owners(3, 2, Partition::CostBalanced, {0, 0, 0}), (Owners{0, 1, 0}));

  // Random costs: every item placed, and the largest load within the list-scheduling bound
  // (the mean load plus the largest cost) and never above round-robin's or block's.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> cost(0.0, 100.0);
  for (int trial = 0; trial < 50; ++trial) {
    const int P = 1 + trial % 5;
    const std::int64_t N = 1 + trial;
    std::vector<double> c(static_cast<std::size_t>(N));
    for (double& v : c) v = trial % 3 == 0 ? std::pow(cost(rng), 3.0) : cost(rng);
    auto max_load = [&](const Owners& o) {
      std::vector<double> load(static_cast<std::size_t>(P), 0.0);
      for (std::size_t i = 0; i < o.size(); ++i) {
        EXPECT_GE(o[i], 0);
        EXPECT_LT(o[i], P);
        load[static_cast<std::size_t>(o[i])] += c[i];
      }
      return *std::max_element(load.begin(), load.end());
    };
    const Owners balanced = partition_owners(N, P, Partition::CostBalanced, c);
    ASSERT_EQ(balanced.size(), static_cast<std::size_t>(N));
    double sum = 0, largest = 0;
    for (double v : c) {
      sum += v;
      largest = std::max(largest, v);
    }
    const double mb = max_load(balanced);
    EXPECT_LE(mb, sum / P + largest + 1e-9) << trial;
    EXPECT_LE(mb, max_load(partition_owners(N, P, Partition::RoundRobin)) + 1e-9) << trial;
    EXPECT_LE(mb, max_load(partition_owners(N, P, Partition::Block)) + 1e-9) << trial;
  }
}

TEST(Partition, BadArguments) {
  EXPECT_THROW(partition_owners(3, 0, Partition::Block), ValueError);
  EXPECT_THROW(partition_owners(-1, 2, Partition::RoundRobin), ValueError);
  EXPECT_THROW(partition_owners(3, 2, Partition::CostBalanced, {1, 2}), ValueError);
  EXPECT_THROW(partition_owners(2, 2, Partition::CostBalanced, {1, -2}), ValueError);
  EXPECT_THROW(partition_owners(2, 2, Partition::CostBalanced,
                                {1, std::numeric_limits<double>::quiet_NaN()}),
               ValueError);
  EXPECT_THROW(partition_owners(2, 2, static_cast<Partition>(7)), ValueError);
  EXPECT_EQ(parse_partition("block"), Partition::Block);
  EXPECT_EQ(parse_partition(to_string(Partition::CostBalanced)), Partition::CostBalanced);
  EXPECT_EQ(parse_partition("round_robin"), Partition::RoundRobin);
  try {
    parse_partition("greedy");
    FAIL() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'round_robin', 'block' and 'cost_balanced'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Partition, OperatorsEstimateTheirCosts) {
  using T = float;
  TomographyOptions o;
  o.angles = {0, 30, 60, 90, 120};
  EXPECT_EQ(Tomography<T>(16, o).cost_estimate(), 5.0);
  EXPECT_EQ(Blur<T>(test::random_tensor<T>({3, 5}, 1), Padding::Reflect).cost_estimate(), 15.0);
  EXPECT_EQ(Inpainting<T>(Shape{1, 8, 8}, 0.5, 1).cost_estimate(), 1.0);
  auto blur = std::make_shared<Blur<T>>(test::random_tensor<T>({3, 3}, 2), Padding::Circular,
                                        BlurAlgorithm::Direct);
  auto tomo = std::make_shared<Tomography<T>>(16, o);
  EXPECT_EQ(ComposedLinearPhysics<T>(tomo, blur).cost_estimate(), 14.0);
}

}  // namespace
}  // namespace kinv
