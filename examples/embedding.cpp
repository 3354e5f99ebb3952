// kinv inside a Kokkos simulation code. The code owns its fields (Kokkos Views) and its
// execution space instances (streams on GPUs, thread partitions on OpenMP); kinv's operators
// read and write those Views where they are and run on those instances, so no copy and no
// fence is needed between the simulation's kernels and kinv's.
//
// The "simulation" advances a diffusing field on its own instance. A distributed stack of
// observation operators (blurs and masks, spread over the MPI ranks) observes it on the same
// instance, queued right behind the simulation's kernels; a single blur writes into a View the
// code owns, on a second instance. The program checks every result against the same operators
// run on the default instance after a fence, and exits with a non-zero status on a mismatch.
//
//   mpiexec -n 2 kinv_embedding [--size N] [--steps S]
#include <kinv/kinv.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

namespace {

using T = float;
using Field = Kokkos::View<T****, Kokkos::LayoutRight, kinv::MemorySpace>;

// One explicit diffusion step u <- u + 0.2 * laplacian(u) (periodic), on `space`.
void diffuse(const kinv::ExecutionSpace& space, const Field& u, const Field& tmp) {
  const int H = static_cast<int>(u.extent(2)), W = static_cast<int>(u.extent(3));
  Kokkos::parallel_for(
      "sim::diffuse",
      Kokkos::MDRangePolicy<kinv::ExecutionSpace, Kokkos::Rank<2>>(space, {0, 0}, {H, W}),
      KOKKOS_LAMBDA(const int i, const int j) {
        const int n = (i + H - 1) % H, s = (i + 1) % H, w = (j + W - 1) % W, e = (j + 1) % W;
        tmp(0, 0, i, j) = u(0, 0, i, j) + T(0.2) * (u(0, 0, n, j) + u(0, 0, s, j) + u(0, 0, i, w) +
                                                    u(0, 0, i, e) - T(4) * u(0, 0, i, j));
      });
  Kokkos::deep_copy(space, u, tmp);  // ordered on `space`
}

// Observation operator i: Gaussian blurs of growing width, and random masks.
std::unique_ptr<kinv::LinearPhysics<T>> observation(std::int64_t i, std::int64_t n) {
  if (i % 2 == 0)
    return std::make_unique<kinv::Blur<T>>(kinv::gaussian_kernel<T>(0.8 + 0.4 * double(i)),
                                           kinv::Padding::Circular);
  return std::make_unique<kinv::Inpainting<T>>(kinv::Shape{1, n, n}, 0.6,
                                               static_cast<std::uint64_t>(i));
}

int run(kinv::DistributedContext& ctx, std::int64_t n, int steps) {
  // The simulation's instances: `sim` for the field's evolution, `post` for post-processing.
  const auto instances = kinv::compat::partition_instances(kinv::ExecutionSpace(), 2);
  const kinv::ExecutionSpace& sim = instances[0];
  const kinv::ExecutionSpace& post = instances[1];

  // The simulation's own data: a bump that diffuses.
  Field u("sim::u", 1, 1, n, n), tmp("sim::tmp", 1, 1, n, n), blurred("sim::blurred", 1, 1, n, n);
  Kokkos::parallel_for(
      "sim::init",
      Kokkos::MDRangePolicy<kinv::ExecutionSpace, Kokkos::Rank<2>>(sim, {0, 0}, {n, n}),
      KOKKOS_LAMBDA(const std::int64_t i, const std::int64_t j) {
        const T di = T(i) - T(n) / 3, dj = T(j) - T(n) / 2;
        u(0, 0, i, j) = T(1) / (T(1) + (di * di + dj * dj) / T(16));
      });

  // Observation operators spread over the ranks, running on the simulation's instance.
  const std::int64_t num_ops = 4;
  kinv::DistributedStackedLinearPhysics<T> obs(ctx, num_ops,
                                               [n](std::int64_t i) { return observation(i, n); });
  obs.set_execution_space(sim);

  // The field as a kinv tensor: a view of the same memory, not a copy.
  const kinv::Tensor<T> x(u);
  bool ok = x.data() == u.data();

  T misfit = 0;
  kinv::TensorList<T> y;
  for (int s = 0; s < steps; ++s) {
    diffuse(sim, u, tmp);  // queued on `sim`
    y = obs.A(x);          // on `sim` too: sees the step's result without a fence
  }
  // The adjoint of the observations (the shape of a gradient), on `sim`.
  const kinv::Tensor<T> g = obs.A_adjoint(y);

  // A single blur on the other instance, written straight into the code's own View.
  kinv::Blur<T> blur(kinv::gaussian_kernel<T>(1.5), kinv::Padding::Circular);
  blur.set_execution_space(post);
  sim.fence();  // `post` reads the field `sim` wrote
  blur.A(x, kinv::Tensor<T>(blurred));
  post.fence();

  // The same operators on the default instance, after everything is done: the reference.
  Kokkos::fence();
  kinv::StackedLinearPhysics<T> reference;
  for (std::int64_t i = 0; i < num_ops; ++i) reference.push_back(observation(i, n));
  const kinv::TensorList<T> yr = reference.A(x);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const auto a = kinv::to_vector(y[i]), b = kinv::to_vector(yr[i]);
    for (std::size_t k = 0; k < a.size(); ++k) {
      misfit = std::max(misfit, std::abs(a[k] - b[k]));
      ok = ok && a[k] == b[k];
    }
  }
  const auto gr = kinv::to_vector(reference.A_adjoint(yr)), gv = kinv::to_vector(g);
  T adjoint_err = 0, scale = 0;
  for (std::size_t k = 0; k < gr.size(); ++k) {
    adjoint_err = std::max(adjoint_err, std::abs(gr[k] - gv[k]));
    scale = std::max(scale, std::abs(gr[k]));
  }
  ok = ok && adjoint_err <= 1e-5f * (1 + scale);
  const auto br =
      kinv::to_vector(kinv::Blur<T>(kinv::gaussian_kernel<T>(1.5), kinv::Padding::Circular).A(x));
  const auto bv = kinv::to_vector(kinv::Tensor<T>(blurred));
  ok = ok && br == bv;

  if (ctx.rank() == 0) {
    std::printf("kinv embedded in a Kokkos code: %d ranks, backend %s, %lld x %lld field\n",
                ctx.size(), kinv::ExecutionSpace::name(), static_cast<long long>(n),
                static_cast<long long>(n));
    std::printf(
        "  %d diffusion steps, each observed by %lld operators on the simulation's "
        "instance\n",
        steps, static_cast<long long>(num_ops));
    std::printf("  field used in place: %s\n", x.data() == u.data() ? "yes" : "no");
    std::printf("  observations against the default-instance reference: max |d| = %.1e\n",
                double(misfit));
    std::printf("  adjoint: max |d| = %.1e; blur into the code's View on a second instance: %s\n",
                double(adjoint_err), br == bv ? "identical" : "DIFFERENT");
    std::printf("  %s\n", ok ? "all results agree" : "MISMATCH");
  }
  // Every rank's verdict counts.
  const int all_ok = ctx.comm().allreduce_min(ok ? 1 : 0);
  return all_ok == 1 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  kinv::DistributedContext ctx(argc, argv);
  try {
    std::int64_t n = 96;
    int steps = 3;
    for (int i = 1; i + 1 < argc; ++i) {
      const std::string k = argv[i];
      if (k == "--size") n = std::stoll(argv[++i]);
      if (k == "--steps") steps = std::stoi(argv[++i]);
    }
    return run(ctx, n, steps);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", ctx.rank(), e.what());
    return 2;
  }
}
