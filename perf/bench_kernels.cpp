// Kernel benchmarks: each operator's A and A^T, with bytes moved, GB/s and the fraction of a
// STREAM-style triad measured in this binary at start-up (context key triad_GBps).
//
// Names: BM_<Operator>[3D]<float|double>/<n>/<adjoint 0|1>[/<more args>]/real_time, n the
// image side (n x n, or n^3 in 3-D). "bytes" is the compulsory traffic of one call: every input
// read once and every output written once (a mask or filter broadcast over channels counts
// once); caches can only make the true traffic larger. Sizes run from 64^2 to 4096^2 where a
// call stays under about a second on one core; the caps are noted at each registration. A full
// run takes about 10 minutes on one core of the development machine.
//
//   kinv_bench_kernels --benchmark_out=kernels.json --benchmark_out_format=json
#include "bench_common.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

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
  // One untimed call: FFT plans, cached spectra and workspaces are made on the first call.
  if (adjoint)
    op.A_adjoint(y, x);
  else
    op.A(x, y);
  Kokkos::fence();
  for (auto _ : state) {
    if (adjoint)
      op.A_adjoint(y, x);
    else
      op.A(x, y);
    Kokkos::fence();
  }
  report(state, bytes);
}

// ---------------------------------------------------------------------------------------------
// Pointwise and masking operators (memory bound: compare GBps with triad_GBps)

// The memory-bound operators on (1, 3, n, n) RGB, with the bytes of one call of A and of A^T
// (every input read once, every output written once):
//   Inpainting: a (1, n, n) pixelwise mask broadcast over the channels: x, mask read, y written.
//   Denoising: the identity (a copy): x read, y written.
//   Decolorize: RGB -> gray and back: 3 n^2 + n^2 either way (A reads 3 planes, writes 1).
//   Downsampling by 2 without a filter (plain decimation): A reads only the kept rows (n / 2
//   rows of n pixels: every cache line of a kept row holds a kept pixel); A^T writes all of x.
enum class MemoryBound { Inpainting, Denoising, Decolorize, Downsampling };

template <class T>
struct MemoryBoundCase {
  std::unique_ptr<kinv::LinearPhysics<T>> op;
  kinv::Shape xs;
  double bytes[2];  // A, A^T
};

// Bytes of one Downsampling call: x read (n^2 per channel) or, for None's A, its kept rows; y
// ((n / f)^2 per channel) written.
double downsampling_bytes(std::int64_t n, std::int64_t f, bool no_filter, bool adjoint,
                          std::size_t element) {
  const double ny = static_cast<double>((n + f - 1) / f);
  const double x_bytes = no_filter && !adjoint ? ny * n : static_cast<double>(n) * n;
  return 3.0 * (x_bytes + ny * ny) * static_cast<double>(element);
}

template <class T>
MemoryBoundCase<T> memory_bound_case(MemoryBound kind, std::int64_t n) {
  MemoryBoundCase<T> c;
  c.xs = kinv::Shape{1, 3, n, n};
  const double plane = static_cast<double>(n) * n * sizeof(T);
  switch (kind) {
    case MemoryBound::Inpainting:
      c.op = std::make_unique<kinv::Inpainting<T>>(kinv::Shape{1, n, n}, 0.5, 1);
      c.bytes[0] = c.bytes[1] = 7.0 * plane;
      break;
    case MemoryBound::Denoising:
      c.op = std::make_unique<kinv::Denoising<T>>();
      c.bytes[0] = c.bytes[1] = 6.0 * plane;
      break;
    case MemoryBound::Decolorize:
      c.op = std::make_unique<kinv::Decolorize<T>>(3);
      c.bytes[0] = c.bytes[1] = 4.0 * plane;
      break;
    case MemoryBound::Downsampling:
      c.op = std::make_unique<kinv::Downsampling<T>>(kinv::DownsamplingFilter::None, 2,
                                                     kinv::Padding::Circular, kinv::Shape{3, n, n});
      c.bytes[0] = downsampling_bytes(n, 2, true, false, sizeof(T));
      c.bytes[1] = downsampling_bytes(n, 2, true, true, sizeof(T));
      break;
  }
  return c;
}

template <class T, MemoryBound kind>
void BM_MemoryBound(benchmark::State& state) {
  const MemoryBoundCase<T> c = memory_bound_case<T>(kind, state.range(0));
  const bool adjoint = state.range(1) != 0;
  run_linear<T>(state, *c.op, c.xs, adjoint, c.bytes[adjoint ? 1 : 0]);
}

// (1, 1, n, n, n) volume, a mask of the same (n, n, n) shape. bytes: x, mask read; y written.
template <class T>
void BM_Inpainting3D(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  kinv::Inpainting<T> op(kinv::Shape{1, n, n, n}, 0.5, 1);
  const double bytes = 3.0 * n * n * n * sizeof(T);
  run_linear<T>(state, op, {1, 1, n, n, n}, state.range(1) != 0, bytes);
}

// Paired runs of the memory-bound kernels. This machine's bandwidth moves by up to 3x from one
// minute to the next, so the fraction of a triad taken at start-up says little about a kernel
// timed later. Each iteration here is one round: a triad over 2^24 doubles (384 MiB moved) and
// one call of the kernel, back to back. Counters, medians over the rounds: kernel_GBps,
// round_triad_GBps and paired_fraction (each round's kernel bandwidth over the same round's
// triad). Arguments: kind (MemoryBound), n, adjoint.
template <class T>
void BM_Paired(benchmark::State& state) {
  const MemoryBoundCase<T> c =
      memory_bound_case<T>(static_cast<MemoryBound>(state.range(0)), state.range(1));
  const bool adjoint = state.range(2) != 0;
  const double bytes = c.bytes[adjoint ? 1 : 0];
  kinv::Tensor<T> x("x", c.xs), y("y", c.op->output_shape(c.xs));
  kinv::fill(x, T(1));
  kinv::fill(y, T(1));
  const std::int64_t nt = std::int64_t(1) << 24;
  Kokkos::View<double*, kinv::MemorySpace> ta("ta", nt), tb("tb", nt), tc("tc", nt);
  const auto seconds = [](auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    Kokkos::fence();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const auto call = [&] {
    if (adjoint)
      c.op->A_adjoint(y, x);
    else
      c.op->A(x, y);
  };
  call();
  kinv::bench::triad_once(ta, tb, tc);
  std::vector<double> kernel, triad, fraction;
  for (auto _ : state) {
    const double tt = seconds([&] { kinv::bench::triad_once(ta, tb, tc); });
    const double tk = seconds(call);
    kernel.push_back(bytes / tk * 1e-9);
    triad.push_back(3.0 * nt * sizeof(double) / tt * 1e-9);
    fraction.push_back(kernel.back() / triad.back());
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.empty() ? 0.0 : v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
  };
  state.counters["bytes"] = bytes;
  state.counters["kernel_GBps"] = median(kernel);
  state.counters["round_triad_GBps"] = median(triad);
  state.counters["paired_fraction"] = median(fraction);
}

// ---------------------------------------------------------------------------------------------
// Convolutions (compute bound for the direct kernels: see taps and GMACs)

// Arguments: n, adjoint, 10 sigma of an isotropic gaussian_kernel (2: 3x3, 5: 5x5, 7: 7x7,
// 10: 9x9, 25: 19x19, 35: 25x25, the sizes of deepinv's distributed demo), algorithm (0 Auto, 1
// Direct, 2 FFT). Circular padding, (1, 3, n, n). bytes: x read, y written.
template <class T>
void BM_Blur(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const kinv::BlurAlgorithm algorithm = static_cast<kinv::BlurAlgorithm>(state.range(3));
  kinv::Blur<T> op(kinv::gaussian_kernel<T>(static_cast<double>(state.range(2)) / 10.0),
                   kinv::Padding::Circular, algorithm);
  const double taps = static_cast<double>(op.filter().size());
  state.counters["taps"] = taps;
  state.counters["fft"] = op.uses_fft() ? 1 : 0;
  run_linear<T>(state, op, {1, 3, n, n}, state.range(1) != 0, 2.0 * 3 * n * n * sizeof(T));
  // Multiply-adds of the direct convolution (also for the FFT path: the work it replaces).
  state.counters["GMACs"] = benchmark::Counter(3.0 * n * n * taps * 1e-9 * state.iterations(),
                                               benchmark::Counter::kIsRate);
}

void blur_args(benchmark::internal::Benchmark* b) {
  for (std::int64_t adj : {0, 1}) {
    // Direct: O(n^2 taps); 25x25 at 2048^2 would take ~3 s a call, so the largest filters stop
    // at 1024^2 and 2048^2 runs the 9x9 only.
    for (std::int64_t n : {64, 256, 512, 1024})
      for (std::int64_t s : {10, 25, 35}) b->Args({n, adj, s, 1});
    b->Args({2048, adj, 10, 1});
    // FFT: O(n^2 log n) whatever the filter; 4096^2 RGB is ~3 s a call, stop at 2048^2.
    for (std::int64_t n : {64, 256, 512, 1024, 2048})
      for (std::int64_t s : {10, 25, 35}) b->Args({n, adj, s, 2});
    // Small blurs (3x3, 5x5, 7x7: memory bound when direct), and where Auto's switch lies.
    for (std::int64_t n : {512, 2048})
      for (std::int64_t s : {2, 5, 7}) b->Args({n, adj, s, 1});
    for (std::int64_t s : {2, 5, 7}) b->Args({512, adj, s, 2});
    // Auto on deepinv's demo size.
    for (std::int64_t s : {10, 25, 35}) b->Args({512, adj, s, 0});
  }
}

#if KINV_HAVE_FFT
// BlurFFT (image size given at construction). Arguments: n, adjoint, 10 sigma. bytes as Blur.
template <class T>
void BM_BlurFFT(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  kinv::BlurFFT<T> op(kinv::Shape{3, n, n},
                      kinv::gaussian_kernel<T>(static_cast<double>(state.range(2)) / 10.0));
  state.counters["taps"] = static_cast<double>(op.filter().size());
  run_linear<T>(state, op, {1, 3, n, n}, state.range(1) != 0, 2.0 * 3 * n * n * sizeof(T));
}
#endif  // KINV_HAVE_FFT

// Anti-aliasing and decimation by f: only the kept outputs are computed. Arguments: n, adjoint,
// f, filter (0 None: plain decimation, memory bound; 1 Bilinear, 2 f x 2 f taps; 2 Bicubic,
// 4 f x 4 f taps). bytes: x read (n^2 per channel), y written ((n / f)^2 per channel); for None
// A reads only the kept rows (n / f rows of n pixels: every cache line of a kept row holds a kept
// pixel), while A^T writes all of x.
template <class T>
void BM_Downsampling(benchmark::State& state) {
  const std::int64_t n = state.range(0), f = state.range(2);
  const kinv::DownsamplingFilter filters[] = {kinv::DownsamplingFilter::None,
                                              kinv::DownsamplingFilter::Bilinear,
                                              kinv::DownsamplingFilter::Bicubic};
  const kinv::DownsamplingFilter filter = filters[state.range(3)];
  kinv::Downsampling<T> op(filter, f, kinv::Padding::Circular, kinv::Shape{3, n, n});
  state.counters["taps"] = static_cast<double>(op.filter().size());
  const bool adjoint = state.range(1) != 0;
  run_linear<T>(
      state, op, {1, 3, n, n}, adjoint,
      downsampling_bytes(n, f, filter == kinv::DownsamplingFilter::None, adjoint, sizeof(T)));
}

// ---------------------------------------------------------------------------------------------
// Tomography: x (1, 1, n, n), y (1, 1, n, angles). bytes: x read, y written.

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

// ---------------------------------------------------------------------------------------------
// MRI: x (1, 2, n, n) (real and imaginary planes), a random (n, n) 0/1 mask.
// bytes: x read, mask read, y written (2 + 1 + 2 planes).

#if KINV_HAVE_FFT
template <class T>
kinv::Tensor<T> random_mask(const kinv::Shape& shape) {
  kinv::Inpainting<T> source(shape, 0.25, 3);  // only for its Bernoulli mask
  kinv::Tensor<T> ones(kinv::Tensor<T>("ones", shape));
  kinv::fill(ones, T(1));
  return source.A(ones);
}

template <class T>
void BM_MRI(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  kinv::MRI<T> op(random_mask<T>({n, n}));
  run_linear<T>(state, op, {1, 2, n, n}, state.range(1) != 0, 5.0 * n * n * sizeof(T));
}

// 3-D: x (1, 2, n, n, n), mask (n, n, n). bytes as MRI, per voxel.
template <class T>
void BM_MRI3D(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  kinv::MRI<T> op(random_mask<T>({n, n, n}), true);
  run_linear<T>(state, op, {1, 2, n, n, n}, state.range(1) != 0, 5.0 * n * n * n * sizeof(T));
}

// Multi-coil: x (1, 2, n, n), coils N (third argument), maps (2, N, n, n), y (1, 2, N, n, n).
// bytes: x, maps, mask read; y written (2 + 2 N + 1 + 2 N planes).
template <class T>
void BM_MultiCoilMRI(benchmark::State& state) {
  const std::int64_t n = state.range(0), coils = state.range(2);
  const kinv::Tensor<T> maps = random_mask<T>({2, coils, n, n});
  kinv::MultiCoilMRI<T> op(random_mask<T>({n, n}), maps);
  run_linear<T>(state, op, {1, 2, n, n}, state.range(1) != 0,
                (3.0 + 4.0 * coils) * n * n * sizeof(T));
}
#endif  // KINV_HAVE_FFT

// ---------------------------------------------------------------------------------------------
// Matrices

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

// A 5-point Laplacian on an n x n grid (periodic), as CRS: 5 n^2 entries.
// bytes: values (T) and column indices (int) read, row offsets (int) read, x read, y written;
// the adjoint's gather reads one more int per entry (the entry's position in the values).
template <class T>
void BM_SparseMatrixPhysics(benchmark::State& state) {
  const std::int64_t n = state.range(0), N = n * n;
  kinv::CrsArrays<T> crs;
  crs.row_map.reserve(static_cast<std::size_t>(N + 1));
  crs.row_map.push_back(0);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < n; ++c) {
      const std::int64_t cols[5] = {((r + n - 1) % n) * n + c, r * n + (c + n - 1) % n, r * n + c,
                                    r * n + (c + 1) % n, ((r + 1) % n) * n + c};
      std::vector<std::int64_t> sorted(cols, cols + 5);
      std::sort(sorted.begin(), sorted.end());
      for (std::int64_t col : sorted) {
        crs.entries.push_back(col);
        crs.values.push_back(col == r * n + c ? T(4) : T(-1));
      }
      crs.row_map.push_back(static_cast<std::int64_t>(crs.entries.size()));
    }
  kinv::SparseMatrixPhysics<T> op(crs, kinv::Shape{1, n, n}, kinv::Shape{1, n, n});
  const double nnz = static_cast<double>(crs.entries.size());
  const bool adjoint = state.range(1) != 0;
  const double bytes = nnz * (sizeof(T) + (adjoint ? 2.0 : 1.0) * sizeof(int)) +
                       (N + 1.0) * sizeof(int) + 2.0 * static_cast<double>(N) * sizeof(T);
  run_linear<T>(state, op, {1, 1, n, n}, adjoint, bytes);
}

}  // namespace

BENCHMARK(BM_Triad)->RangeMultiplier(4)->Range(1 << 16, 1 << 24)->UseRealTime();

#define KINV_BENCH_BOTH(name, ...)                             \
  BENCHMARK_TEMPLATE(name, float)->__VA_ARGS__->UseRealTime(); \
  BENCHMARK_TEMPLATE(name, double)->__VA_ARGS__->UseRealTime()

const std::vector<std::int64_t> kSides = {64, 256, 1024, 4096};
#define KINV_BENCH_MEMORY_BOUND(name, kind)                     \
  BENCHMARK_TEMPLATE(BM_MemoryBound, float, MemoryBound::kind)  \
      ->Name("BM_" #name "<float>")                             \
      ->ArgsProduct({kSides, {0, 1}})                           \
      ->UseRealTime();                                          \
  BENCHMARK_TEMPLATE(BM_MemoryBound, double, MemoryBound::kind) \
      ->Name("BM_" #name "<double>")                            \
      ->ArgsProduct({kSides, {0, 1}})                           \
      ->UseRealTime()
KINV_BENCH_MEMORY_BOUND(Inpainting, Inpainting);
KINV_BENCH_BOTH(BM_Inpainting3D, ArgsProduct({{32, 128, 256}, {0, 1}}));
KINV_BENCH_MEMORY_BOUND(Denoising, Denoising);
KINV_BENCH_MEMORY_BOUND(Decolorize, Decolorize);
// Paired with a triad, 12 rounds, where the data are past the cache (4096^2) and where they fit
// (1024^2).
KINV_BENCH_BOTH(BM_Paired, ArgsProduct({{0, 1, 2, 3}, {1024, 4096}, {0, 1}})->Iterations(12));
KINV_BENCH_BOTH(BM_Blur, Apply(blur_args));
#if KINV_HAVE_FFT
// As Blur's FFT path, stopping at 2048^2 (4096^2 RGB is seconds per call).
KINV_BENCH_BOTH(BM_BlurFFT, ArgsProduct({{64, 256, 512, 1024, 2048}, {0, 1}, {10, 35}}));
#endif  // KINV_HAVE_FFT
KINV_BENCH_BOTH(BM_Downsampling, ArgsProduct({{256, 1024, 4096}, {0, 1}, {2, 4}, {0, 1, 2}}));
// Tomography: O(n^2 angles); the 32-angle sizes of the original benchmark plus 512 and 1024.
KINV_BENCH_BOTH(BM_Tomography, ArgsProduct({{64, 256, 512, 1024}, {0, 1}, {32}}));
#if KINV_HAVE_FFT
// MRI: FFT bound; 4096^2 is ~1 s a call on one core, so stop at 2048^2.
KINV_BENCH_BOTH(BM_MRI, ArgsProduct({{64, 256, 1024, 2048}, {0, 1}}));
KINV_BENCH_BOTH(BM_MRI3D, ArgsProduct({{32, 64, 128}, {0, 1}}));
// 4 coils: 9 planes per call; stop at 1024^2.
KINV_BENCH_BOTH(BM_MultiCoilMRI, ArgsProduct({{64, 256, 1024}, {0, 1}, {4}}));
#endif  // KINV_HAVE_FFT
// Dense m x n^2 matrix with m = n^2 / 4: n^4 / 4 entries (64: 4 M, 128 would be 67 M = 0.5 GB in
// double and minutes to generate), so n stays at 32 and 64.
KINV_BENCH_BOTH(BM_CompressedSensing, ArgsProduct({{32, 64}, {0, 1}, {1, 8}}));
KINV_BENCH_BOTH(BM_SparseMatrixPhysics, ArgsProduct({{64, 256, 1024, 2048}, {0, 1}}));

int main(int argc, char** argv) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  g_triad_gbps = kinv::bench::measure_triad_gbps();
  kinv::bench::add_context("kinv", g_triad_gbps, 1);
  // The copy bandwidth is the usual yardstick on GPUs; report.py shows the fraction of it.
  benchmark::AddCustomContext("copy_GBps", std::to_string(kinv::bench::measure_copy_gbps()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
