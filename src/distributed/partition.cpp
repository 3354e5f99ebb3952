#include <kinv/core/error.hpp>
#include <kinv/distributed/partition.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kinv {

Partition parse_partition(const std::string& name) {
  if (name == "round_robin") return Partition::RoundRobin;
  if (name == "block") return Partition::Block;
  if (name == "cost_balanced") return Partition::CostBalanced;
  throw ValueError("unknown partition '" + name +
                   "': valid partitions are 'round_robin', 'block' and 'cost_balanced'");
}

std::string to_string(Partition p) {
  switch (p) {
    case Partition::RoundRobin:
      return "round_robin";
    case Partition::Block:
      return "block";
    case Partition::CostBalanced:
      return "cost_balanced";
  }
  throw ValueError("invalid Partition value " + std::to_string(static_cast<int>(p)));
}

std::ostream& operator<<(std::ostream& os, Partition p) { return os << to_string(p); }

std::vector<int> partition_owners(std::int64_t num_items, int num_ranks, Partition p,
                                  const std::vector<double>& costs) {
  if (num_items < 0)
    throw ValueError("partition: the number of items must be >= 0, got " +
                     std::to_string(num_items));
  if (num_ranks < 1)
    throw ValueError("partition: the number of ranks must be >= 1, got " +
                     std::to_string(num_ranks));
  const auto n = static_cast<std::size_t>(num_items);
  std::vector<int> owners(n);
  switch (p) {
    case Partition::RoundRobin:
      for (std::size_t i = 0; i < n; ++i) owners[i] = static_cast<int>(i % num_ranks);
      return owners;
    case Partition::Block: {
      // Ranks r < N mod P hold q + 1 items, the others q.
      const std::int64_t q = num_items / num_ranks, extra = num_items % num_ranks;
      std::int64_t i = 0;
      for (int r = 0; r < num_ranks; ++r)
        for (std::int64_t k = 0; k < q + (r < extra ? 1 : 0); ++k)
          owners[static_cast<std::size_t>(i++)] = r;
      return owners;
    }
    case Partition::CostBalanced: {
      if (costs.size() != n)
        throw ValueError("partition cost_balanced: " + std::to_string(costs.size()) +
                         " costs for " + std::to_string(num_items) + " items");
      for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(costs[i]) || costs[i] < 0)
          throw ValueError("partition cost_balanced: the cost of item " + std::to_string(i) +
                           " must be finite and >= 0, got " + std::to_string(costs[i]));
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), std::size_t(0));
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return costs[a] > costs[b]; });
      // Each item to the least-loaded rank; among equal loads (items of cost 0) the rank with
      // the fewest items, then the lower rank.
      std::vector<double> load(static_cast<std::size_t>(num_ranks), 0.0);
      std::vector<std::int64_t> count(static_cast<std::size_t>(num_ranks), 0);
      for (std::size_t i : order) {
        std::size_t r = 0;
        for (std::size_t q = 1; q < load.size(); ++q)
          if (load[q] < load[r] || (load[q] == load[r] && count[q] < count[r])) r = q;
        owners[i] = static_cast<int>(r);
        load[r] += costs[i];
        ++count[r];
      }
      return owners;
    }
  }
  throw ValueError("partition: invalid Partition value " + std::to_string(static_cast<int>(p)));
}

std::vector<std::int64_t> owned_items(const std::vector<int>& owners, int rank) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < owners.size(); ++i)
    if (owners[i] == rank) out.push_back(static_cast<std::int64_t>(i));
  return out;
}

}  // namespace kinv
