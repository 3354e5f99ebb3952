// End-to-end benchmarks: distributed stacks as applications run them, on the workloads that
// perf/compare/deepinv_e2e.py runs with deepinv, so that one table compares the two.
//
//   mpiexec -n 2 kinv_bench_e2e --benchmark_filter=e2e/blur3 --benchmark_out=e2e.json \
//       --benchmark_out_format=json
//
// Workloads (float, batch 1, gather strategy concatenated):
//   blur3  deepinv's distributed demo: 512x512 RGB, circular Gaussian blurs of standard deviation
//          1.0, 2.5 and (1.5, 3.5) rotated by 30 degrees
//   blur8  the same plus 1.5, 2.0, 3.0, (1.0, 3.0) at 60 degrees and (2.0, 4.0) at 120 degrees
//   tomo   256x256, 180 parallel-beam angles at 1 degree in 4 interleaved operators of 45,
//          ceil(sqrt(2) 256) = 363 detectors (deepinv's count without `circle`)
// Each benchmark e2e/<workload>/<op>/ranks:<P>, op in A, A_adjoint (of A's result) and
// A_adjoint_A, builds a fresh stack; real_time is the median over calls of the slowest rank's
// time and first_call_ms the first call's; the steady state starts at the third call, as the
// second allocates the other half of the double-buffered results (held results stay valid while
// the next call writes). Per rank (the largest over ranks is reported):
// peak_rss_MiB, the process's resident high-water mark so far (run one workload per process to
// attribute it), peak_alloc_MiB, the high-water mark of Kokkos allocations during the benchmark,
// and allocs_per_call, Kokkos allocations per steady-state call; mpi_calls_per_call and
// metadata_calls_per_call count the steady-state MPI calls.
#include "bench_mpi.hpp"

#include <cmath>
#include <memory>
#include <random>
#include <string>

namespace {

using T = float;

kinv::DistributedContext* g_ctx = nullptr;

struct Workload {
  std::string name;
  kinv::Shape input;
  std::int64_t operators;
  std::function<std::unique_ptr<kinv::LinearPhysics<T>>(std::int64_t)> factory;
  int iterations;
};

struct Sigma {
  double h, w, angle;
};

std::unique_ptr<kinv::LinearPhysics<T>> gaussian_blur(const Sigma& s) {
  return std::make_unique<kinv::Blur<T>>(kinv::gaussian_kernel<T>(s.h, s.w, s.angle),
                                         kinv::Padding::Circular);
}

Workload blur_workload(const std::string& name, std::vector<Sigma> sigmas) {
  const auto n = static_cast<std::int64_t>(sigmas.size());
  return {name, kinv::Shape{1, 3, 512, 512}, n,
          [sigmas](std::int64_t i) { return gaussian_blur(sigmas[static_cast<std::size_t>(i)]); },
          10};
}

std::vector<Workload> workloads() {
  const std::vector<Sigma> three = {{1.0, 1.0, 0}, {2.5, 2.5, 0}, {1.5, 3.5, 30}};
  std::vector<Sigma> eight = three;
  for (const Sigma& s : {Sigma{1.5, 1.5, 0}, Sigma{2.0, 2.0, 0}, Sigma{3.0, 3.0, 0},
                         Sigma{1.0, 3.0, 60}, Sigma{2.0, 4.0, 120}})
    eight.push_back(s);
  const std::int64_t W = 256;
  Workload tomo{"tomo", kinv::Shape{1, 1, W, W}, 4,
                [W](std::int64_t i) {
                  kinv::TomographyOptions o;
                  for (int m = 0; m < 45; ++m) o.angles.push_back(4.0 * m + static_cast<double>(i));
                  o.detector_count = static_cast<std::int64_t>(std::ceil(std::sqrt(2.0) * W));
                  return std::make_unique<kinv::Tomography<T>>(W, o);
                },
                5};
  return {blur_workload("blur3", three), blur_workload("blur8", eight), tomo};
}

enum class Op { A, A_adjoint, A_adjoint_A };

const char* op_name(Op op) {
  switch (op) {
    case Op::A:
      return "A";
    case Op::A_adjoint:
      return "A_adjoint";
    default:
      return "A_adjoint_A";
  }
}

void BM_E2E(benchmark::State& state, const Workload& w, Op op) {
  using kinv::bench::AllocationCounter;
  for (auto _ : state) {
    AllocationCounter::reset_peak();
    const std::int64_t held_before = AllocationCounter::bytes_held();
    kinv::DistributedStackedLinearPhysics<T> A(*g_ctx, w.operators, w.factory);
    std::vector<T> values(static_cast<std::size_t>(w.input.size()));
    std::mt19937 rng(0);
    std::uniform_real_distribution<T> uniform(0, 1);
    for (T& v : values) v = uniform(rng);
    const kinv::Tensor<T> x = kinv::from_vector("x", w.input, values);
    kinv::TensorList<T> y;
    kinv::Tensor<T> z;
    std::function<void()> call;
    switch (op) {
      case Op::A:
        call = [&] { y = A.A(x); };
        break;
      case Op::A_adjoint:
        y = A.A(x);
        call = [&] { z = A.A_adjoint(y); };
        break;
      case Op::A_adjoint_A:
        call = [&] { z = A.A_adjoint_A(x); };
        break;
    }
    const double first = kinv::bench::slowest_times(1, call)[0];
    call();  // the second call allocates the second of the double-buffered results
    kinv::bench::reset_mpi_counts();
    const std::int64_t allocs_before = AllocationCounter::allocations();
    const auto times = kinv::bench::slowest_times(w.iterations, call);
    const double allocs = static_cast<double>(AllocationCounter::allocations() - allocs_before);
    const auto counts = kinv::bench::mpi_counts();
    const double peak_alloc =
        static_cast<double>(AllocationCounter::peak_bytes() - held_before) / (1 << 20);

    state.SetIterationTime(kinv::bench::median(times));
    state.counters["ranks"] = g_ctx->size();
    state.counters["operators"] = static_cast<double>(w.operators);
    state.counters["threads_per_rank"] = kinv::ExecutionSpace().concurrency();
    state.counters["first_call_ms"] = first * 1e3;
    state.counters["peak_rss_MiB"] = kinv::bench::max_over_ranks(kinv::bench::peak_rss_mib());
    state.counters["peak_alloc_MiB"] = kinv::bench::max_over_ranks(peak_alloc);
    state.counters["allocs_per_call"] = kinv::bench::max_over_ranks(allocs / w.iterations);
    state.counters["mpi_calls_per_call"] =
        kinv::bench::max_over_ranks(static_cast<double>(counts.total()) / w.iterations);
    state.counters["metadata_calls_per_call"] =
        kinv::bench::max_over_ranks(static_cast<double>(counts.metadata) / w.iterations);
  }
}

}  // namespace

int main(int argc, char** argv) {
  kinv::bench::initialize(argc, argv);
  {
    kinv::DistributedContext ctx;
    g_ctx = &ctx;
    // No triad here: its 768 MiB would become every workload's resident high-water mark.
    kinv::bench::add_context("kinv", -1, ctx.size());
    benchmark::AddCustomContext("mpi_library", ctx.comm().library_version());
    static const auto all = workloads();
    const std::string ranks = "/ranks:" + std::to_string(ctx.size());
    for (const Workload& w : all)
      for (Op op : {Op::A, Op::A_adjoint, Op::A_adjoint_A})
        benchmark::RegisterBenchmark(("e2e/" + w.name + "/" + op_name(op) + ranks).c_str(),
                                     [&w, op](benchmark::State& st) { BM_E2E(st, w, op); })
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    kinv::bench::run_benchmarks();
    g_ctx = nullptr;
  }
  kinv::bench::finalize();
  return 0;
}
