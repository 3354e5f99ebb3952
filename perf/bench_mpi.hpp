// What the MPI benchmarks (bench_comm, bench_e2e) share: counts of the MPI calls kinv makes
// (through the MPI profiling interface: bench_mpi.cpp defines MPI_Allgatherv and the others in
// the benchmark binary, counts, and forwards to PMPI_*), the slowest rank's time of a call, and
// a Google Benchmark set-up where every rank runs the same benchmarks but only rank 0 reports.
#pragma once

#include "bench_common.hpp"

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kinv {
namespace bench {

/// Calls made through the interposed MPI functions since the last reset.
struct MpiCounts {
  /// Collectives moving operator data: MPI_Allgatherv, MPI_Ibcast, MPI_Bcast of floats or
  /// doubles, MPI_Allreduce of more than one element, and each persistent operation started
  /// (MPI_Start, MPI_Startall).
  std::int64_t data = 0;
  /// Everything else that communicates: MPI_Allgather, other MPI_Bcast, MPI_Barrier, one-element
  /// MPI_Allreduce (sizes, flags, error agreement).
  std::int64_t metadata = 0;
  /// One-element MPI_Iallreduce: the broadcast strategy's status flag, overlapped with the data.
  std::int64_t status = 0;
  std::int64_t total() const { return data + metadata + status; }
};

MpiCounts& mpi_counts();
inline void reset_mpi_counts() { mpi_counts() = MpiCounts{}; }

/// Times of `iterations` calls of f, each started together (barrier) and measured as the
/// slowest rank's time. Bookkeeping goes through PMPI, so it is not counted.
std::vector<double> slowest_times(int iterations, const std::function<void()>& f);
/// The slowest rank's value.
double max_over_ranks(double v);
double median(std::vector<double> v);
/// The process's resident-set high-water mark in MiB (getrusage).
double peak_rss_mib();

/// Initialises MPI, Kokkos and Google Benchmark; ranks other than 0 drop --benchmark_out*
/// and report nothing. Returns the rank.
int initialize(int& argc, char**& argv);
/// Runs the registered benchmarks; rank 0 reports.
void run_benchmarks();
/// Shuts Google Benchmark, Kokkos and MPI down (after every kinv object is gone).
void finalize();

}  // namespace bench
}  // namespace kinv
