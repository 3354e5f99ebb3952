// Pieces every kinv benchmark shares: the STREAM-style triad each binary measures at start-up
// (the yardstick its GB/s figures are divided by), the JSON context that says what machine and
// stack a result came from, and a count of Kokkos allocations through the Kokkos Tools
// allocation callbacks (which work without a tool library loaded).
#pragma once

#include <kinv/kinv.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

#ifndef KINV_BENCH_COMMIT
#define KINV_BENCH_COMMIT "unknown"
#endif
#ifndef KINV_BENCH_BUILD_TYPE
#define KINV_BENCH_BUILD_TYPE "unknown"
#endif

namespace kinv {
namespace bench {

template <class T>
struct Triad {
  Kokkos::View<T*, MemorySpace> a;
  Kokkos::View<const T*, MemorySpace> b, c;
  T s;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const { a(i) = b(i) + s * c(i); }
};

/// Runs a = b + s c once over views of n doubles (fenced).
inline void triad_once(const Kokkos::View<double*, MemorySpace>& a,
                       const Kokkos::View<double*, MemorySpace>& b,
                       const Kokkos::View<double*, MemorySpace>& c) {
  Kokkos::parallel_for("kinv::bench::triad", impl::range(ExecutionSpace(), a.extent(0)),
                       Triad<double>{a, b, c, 3.0});
  Kokkos::fence();
}

/// Best of `repeats` triads on 2^25 doubles (768 MiB moved per run), in GB/s counting the three
/// arrays once (STREAM's convention).
inline double measure_triad_gbps(int repeats = 8) {
  const std::int64_t n = std::int64_t(1) << 25;
  Kokkos::View<double*, MemorySpace> a("kinv::bench::a", n), b("kinv::bench::b", n),
      c("kinv::bench::c", n);
  Kokkos::deep_copy(b, 1.0);
  Kokkos::deep_copy(c, 2.0);
  triad_once(a, b, c);  // first touch
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    triad_once(a, b, c);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 3.0 * static_cast<double>(n) * sizeof(double) / s * 1e-9);
  }
  return best;
}

/// Best of `repeats` copies (Kokkos::deep_copy within the memory space) of 2^25 doubles, in GB/s
/// counting bytes read and written: the device-to-device copy bandwidth on GPUs.
inline double measure_copy_gbps(int repeats = 8) {
  const std::int64_t n = std::int64_t(1) << 25;
  Kokkos::View<double*, MemorySpace> a("kinv::bench::copy_dst", n), b("kinv::bench::copy_src", n);
  Kokkos::deep_copy(b, 1.0);
  Kokkos::deep_copy(a, b);  // first touch
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    Kokkos::deep_copy(ExecutionSpace(), a, b);
    ExecutionSpace().fence();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * static_cast<double>(n) * sizeof(double) / s * 1e-9);
  }
  return best;
}

/// Context keys every kinv JSON file carries (Google Benchmark adds host, date and CPUs);
/// triad_GBps only when triad_gbps > 0.
inline void add_context(const std::string& implementation, double triad_gbps, int ranks) {
  benchmark::AddCustomContext("implementation", implementation);
  benchmark::AddCustomContext("kinv_version", KINV_VERSION_STRING);
  benchmark::AddCustomContext("commit", KINV_BENCH_COMMIT);
  benchmark::AddCustomContext("kinv_build_type", KINV_BENCH_BUILD_TYPE);
  benchmark::AddCustomContext("backend", ExecutionSpace::name());
  benchmark::AddCustomContext("concurrency", std::to_string(ExecutionSpace().concurrency()));
  if (triad_gbps > 0) benchmark::AddCustomContext("triad_GBps", std::to_string(triad_gbps));
  benchmark::AddCustomContext("ranks", std::to_string(ranks));
  // FFTW plans: estimated (the default, the same in every process) or measured (faster).
  const char* planner = std::getenv("KINV_FFTW_PLANNER");
  benchmark::AddCustomContext("fftw_planner",
                              planner != nullptr && *planner != '\0' ? planner : "estimate");
}

/// Counts Kokkos allocations (every memory space) and tracks the bytes held and their high-water
/// mark, through Kokkos Tools callbacks. Install once after Kokkos::initialize.
class AllocationCounter {
 public:
  static void install() {
    Kokkos::Tools::Experimental::set_allocate_data_callback(&on_allocate);
    Kokkos::Tools::Experimental::set_deallocate_data_callback(&on_deallocate);
  }
  static std::int64_t allocations() { return state().allocations; }
  static std::int64_t bytes_held() { return state().held; }
  static std::int64_t peak_bytes() { return state().peak; }
  /// Restarts the high-water mark from the bytes held now.
  static void reset_peak() { state().peak = state().held; }

 private:
  struct State {
    std::int64_t allocations = 0, held = 0, peak = 0;
  };
  static State& state() {
    static State s;
    return s;
  }
  static void on_allocate(Kokkos::Profiling::SpaceHandle, const char*, const void*,
                          std::uint64_t size) {
    State& s = state();
    ++s.allocations;
    s.held += static_cast<std::int64_t>(size);
    s.peak = std::max(s.peak, s.held);
  }
  static void on_deallocate(Kokkos::Profiling::SpaceHandle, const char*, const void*,
                            std::uint64_t size) {
    state().held -= static_cast<std::int64_t>(size);
  }
};

/// Sets the GB/s and triad-fraction counters for `bytes_per_call` moved per iteration.
inline void report_bandwidth(benchmark::State& state, double bytes_per_call, double triad_gbps) {
  const double per_iter = bytes_per_call * 1e-9;
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes_per_call * state.iterations()));
  state.counters["bytes"] = bytes_per_call;
  state.counters["GBps"] =
      benchmark::Counter(per_iter * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["triad_fraction"] =
      benchmark::Counter(per_iter * state.iterations() / triad_gbps, benchmark::Counter::kIsRate);
}

}  // namespace bench
}  // namespace kinv
