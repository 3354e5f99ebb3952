#include "bench_mpi.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kinv {
namespace bench {

MpiCounts& mpi_counts() {
  static MpiCounts counts;
  return counts;
}

double max_over_ranks(double v) {
  double m = v;
  PMPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return m;
}

std::vector<double> slowest_times(int iterations, const std::function<void()>& f) {
  std::vector<double> times;
  times.reserve(static_cast<std::size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    PMPI_Barrier(MPI_COMM_WORLD);
    const auto t0 = std::chrono::steady_clock::now();
    f();
    Kokkos::fence();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    times.push_back(max_over_ranks(s));
  }
  return times;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double peak_rss_mib() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

namespace {
class NullReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};
}  // namespace

int initialize(int& argc, char**& argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // Every rank must run the same benchmarks in the same order: a shuffle (seeded per process)
  // would pair different collectives across ranks and hang.
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--benchmark_enable_random_interleaving", 38) == 0 &&
        std::strstr(argv[i], "=false") == nullptr) {
      if (rank == 0)
        std::fprintf(stderr,
                     "%s: --benchmark_enable_random_interleaving is not supported: every rank "
                     "must run the benchmarks in the same order\n",
                     argv[0]);
      MPI_Finalize();
      std::exit(2);
    }
  if (rank != 0) {
    int kept = 0;
    for (int i = 0; i < argc; ++i)
      if (std::strncmp(argv[i], "--benchmark_out", 15) != 0) argv[kept++] = argv[i];
    argc = kept;
  }
  Kokkos::initialize(argc, argv);
  AllocationCounter::install();
  benchmark::Initialize(&argc, argv);
  return rank;
}

void run_benchmarks() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    NullReporter null;
    benchmark::RunSpecifiedBenchmarks(&null);
  }
}

void finalize() {
  benchmark::Shutdown();
  Kokkos::finalize();
  MPI_Finalize();
}

}  // namespace bench
}  // namespace kinv

// ---- the MPI profiling interface: count, then forward ------------------------------------------
using kinv::bench::mpi_counts;

extern "C" {

int MPI_Allgatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
                   const int recvcounts[], const int displs[], MPI_Datatype recvtype,
                   MPI_Comm comm) {
  ++mpi_counts().data;
  return PMPI_Allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm);
}

int MPI_Allgather(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
                  int recvcount, MPI_Datatype recvtype, MPI_Comm comm) {
  ++mpi_counts().metadata;
  return PMPI_Allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);
}

int MPI_Allreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                  MPI_Comm comm) {
  ++(count > 1 ? mpi_counts().data : mpi_counts().metadata);
  return PMPI_Allreduce(sendbuf, recvbuf, count, datatype, op, comm);
}

int MPI_Iallreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                   MPI_Comm comm, MPI_Request* request) {
  ++(count > 1 ? mpi_counts().data : mpi_counts().status);
  return PMPI_Iallreduce(sendbuf, recvbuf, count, datatype, op, comm, request);
}

int MPI_Ibcast(void* buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm,
               MPI_Request* request) {
  ++mpi_counts().data;
  return PMPI_Ibcast(buffer, count, datatype, root, comm, request);
}

int MPI_Bcast(void* buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm) {
  // Results (the broadcast strategy's small gathers) travel as floats or doubles; sizes and
  // byte blocks are metadata.
  const bool data = datatype == MPI_FLOAT || datatype == MPI_DOUBLE;
  ++(data ? mpi_counts().data : mpi_counts().metadata);
  return PMPI_Bcast(buffer, count, datatype, root, comm);
}

// Persistent operations (the broadcast strategy's small gathers): each started request is one
// broadcast of results.
int MPI_Startall(int count, MPI_Request requests[]) {
  mpi_counts().data += count;
  return PMPI_Startall(count, requests);
}

int MPI_Start(MPI_Request* request) {
  ++mpi_counts().data;
  return PMPI_Start(request);
}

int MPI_Barrier(MPI_Comm comm) {
  ++mpi_counts().metadata;
  return PMPI_Barrier(comm);
}

}  // extern "C"
