// Which rank owns which operator of a distributed stack: round-robin (deepinv's), contiguous
// blocks, or balanced by cost (greedy, longest first).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace kinv {

enum class Partition {
  RoundRobin,    ///< item i on rank i mod P (deepinv's sharding)
  Block,         ///< contiguous runs: the first N mod P ranks hold one item more
  CostBalanced,  ///< greedy longest-first on per-item costs
};

/// "round_robin", "block" or "cost_balanced"; ValueError listing them otherwise.
Partition parse_partition(const std::string& name);
std::string to_string(Partition p);
std::ostream& operator<<(std::ostream& os, Partition p);

/// owners[i]: the rank that owns item i of num_items over num_ranks ranks.
///
/// CostBalanced takes the items in decreasing cost (ties by index) and gives each to the rank
/// with the least cost so far (ties to the rank with fewer items, then the lower rank): at most 4/3
/// of the best possible largest load. `costs` must hold num_items finite values >= 0 and be the
/// same on every rank (the partition is then the same everywhere); the other partitions ignore it.
/// ValueError on bad arguments.
std::vector<int> partition_owners(std::int64_t num_items, int num_ranks, Partition p,
                                  const std::vector<double>& costs = {});

/// The items `rank` owns, in increasing order.
std::vector<std::int64_t> owned_items(const std::vector<int>& owners, int rank);

}  // namespace kinv
