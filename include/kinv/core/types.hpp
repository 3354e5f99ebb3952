// The execution and memory spaces kinv computes in, and small shared vocabulary types.
#pragma once

#include <kinv/core/compat.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

namespace kinv {

/// Execution space of every kinv kernel (chosen when Kokkos is built).
using ExecutionSpace = Kokkos::DefaultExecutionSpace;
/// Memory space of every kinv tensor.
using MemorySpace = ExecutionSpace::memory_space;

/// True when host code may dereference pointers into MemorySpace.
inline constexpr bool memory_is_host_accessible =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemorySpace>::accessible;

/// True when kinv's kernels run on the host (Serial, OpenMP, Threads). Kernels written for
/// host caches (row and block loops) are chosen with `if constexpr` on it, so that device
/// builds never compile them.
inline constexpr bool runs_on_host =
    std::is_same<ExecutionSpace, Kokkos::DefaultHostExecutionSpace>::value;

/// The device a rank computes on: what deepinv passes to factories as `device`.
struct Device {
  int id = 0;           ///< device index on this node (0 for host backends)
  std::string backend;  ///< Kokkos execution space name, e.g. "Cuda", "OpenMP", "Serial"
  bool is_host = true;  ///< true when tensors live in host-accessible memory
};

namespace impl {
using RangePolicy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;
/// A flat 64-bit-indexed range [0, n) on `space`.
inline RangePolicy range(const ExecutionSpace& space, std::int64_t n) {
  return RangePolicy(space, 0, n);
}
}  // namespace impl

}  // namespace kinv
