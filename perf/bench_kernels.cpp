// Kernel benchmarks: each operator's A and A^T, with bytes moved, GB/s and the fraction of a
// STREAM-style triad measured in this binary at start-up (context key triad_GBps).
//
//   kinv_bench_kernels --benchmark_out=kernels.json --benchmark_out_format=json
#include "bench_common.hpp"

#include <string>

namespace {

double g_triad_gbps = 0;

void report(benchmark::State& state, double bytes_per_call) {
  kinv::bench::report_bandwidth(state, bytes_per_call, g_triad_gbps);
}

void BM_Triad(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  Kokkos::View<double*, kinv::MemorySpace> a("a", n), b("b", n), c("c", n);
  for (auto _ : state) {
    kinv::bench::triad_once(a, b, c);
  }
  report(state, 3.0 * n * sizeof(double));
}

// Times op.A (adjoint = false) or op.A_adjoint (true) into preallocated outputs.
template <class T>
void run_linear(benchmark::State& state, const kinv::LinearPhysics<T>& op, const kinv::Shape& xs,
                bool adjoint, double bytes) {
  const kinv::Shape ys = op.output_shape(xs);
  kinv::Tensor<T> x("x", xs), y("y", ys);
  kinv::fill(x, T(1));
  kinv::fill(y, T(1));
  for (auto _ : state) {
    if (adjoint)
      op.A_adjoint(y, x);
    else
      op.A(x, y);
    Kokkos::fence();
  }
  report(state, bytes);
}

template <class T>
void BM_Inpainting(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  kinv::Inpainting<T> op(kinv::Shape{1, n, n}, 0.5, 1);
  // x read, mask read (broadcast over 3 channels, counted once), y written.
  const double bytes = (2.0 * 3 * n * n + n * n) * sizeof(T);
  run_linear<T>(state, op, {1, 3, n, n}, state.range(1) != 0, bytes);
}

template <class T>
void BM_Blur(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  kinv::Blur<T> op(kinv::gaussian_kernel<T>(static_cast<double>(state.range(2)) / 10.0),
                   kinv::Padding::Circular);
  state.counters["taps"] = static_cast<double>(op.filter().size());
  run_linear<T>(state, op, {1, 3, n, n}, state.range(1) != 0, 2.0 * 3 * n * n * sizeof(T));
}

// Bicubic anti-aliasing (4 f x 4 f taps) and decimation by f: only the kept outputs are computed.
template <class T>
void BM_Downsampling(benchmark::State& state) {
  const std::int64_t n = state.range(0), f = state.range(2);
  kinv::Downsampling<T> op(kinv::DownsamplingFilter::Bicubic, f, kinv::Padding::Circular,
                           kinv::Shape{3, n, n});
  state.counters["taps"] = static_cast<double>(op.filter().size());
  const double ny = static_cast<double>((n + f - 1) / f);
  run_linear<T>(state, op, {1, 3, n, n}, state.range(1) != 0,
                3.0 * (static_cast<double>(n) * n + ny * ny) * sizeof(T));
}

template <class T>
void BM_Tomography(benchmark::State& state) {
  const std::int64_t n = state.range(0), angles = state.range(2);
  kinv::Tomography<T> op(n, angles);
  const double updates = static_cast<double>(op.detector_count()) * op.num_samples() * angles;
  run_linear<T>(state, op, {1, 1, n, n}, state.range(1) != 0,
                (static_cast<double>(n) * n + op.detector_count() * angles) * sizeof(T));
  state.counters["GUPS"] =
      benchmark::Counter(updates * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
}

template <class T>
void BM_CompressedSensing(benchmark::State& state) {
  // An n x n single-channel image, m = n^2 / 4 measurements; a batch of 1 runs gemv, more gemm.
  const std::int64_t n = state.range(0), batch = state.range(2), m = n * n / 4;
  kinv::CompressedSensing<T> op(m, kinv::Shape{1, n, n}, 1);
  // The matrix is read once per call (gemm reuses it across the batch); x read, y written.
  const double bytes = (static_cast<double>(m) * n * n + batch * (m + n * n)) * sizeof(T);
  run_linear<T>(state, op, {batch, 1, n, n}, state.range(1) != 0, bytes);
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * m * n * n * batch * 1e-9 * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_Triad)->RangeMultiplier(4)->Range(1 << 16, 1 << 24)->UseRealTime();
BENCHMARK_TEMPLATE(BM_Inpainting, float)
    ->ArgsProduct({{64, 256, 1024, 4096}, {0, 1}})
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Inpainting, double)
    ->ArgsProduct({{64, 256, 1024, 4096}, {0, 1}})
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Blur, float)->ArgsProduct({{64, 256, 1024}, {0, 1}, {10, 25}})->UseRealTime();
BENCHMARK_TEMPLATE(BM_Blur, double)
    ->ArgsProduct({{64, 256, 1024}, {0, 1}, {10, 25}})
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Downsampling, float)
    ->ArgsProduct({{256, 1024}, {0, 1}, {2, 4}})
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Downsampling, double)
    ->ArgsProduct({{256, 1024}, {0, 1}, {2, 4}})
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Tomography, float)->ArgsProduct({{64, 256}, {0, 1}, {32}})->UseRealTime();
BENCHMARK_TEMPLATE(BM_Tomography, double)->ArgsProduct({{64, 256}, {0, 1}, {32}})->UseRealTime();
BENCHMARK_TEMPLATE(BM_CompressedSensing, float)
    ->ArgsProduct({{32, 64}, {0, 1}, {1, 8}})
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_CompressedSensing, double)
    ->ArgsProduct({{32, 64}, {0, 1}, {1, 8}})
    ->UseRealTime();

int main(int argc, char** argv) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  g_triad_gbps = kinv::bench::measure_triad_gbps();
  kinv::bench::add_context("kinv", g_triad_gbps, 1);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
