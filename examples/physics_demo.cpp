// The counterpart of deepinv's distributed physics demo: a stack of Gaussian blurs and
// tomography angle subsets on a 512x512 colour image, spread over the MPI ranks. It applies
// A, A^T and A^T A with each gather strategy, compares them with the single-process stack,
// prints the slowest rank's time per call, and writes the images to an output folder.
//
//   mpiexec -n 4 kinv_physics_demo [--out DIR] [--size N] [--angles PER_SUBSET]
//                                  [--subsets K] [--reps R] [--double]
#include <kinv/kinv.hpp>

#include "image_io.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace {

struct Args {
  std::string out = "out/demo";
  std::int64_t size = 512;
  std::int64_t angles = 12;  // per tomography subset
  std::int64_t subsets = 4;
  int reps = 1;
  bool use_double = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw kinv::ValueError("missing value after " + k);
      return argv[++i];
    };
    if (k == "--out")
      a.out = next();
    else if (k == "--size")
      a.size = std::stoll(next());
    else if (k == "--angles")
      a.angles = std::stoll(next());
    else if (k == "--subsets")
      a.subsets = std::stoll(next());
    else if (k == "--reps")
      a.reps = std::stoi(next());
    else if (k == "--double")
      a.use_double = true;
    else if (k.rfind("--kokkos", 0) != 0)
      throw kinv::ValueError("unknown option " + k);
  }
  if (a.size < 16 || a.angles < 1 || a.subsets < 1 || a.reps < 1)
    throw kinv::ValueError("need --size >= 16, --angles >= 1, --subsets >= 1, --reps >= 1");
  return a;
}

// deepinv's demo blurs: sigma 1, sigma 2.5, and (1.5, 3.5) rotated by 30 degrees; circular.
template <class T>
kinv::Tensor<T> demo_kernel(std::int64_t i) {
  if (i == 0) return kinv::gaussian_kernel<T>(1.0);
  if (i == 1) return kinv::gaussian_kernel<T>(2.5);
  return kinv::gaussian_kernel<T>(1.5, 3.5, 30.0);
}

// Subset k of K holds the angles 180 (k + K j) / (K m), j < m: interleaved, as CT codes split
// a scan for ordered-subset methods.
std::vector<double> subset_angles(std::int64_t k, std::int64_t K, std::int64_t m) {
  std::vector<double> a;
  for (std::int64_t j = 0; j < m; ++j)
    a.push_back(180.0 * static_cast<double>(k + K * j) / static_cast<double>(K * m));
  return a;
}

// Tomography subset k holds angles k, k + K, k + 2K, ... of the whole scan: put the columns of
// the K measurements (B, C, D, m) back in angle order, each repeated `rep` times.
template <class T>
kinv::Tensor<T> interleave_sinogram(const kinv::TensorList<T>& y, std::int64_t K,
                                    std::int64_t rep) {
  const kinv::Shape s = y[3].shape();
  const std::int64_t C = s[1], D = s[2], m = s[3];
  std::vector<T> out(static_cast<std::size_t>(C * D * K * m * rep));
  for (std::int64_t k = 0; k < K; ++k) {
    const auto v = kinv::to_vector(y[static_cast<std::size_t>(3 + k)]);
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t d = 0; d < D; ++d)
        for (std::int64_t j = 0; j < m; ++j)
          for (std::int64_t r = 0; r < rep; ++r)
            out[static_cast<std::size_t>(((c * D + d) * K * m + (k + K * j)) * rep + r)] =
                v[static_cast<std::size_t>((c * D + d) * m + j)];
  }
  return kinv::from_vector<T>("sinogram", {1, C, D, K * m * rep}, out);
}

// Seconds of the slowest rank for one call of f (collective).
template <class F>
double slowest(const kinv::DistributedContext& ctx, int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    ctx.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    Kokkos::fence();
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    const auto all = ctx.comm().allgather(static_cast<std::int64_t>(ns));
    t.push_back(static_cast<double>(*std::max_element(all.begin(), all.end())) * 1e-9);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

template <class T>
double max_abs(const kinv::Tensor<T>& a, const kinv::Tensor<T>& b) {
  const auto va = kinv::to_vector(a), vb = kinv::to_vector(b);
  double m = 0;
  for (std::size_t i = 0; i < va.size(); ++i)
    m = std::max(m, std::abs(static_cast<double>(va[i]) - static_cast<double>(vb[i])));
  return m;
}

template <class T>
double max_abs(const kinv::Tensor<T>& a) {
  double m = 0;
  for (T v : kinv::to_vector(a)) m = std::max(m, std::abs(static_cast<double>(v)));
  return m;
}

template <class T>
int run(kinv::DistributedContext& ctx, const Args& args) {
  const bool root = ctx.rank() == 0;
  const std::int64_t N = 3 + args.subsets, W = args.size;
  auto factory = [&](std::int64_t i) -> std::unique_ptr<kinv::LinearPhysics<T>> {
    if (i < 3) return std::make_unique<kinv::Blur<T>>(demo_kernel<T>(i), kinv::Padding::Circular);
    kinv::TomographyOptions o;
    o.angles = subset_angles(i - 3, args.subsets, args.angles);
    return std::make_unique<kinv::Tomography<T>>(W, o);
  };
  const kinv::Tensor<T> x = kinv::examples::test_image<T>(W, W);

  if (root) {
    std::printf("kinv distributed physics demo\n");
    std::printf("  ranks %d, backend %s, scalar %s, MPI: %s\n", ctx.size(),
                ctx.device().backend.c_str(), sizeof(T) == 4 ? "float" : "double",
                ctx.comm().library_version().c_str());
    std::printf(
        "  stack of %lld operators on x %s: 3 Gaussian blurs (circular) and %lld "
        "tomography subsets of %lld angles\n",
        static_cast<long long>(N), x.shape().to_string().c_str(),
        static_cast<long long>(args.subsets), static_cast<long long>(args.angles));
  }

  // The single-process reference, on rank 0 only.
  kinv::StackedLinearPhysics<T> ref;
  kinv::TensorList<T> y_ref;
  kinv::Tensor<T> adj_ref, ata_ref;
  if (root) {
    for (std::int64_t i = 0; i < N; ++i) ref.push_back(factory(i));
    y_ref = ref.A(x);
    adj_ref = ref.A_adjoint(y_ref);
    ata_ref = ref.A_adjoint_A(x);
  }

  struct Row {
    std::string strategy;
    double t_a, t_adj, t_ata, err_a, err_adj, err_ata;
  };
  std::vector<Row> rows;
  int failures = 0;
  kinv::TensorList<T> y_keep;
  kinv::Tensor<T> adj_keep;
  for (auto s : {kinv::GatherStrategy::Naive, kinv::GatherStrategy::Concatenated,
                 kinv::GatherStrategy::Broadcast}) {
    kinv::DistributedOptions opts;
    opts.gather_strategy = s;
    kinv::DistributedStackedLinearPhysics<T> A(ctx, N, factory, opts);
    kinv::TensorList<T> y;
    kinv::Tensor<T> adj, ata;
    Row row{kinv::to_string(s), 0, 0, 0, 0, 0, 0};
    row.t_a = slowest(ctx, args.reps, [&] { y = A.A(x); });
    row.t_adj = slowest(ctx, args.reps, [&] { adj = A.A_adjoint(y); });
    row.t_ata = slowest(ctx, args.reps, [&] { ata = A.A_adjoint_A(x); });
    if (root) {
      for (std::int64_t i = 0; i < N; ++i) row.err_a = std::max(row.err_a, max_abs(y[i], y_ref[i]));
      row.err_adj = max_abs(adj, adj_ref) / std::max(1e-30, max_abs(adj_ref));
      row.err_ata = max_abs(ata, ata_ref) / std::max(1e-30, max_abs(ata_ref));
      const double tol = 64 * std::numeric_limits<T>::epsilon();
      if (row.err_a != 0 || row.err_adj > tol || row.err_ata > tol) ++failures;
    }
    rows.push_back(row);
    y_keep = y;
    adj_keep = adj;
  }

  if (root) {
    std::printf("\n  slowest rank, median of %d calls; error against the single-process stack\n",
                args.reps);
    std::printf("  %-13s %10s %12s %14s   %-11s %-13s %-13s\n", "strategy", "A (ms)", "A^T (ms)",
                "A^T A (ms)", "A: max|d|", "A^T: rel", "A^T A: rel");
    for (const auto& r : rows)
      std::printf("  %-13s %10.1f %12.1f %14.1f   %-11.1e %-13.1e %-13.1e\n", r.strategy.c_str(),
                  1e3 * r.t_a, 1e3 * r.t_adj, 1e3 * r.t_ata, r.err_a, r.err_adj, r.err_ata);
    std::printf(
        "  (A is bitwise equal to the reference when its error is 0; the sums A^T and "
        "A^T A differ by rounding only)\n");

    namespace fs = std::filesystem;
    fs::create_directories(args.out);
    const fs::path dir(args.out);
    kinv::examples::write_png((dir / "input.png").string(), x, 0.0, 1.0);
    for (std::int64_t i = 0; i < 3; ++i)
      kinv::examples::write_png((dir / ("blur_" + std::to_string(i) + ".png")).string(), y_keep[i],
                                0.0, 1.0);
    // The subsets' columns back in angle order make one sinogram (4 pixels per angle).
    kinv::examples::write_png((dir / "sinogram.png").string(),
                              interleave_sinogram<T>(y_keep, args.subsets, 4));
    kinv::examples::write_png((dir / "adjoint.png").string(), adj_keep);
    std::printf(
        "\n  images written to %s: input.png, blur_0..2.png, sinogram.png (all angles), "
        "adjoint.png (A^T y)\n",
        args.out.c_str());
    std::printf("  %s\n", failures == 0 ? "all strategies agree with the single-process stack"
                                        : "MISMATCH with the single-process stack");
  }
  return ctx.comm().allreduce_max(failures) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  kinv::DistributedContext ctx(argc, argv);
  try {
    const Args args = parse(argc, argv);
    return args.use_double ? run<double>(ctx, args) : run<float>(ctx, args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", ctx.rank(), e.what());
    return 2;
  }
}
