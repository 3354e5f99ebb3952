// Communication benchmarks: each gather strategy of a distributed stack, and its reduction,
// against the raw MPI collective moving the same bytes, from 4 KiB to 64 MiB.
//
//   mpiexec -n 2 kinv_bench_comm --benchmark_out=comm.json --benchmark_out_format=json
//
// The stack has one operator per rank whose kernels do nothing, so only assembly is timed:
//   comm/<strategy>/<bytes>/ranks:<P>   strategy in naive, concatenated, broadcast (A, every rank
//                                       receives all P results, `bytes` in total) and reduce
//                                       (A_adjoint: a sum of `bytes` over the ranks)
//   comm/reduce_reproducible/<bytes>/ranks:<P>
//                                       the same sum with DistributedOptions::reproducible
//                                       (every rank's term gathered, added in operator order)
//   comm/engine_<strategy>/<bytes>/ranks:<P>
//                                       concatenated and broadcast through the gather engine
//                                       alone (comm::GatherEngine, a layout of one result per
//                                       rank, a compute step that writes nothing): the strategy's
//                                       own cost, without the stack's operator calls
//   comm/paired_<strategy>/<bytes>/ranks:<P>
//                                       concatenated (against MPI_Allgatherv) and broadcast
//                                       (against the MPI_Bcast loop), each call of the stack
//                                       alternating with one raw call: paired_ratio
//   comm/raw_allgatherv|raw_bcast_loop|raw_allreduce/<bytes>/ranks:<P>
//                                       MPI_Allgatherv, one blocking MPI_Bcast per operator from
//                                       its owner, MPI_Allreduce, on buffers of the same sizes
// real_time is the median over calls of the slowest rank's time; first_call_us is the first call
// of a new stack (layout agreement and buffer allocation included); the steady state starts at
// the third call (the second allocates the other half of the double buffer). allocs_per_call
// counts Kokkos allocations in the steady state; mpi_calls_per_call,
// metadata_calls_per_call and status_calls_per_call count the steady-state MPI calls (see
// bench_mpi.hpp for the classes).
#include "bench_mpi.hpp"

#include <functional>
#include <memory>
#include <string>

namespace {

using T = float;

/// A linear operator from Shape{n} to Shape{n} whose kernels do nothing.
class NullOperator : public kinv::LinearPhysics<T> {
 public:
  explicit NullOperator(std::int64_t n) : m_n(n) {}
  std::string name() const override { return "NullOperator"; }
  kinv::Shape output_shape(const kinv::Shape&) const override { return kinv::Shape{m_n}; }
  kinv::Shape input_shape(const kinv::Shape&) const override { return kinv::Shape{m_n}; }

 protected:
  void apply_A(const kinv::Tensor<T>&, const kinv::Tensor<T>&) const override {}
  void apply_A_adjoint(const kinv::Tensor<T>&, const kinv::Tensor<T>&, bool) const override {}

 private:
  std::int64_t m_n;
};

kinv::DistributedContext* g_ctx = nullptr;

int iterations_for(std::int64_t bytes) {
  const std::int64_t it = (std::int64_t(256) << 20) / bytes;
  return static_cast<int>(std::max<std::int64_t>(10, std::min<std::int64_t>(200, it)));
}

void record(benchmark::State& state, std::int64_t bytes, double first_s,
            const std::vector<double>& times, const kinv::bench::MpiCounts* counts,
            int iterations) {
  const double t = kinv::bench::median(times);
  state.SetIterationTime(t);
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["ranks"] = g_ctx->size();
  state.counters["first_call_us"] = first_s * 1e6;
  state.counters["GBps"] = static_cast<double>(bytes) / t * 1e-9;
  if (counts == nullptr) return;  // the raw collectives' calls are not counted
  state.counters["mpi_calls_per_call"] = static_cast<double>(counts->total()) / iterations;
  state.counters["metadata_calls_per_call"] = static_cast<double>(counts->metadata) / iterations;
  state.counters["status_calls_per_call"] = static_cast<double>(counts->status) / iterations;
}

// Elements of each rank's result when one result per rank makes `bytes` in all.
std::int64_t per_rank_elements(std::int64_t bytes) {
  return std::max<std::int64_t>(1, bytes / (g_ctx->size() * std::int64_t(sizeof(T))));
}

// A fresh stack of one NullOperator per rank, results of n elements.
std::unique_ptr<kinv::DistributedStackedLinearPhysics<T>> null_stack(kinv::GatherStrategy strategy,
                                                                     std::int64_t n,
                                                                     bool reproducible = false) {
  kinv::DistributedOptions opts;
  opts.gather_strategy = strategy;
  opts.reproducible = reproducible;
  return std::make_unique<kinv::DistributedStackedLinearPhysics<T>>(
      *g_ctx, g_ctx->size(), [n](std::int64_t) { return std::make_unique<NullOperator>(n); }, opts);
}

// kinv's strategies (gather) or its reduction (reduce = true) on a fresh stack.
void BM_Strategy(benchmark::State& state, kinv::GatherStrategy strategy, bool reduce,
                 std::int64_t bytes, bool reproducible = false) {
  const std::int64_t n = reduce ? bytes / std::int64_t(sizeof(T)) : per_rank_elements(bytes);
  for (auto _ : state) {
    const auto stack = null_stack(strategy, n, reproducible);
    auto& A = *stack;
    kinv::Tensor<T> x("x", kinv::Shape{n});
    kinv::TensorList<T> y;
    kinv::Tensor<T> z;
    const int iters = iterations_for(bytes);
    double first = 0;
    std::int64_t allocs = 0;
    std::vector<double> times;
    if (reduce) {
      y = A.A(x);
      first = kinv::bench::slowest_times(1, [&] { z = A.A_adjoint(y); })[0];
      z = A.A_adjoint(y);  // allocates the other half of the double buffer
      kinv::bench::reset_mpi_counts();
      allocs = kinv::bench::AllocationCounter::allocations();
      times = kinv::bench::slowest_times(iters, [&] { z = A.A_adjoint(y); });
    } else {
      first = kinv::bench::slowest_times(1, [&] { y = A.A(x); })[0];
      y = A.A(x);
      kinv::bench::reset_mpi_counts();
      allocs = kinv::bench::AllocationCounter::allocations();
      times = kinv::bench::slowest_times(iters, [&] { y = A.A(x); });
    }
    allocs = kinv::bench::AllocationCounter::allocations() - allocs;
    state.counters["allocs_per_call"] =
        kinv::bench::max_over_ranks(static_cast<double>(allocs) / iters);
    record(state, bytes, first, times, &kinv::bench::mpi_counts(), iters);
  }
}

// The gather engine alone: the same results (one per rank, `bytes` in total), no operators.
void BM_Engine(benchmark::State& state, kinv::GatherStrategy strategy, std::int64_t bytes) {
  const int P = g_ctx->size();
  const std::int64_t n = per_rank_elements(bytes);
  const std::vector<kinv::Shape> shapes(static_cast<std::size_t>(P), kinv::Shape{n});
  std::vector<int> owner(static_cast<std::size_t>(P));
  for (int r = 0; r < P; ++r) owner[static_cast<std::size_t>(r)] = r;
  const kinv::comm::GatherLayout layout = kinv::comm::GatherLayout::build(
      kinv::Shape{n}, shapes, owner, P, g_ctx->rank(), kinv::comm::slot_alignment<T>());
  for (auto _ : state) {
    kinv::comm::GatherEngine<T> engine(g_ctx->comm());
    const kinv::comm::LocalCompute<T> compute = [](std::size_t, const kinv::Tensor<T>&) {};
    kinv::TensorList<T> y;
    auto call = [&] {
      kinv::comm::Status status;
      const bool ok = strategy == kinv::GatherStrategy::Broadcast
                          ? engine.broadcast(layout, false, compute, status, y)
                          : engine.concatenated(layout, false, compute, status, y);
      if (!ok) throw kinv::CommError("engine benchmark: a rank reported a failure");
    };
    const int iters = iterations_for(bytes);
    const double first = kinv::bench::slowest_times(1, call)[0];
    call();
    kinv::bench::reset_mpi_counts();
    const auto times = kinv::bench::slowest_times(iters, call);
    record(state, bytes, first, times, &kinv::bench::mpi_counts(), iters);
  }
}

enum class Raw { Allgatherv, BcastLoop, Allreduce };

// The raw MPI collective on plain buffers of the same sizes (device buffers when MPI takes
// device pointers, host buffers otherwise).
class RawCall {
 public:
  RawCall(Raw kind, std::int64_t bytes) : m_kind(kind) {
    const int P = g_ctx->size();
    const bool device = g_ctx->comm().gpu_aware();
    m_n = kind == Raw::Allreduce ? bytes / std::int64_t(sizeof(T)) : per_rank_elements(bytes);
    const std::int64_t total = kind == Raw::Allreduce ? m_n : m_n * P;
    m_dsend = Kokkos::View<T*, kinv::MemorySpace>("send", m_n);
    m_drecv = Kokkos::View<T*, kinv::MemorySpace>("recv", total);
    m_hsend = Kokkos::View<T*, Kokkos::HostSpace>("send", m_n);
    m_hrecv = Kokkos::View<T*, Kokkos::HostSpace>("recv", total);
    m_send = device ? m_dsend.data() : m_hsend.data();
    m_recv = device ? m_drecv.data() : m_hrecv.data();
    m_counts.assign(static_cast<std::size_t>(P), static_cast<int>(m_n));
    m_displs.resize(static_cast<std::size_t>(P));
    for (int r = 0; r < P; ++r) m_displs[r] = static_cast<int>(r * m_n);
  }
  void operator()() {
    const int n = static_cast<int>(m_n);
    switch (m_kind) {
      case Raw::Allgatherv:
        MPI_Allgatherv(m_send, n, MPI_FLOAT, m_recv, m_counts.data(), m_displs.data(), MPI_FLOAT,
                       MPI_COMM_WORLD);
        break;
      case Raw::BcastLoop:
        for (std::size_t r = 0; r < m_counts.size(); ++r)
          MPI_Bcast(m_recv + m_displs[r], n, MPI_FLOAT, static_cast<int>(r), MPI_COMM_WORLD);
        break;
      case Raw::Allreduce:
        MPI_Allreduce(MPI_IN_PLACE, m_recv, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        break;
    }
  }

 private:
  Raw m_kind;
  std::int64_t m_n = 0;
  Kokkos::View<T*, kinv::MemorySpace> m_dsend, m_drecv;
  Kokkos::View<T*, Kokkos::HostSpace> m_hsend, m_hrecv;
  T* m_send = nullptr;
  T* m_recv = nullptr;
  std::vector<int> m_counts, m_displs;
};

void BM_Raw(benchmark::State& state, Raw kind, std::int64_t bytes) {
  RawCall call(kind, bytes);
  for (auto _ : state) {
    const int iters = iterations_for(bytes);
    const double first = kinv::bench::slowest_times(1, std::ref(call))[0];
    const auto times = kinv::bench::slowest_times(iters, std::ref(call));
    record(state, bytes, first, times, nullptr, iters);
  }
}

// A strategy and its raw collective timed in alternation, call by call: this machine's speed
// drifts by 2-3x between benchmarks run a few seconds apart, which makes ratios of separate runs
// scatter. Counters: kinv_us and raw_us (medians of the slowest rank's times) and paired_ratio
// (the median of the per-round ratios kinv / raw).
void BM_PairedGather(benchmark::State& state, kinv::GatherStrategy strategy, std::int64_t bytes) {
  const std::int64_t n = per_rank_elements(bytes);
  RawCall raw(strategy == kinv::GatherStrategy::Broadcast ? Raw::BcastLoop : Raw::Allgatherv,
              bytes);
  for (auto _ : state) {
    const auto stack = null_stack(strategy, n);
    auto& A = *stack;
    kinv::Tensor<T> x("x", kinv::Shape{n});
    kinv::TensorList<T> y;
    auto call = [&] { y = A.A(x); };
    call();
    call();
    raw();
    const int rounds = iterations_for(bytes);
    std::vector<double> tk, tr, ratio;
    for (int i = 0; i < rounds; ++i) {
      tr.push_back(kinv::bench::slowest_times(1, std::ref(raw))[0]);
      tk.push_back(kinv::bench::slowest_times(1, call)[0]);
      ratio.push_back(tk.back() / tr.back());
    }
    const double t = kinv::bench::median(tk);
    state.SetIterationTime(t);
    state.counters["bytes"] = static_cast<double>(bytes);
    state.counters["ranks"] = g_ctx->size();
    state.counters["kinv_us"] = t * 1e6;
    state.counters["raw_us"] = kinv::bench::median(tr) * 1e6;
    state.counters["paired_ratio"] = kinv::bench::median(ratio);
  }
}

// One benchmark named comm/<name>/<bytes>/ranks:<P>: a single timed iteration (the benchmark
// times its calls itself), in microseconds.
template <class F>
void add(const std::string& name, F f) {
  benchmark::RegisterBenchmark(("comm/" + name).c_str(), f)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

void register_all(int P) {
  const std::string ranks = "/ranks:" + std::to_string(P);
  for (std::int64_t bytes = 4096; bytes <= (std::int64_t(64) << 20); bytes *= 4) {
    const std::string b = "/" + std::to_string(bytes) + ranks;
    for (auto s : {kinv::GatherStrategy::Naive, kinv::GatherStrategy::Concatenated,
                   kinv::GatherStrategy::Broadcast})
      add(kinv::to_string(s) + b, [=](benchmark::State& st) { BM_Strategy(st, s, false, bytes); });
    for (auto s : {kinv::GatherStrategy::Concatenated, kinv::GatherStrategy::Broadcast})
      add("engine_" + kinv::to_string(s) + b,
          [=](benchmark::State& st) { BM_Engine(st, s, bytes); });
    add("reduce" + b, [=](benchmark::State& st) {
      BM_Strategy(st, kinv::GatherStrategy::Concatenated, true, bytes);
    });
    add("reduce_reproducible" + b, [=](benchmark::State& st) {
      BM_Strategy(st, kinv::GatherStrategy::Concatenated, true, bytes, true);
    });
    for (auto s : {kinv::GatherStrategy::Concatenated, kinv::GatherStrategy::Broadcast})
      add("paired_" + kinv::to_string(s) + b,
          [=](benchmark::State& st) { BM_PairedGather(st, s, bytes); });
    const std::pair<const char*, Raw> raws[] = {{"raw_allgatherv", Raw::Allgatherv},
                                                {"raw_bcast_loop", Raw::BcastLoop},
                                                {"raw_allreduce", Raw::Allreduce}};
    for (const auto& raw : raws) {
      const Raw kind = raw.second;
      add(std::string(raw.first) + b, [=](benchmark::State& st) { BM_Raw(st, kind, bytes); });
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  kinv::bench::initialize(argc, argv);
  {
    kinv::DistributedContext ctx;
    g_ctx = &ctx;
    kinv::bench::add_context("kinv", kinv::bench::measure_triad_gbps(3), ctx.size());
    benchmark::AddCustomContext("mpi_library", ctx.comm().library_version());
    benchmark::AddCustomContext("gpu_aware_mpi", ctx.comm().gpu_aware() ? "yes" : "no");
    register_all(ctx.size());
    kinv::bench::run_benchmarks();
    g_ctx = nullptr;
  }
  kinv::bench::finalize();
  return 0;
}
