// Every difference between the Kokkos versions kinv supports (3.4 as shipped by Debian's
// Trilinos, 4.x and 5.x) lives here, so that the rest of the code is written once.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#if !defined(KOKKOS_VERSION)
#error "kinv needs a Kokkos that defines KOKKOS_VERSION"
#endif

#define KINV_KOKKOS_VERSION_AT_LEAST(major, minor) (KOKKOS_VERSION >= ((major)*10000 + (minor)*100))

namespace kinv {
namespace compat {

// Real math functions: Kokkos 3.x has them in Kokkos::Experimental, 4.x and later in Kokkos.
namespace math {
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 0)
using Kokkos::ceil;
using Kokkos::cos;
using Kokkos::exp;
using Kokkos::fabs;
using Kokkos::floor;
using Kokkos::log;
using Kokkos::sin;
using Kokkos::sqrt;
#else
using Kokkos::Experimental::ceil;
using Kokkos::Experimental::cos;
using Kokkos::Experimental::exp;
using Kokkos::Experimental::fabs;
using Kokkos::Experimental::floor;
using Kokkos::Experimental::log;
using Kokkos::Experimental::sin;
using Kokkos::Experimental::sqrt;
#endif
}  // namespace math

// pi as a value of the requested type (Kokkos 3.4 has no Kokkos::numbers).
template <class T>
KOKKOS_INLINE_FUNCTION constexpr T pi() {
  return static_cast<T>(3.141592653589793238462643383279502884L);
}

// Real conjugate: in Kokkos 4.x, Kokkos::conj(double) returns a complex number.
template <class T>
KOKKOS_INLINE_FUNCTION constexpr T real_conj(T x) {
  return x;
}

// Rank of a View type: a static member value in 3.4, an integral constant in 4.x.
template <class ViewType>
constexpr int view_rank() {
  return static_cast<int>(ViewType::rank);
}

// Page-locked host memory for staging device buffers through a host-only MPI (4.x); plain host
// memory where Kokkos has no such alias (3.4, whose only backend here is Serial).
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 0)
using HostPinnedSpace = Kokkos::SharedHostPinnedSpace;
#else
using HostPinnedSpace = Kokkos::HostSpace;
#endif

// Kokkos::fence with a label (4.x); unlabelled in 3.4.
inline void fence(const std::string& label) {
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 0)
  Kokkos::fence(label);
#else
  (void)label;
  Kokkos::fence();
#endif
}

// Whether two execution space instances are the same (work on one is ordered). Kokkos 4.0 made
// execution spaces equality comparable; 3.4 (Serial only here) has a single instance.
template <class Space>
bool same_instance(const Space& a, const Space& b) {
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 0)
  return a == b;
#else
  (void)a;
  (void)b;
  return true;
#endif
}

// n execution space instances that may run concurrently: Kokkos' partition_space (new streams
// on GPUs, disjoint thread pools on OpenMP) from 4.2; the given instance n times before, or
// when it has fewer threads than n (an OpenMP partition without a thread cannot run). 3.4 here
// is Serial only, where every instance is the one.
template <class Space>
std::vector<Space> partition_instances(const Space& space, int n) {
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 2)
  if (space.concurrency() < n) return std::vector<Space>(static_cast<std::size_t>(n), space);
  return Kokkos::Experimental::partition_space(space,
                                               std::vector<int>(static_cast<std::size_t>(n), 1));
#else
  return std::vector<Space>(static_cast<std::size_t>(n), space);
#endif
}

// Kokkos Kernels BLAS and sparse calls: 4.2 and later take the execution space instance as the
// first argument; older versions run on the default instance (3.4 here is Serial only). Use as
//   const compat::KernelsOrder order(space);
//   KokkosBlas::gemv(KINV_KK_SPACE(space) "N", ...);
// Kokkos Kernels' version follows Kokkos'. Below 4.2, KernelsOrder fences `space` before the
// call and the default instance after it (on its destruction), so that the call stays ordered
// with the work on `space` even when that is not the default instance; from 4.2 it does nothing.
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 2)
#define KINV_KK_SPACE(space) space,
template <class Space>
struct KernelsOrder {
  explicit KernelsOrder(const Space&) {}
};
#else
#define KINV_KK_SPACE(space)
template <class Space>
struct KernelsOrder {
  explicit KernelsOrder(const Space& space) { space.fence(); }
  ~KernelsOrder() { typename Space::execution_space().fence(); }
  KernelsOrder(const KernelsOrder&) = delete;
  KernelsOrder& operator=(const KernelsOrder&) = delete;
};
#endif

// Whether Kokkos was finalized: 3.4 has no query, so kinv keeps its own record there.
bool is_finalized() noexcept;
void note_finalized() noexcept;

// Initialises Kokkos (if it is not already) on the given device (-1: Kokkos' default),
// with the given host thread count (-1: default).
void initialize(int& argc, char** argv, int device_id, int num_threads);
void finalize();

// Device this process computes on (0 for host backends).
int device_id();

// Number of devices visible to this process for the default execution space (1 for host
// backends).
int num_devices();

// Thread count of the default host execution space.
int host_concurrency();

// Name of the default execution space ("Serial", "OpenMP", "Cuda", ...).
std::string execution_space_name();

}  // namespace compat
}  // namespace kinv
