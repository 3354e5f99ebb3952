// The user's view of kinv, exactly as DESIGN.md shows it: this must compile and run as written.
// clang-format off
#include <kinv/kinv.hpp>

int main(int argc, char** argv) {
  kinv::DistributedContext ctx(argc, argv);     // MPI + Kokkos up (if not already), RAII down
  using T = float;
  auto factory = [](int i, const kinv::Device& device, const kinv::FactoryArgs<T>& kwargs) {
    return std::make_unique<kinv::Blur<T>>(kinv::gaussian_kernel<T>(1.0 + 0.5 * i),
                                           kinv::Padding::Circular);
  };
  kinv::DistributedOptions opts;
  opts.gather_strategy = kinv::GatherStrategy::Concatenated;   // or parse "naive" | "broadcast"
  kinv::DistributedStackedLinearPhysics<T> A(ctx, /*num_operators=*/8, factory, opts);

  kinv::Tensor<T> x("x", {1, 3, 512, 512});       // (B, C, H, W), device memory
  kinv::TensorList<T> y = A.A(x);                 // every operator's measurement, on every rank
  kinv::Tensor<T> z = A.A_adjoint(y);             // sum_i A_i^T y_i, all-reduced
}
