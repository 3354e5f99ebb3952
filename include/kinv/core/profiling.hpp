// Kokkos Tools regions around kinv's operators and communication phases, so that tools such as
// kp_space_time_stack or kp_nvtx_connector show where a call spends its time.
#pragma once

#include <Kokkos_Core.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace kinv {

/// A Kokkos Tools region (Kokkos::Profiling::pushRegion, popRegion) over the enclosing scope,
/// popped on exceptions too. Without a tool only Kokkos' "is a tool loaded" check runs: a
/// name built from parts is passed as a callable and built only when a tool listens.
///
/// Region names: `kinv::<Operator>::<method>` for operators (Blur, MRI, ...) and stacks
/// (`kinv::DistributedStackedPhysics::A`), `kinv::gather::<strategy>` and `kinv::reduce` for the
/// gather engine, `kinv::mpi::<collective>` for each MPI collective.
class ProfilingRegion {
 public:
  explicit ProfilingRegion(const char* name) : m_on(Kokkos::Profiling::profileLibraryLoaded()) {
    if (m_on) Kokkos::Profiling::pushRegion(name);
  }
  template <class MakeName, class = std::enable_if_t<std::is_convertible<
                                decltype(std::declval<MakeName&>()()), std::string>::value>>
  explicit ProfilingRegion(MakeName&& make_name) : m_on(Kokkos::Profiling::profileLibraryLoaded()) {
    if (m_on) Kokkos::Profiling::pushRegion(std::string(make_name()));
  }
  ~ProfilingRegion() {
    if (m_on) Kokkos::Profiling::popRegion();
  }
  ProfilingRegion(const ProfilingRegion&) = delete;
  ProfilingRegion& operator=(const ProfilingRegion&) = delete;

 private:
  bool m_on;
};

}  // namespace kinv
