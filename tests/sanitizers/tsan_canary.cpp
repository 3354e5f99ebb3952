// The tsan preset's self-check: a kernel in which every thread adds to one value without an
// atomic. ThreadSanitizer must report it (test unit.tsan.reports_a_race). If it does not, the
// run's set-up (Archer, TSAN_OPTIONS, the Kokkos build) hides races and a clean suite run
// would mean nothing.
#include <Kokkos_Core.hpp>

#include <cstdio>

namespace {

struct RacyCount {
  Kokkos::View<long*> count;
  KOKKOS_INLINE_FUNCTION void operator()(long) const { count(0) += 1; }
};

}  // namespace

int main(int argc, char** argv) {
  Kokkos::ScopeGuard guard(argc, argv);
  Kokkos::View<long*> count("count", 1);
  Kokkos::parallel_for("kinv::tsan_canary", Kokkos::RangePolicy<>(0, 1 << 16), RacyCount{count});
  Kokkos::fence();
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), count);
  std::printf("count %ld of %d (fewer when increments were lost)\n", h(0), 1 << 16);
  return 0;
}
