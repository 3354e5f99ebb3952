// FFT-based operators distributed: a stack of MultiCoilMRI operators (one per coil) and BlurFFT
// operators at any rank count equals the single-process stack, for every gather strategy: A
// bitwise, adjoints to rounding.
#include <kinv/distributed/stacked_physics.hpp>
#include <kinv/operators/blur.hpp>
#include <kinv/operators/blur_fft.hpp>
#include <kinv/operators/mri.hpp>
#include <kinv/physics/stacked.hpp>

#include "mpi_test.hpp"
#include "test_helpers.hpp"

#include <memory>

namespace kinv {
namespace {

using test::all_strategies;
using test::RankChecks;

template <class T>
class DistributedFFT : public ::testing::Test {};
TYPED_TEST_SUITE(DistributedFFT, test::ScalarTypes);

constexpr std::int64_t H = 10, W = 9;

// Operator i: even i a MultiCoilMRI for coil i / 2 of one acquisition (its mask and its slice
// of the coil maps, a pure function of the coil), odd i a BlurFFT of growing width. Inputs are
// (B, 2, H, W): complex images for MRI, two channels for the blur.
template <class T>
std::unique_ptr<LinearPhysics<T>> fft_operator(std::int64_t i) {
  if (i % 2 == 0) {
    const std::uint64_t coil = static_cast<std::uint64_t>(i / 2);
    auto m = to_vector(test::random_tensor<T>({H, W}, 1000, T(0), T(1)));  // shared mask
    for (auto& v : m) v = v > T(0.5) ? T(1) : T(0);
    return std::make_unique<MultiCoilMRI<T>>(from_vector<T>("mask", Shape{H, W}, m),
                                             test::random_tensor<T>({1, 2, 1, H, W}, 2000 + coil));
  }
  return std::make_unique<BlurFFT<T>>(Shape{2, H, W}, gaussian_kernel<T>(0.3 + 0.1 * double(i)));
}

TYPED_TEST(DistributedFFT, MatchesTheStackedReference) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) { return fft_operator<T>(i); };
  const double tol = 64 * std::numeric_limits<T>::epsilon();
  for (auto s : all_strategies)
    for (std::int64_t n : {3, 6}) {
      const std::string what =
          to_string(s) + ", N=" + std::to_string(n) + ", " + (sizeof(T) == 4 ? "float" : "double");
      checks.no_throw(
          [&] {
            DistributedStackedLinearPhysics<T> A(ctx, n, make, test::with_strategy(s));
            StackedLinearPhysics<T> ref;
            for (std::int64_t i = 0; i < n; ++i) ref.push_back(make(i));
            for (std::int64_t B : {2, 1, 2}) {  // steady state, another shape, back again
              const Tensor<T> x = test::random_tensor<T>({B, 2, H, W}, 7 + std::uint64_t(B));
              const TensorList<T> y = A.A(x);
              const TensorList<T> yr = ref.A(x);
              checks.expect(static_cast<std::int64_t>(y.size()) == n, what + ": list length");
              for (std::int64_t i = 0; i < n && i < static_cast<std::int64_t>(y.size()); ++i)
                checks.expect(test::bitwise_equal(y[static_cast<std::size_t>(i)],
                                                  yr[static_cast<std::size_t>(i)]),
                              what + ": A of operator " + std::to_string(i));
              const Tensor<T> z = A.A_adjoint(yr);
              const Tensor<T> zr = ref.A_adjoint(yr);
              const double scale = 1.0 + static_cast<double>(test::norm(zr));
              checks.expect(
                  z.shape() == zr.shape() && test::max_abs_diff(z, zr) <= tol * scale,
                  what + ": A_adjoint differs by " + std::to_string(test::max_abs_diff(z, zr)));
              const Tensor<T> zz = A.A_adjoint_A(x);
              const Tensor<T> zzr = ref.A_adjoint_A(x);
              checks.expect(
                  test::max_abs_diff(zz, zzr) <= tol * (1.0 + static_cast<double>(test::norm(zzr))),
                  what + ": A_adjoint_A");
            }
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

}  // namespace
}  // namespace kinv
