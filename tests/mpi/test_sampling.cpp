// A distributed stack of Downsampling (several filters, factors and paddings), Decolorize and
// Denoising operators against the single-process reference at any rank count and with every
// gather strategy: A and forward bitwise equal, adjoints equal to rounding.
#include <kinv/distributed/stacked_physics.hpp>
#include <kinv/operators/decolorize.hpp>
#include <kinv/operators/denoising.hpp>
#include <kinv/operators/downsampling.hpp>
#include <kinv/physics/stacked.hpp>

#include "mpi_test.hpp"
#include "test_helpers.hpp"

#include <limits>
#include <memory>
#include <string>

namespace kinv {
namespace {

using test::all_strategies;
using test::RankChecks;

constexpr std::int64_t C = 3, H = 24, W = 22;

// Operator i of the stack; every one takes (B, 3, 24, 22) images.
template <class T>
std::unique_ptr<LinearPhysics<T>> sampling_operator(std::int64_t i) {
  const Shape img{C, H, W};
  switch (i % 6) {
    case 0:
      return std::make_unique<Downsampling<T>>(DownsamplingFilter::Bicubic, 2, Padding::Circular,
                                               img);
    case 1:
      return std::make_unique<Decolorize<T>>();
    case 2:
      return std::make_unique<Downsampling<T>>(DownsamplingFilter::Gaussian, 3, Padding::Reflect,
                                               img);
    case 3:
      return std::make_unique<Denoising<T>>(std::make_shared<GaussianNoise<T>>(T(0.1), 77));
    case 4:
      return std::make_unique<Downsampling<T>>(DownsamplingFilter::Sinc, 2, Padding::Valid, img);
    default:
      return std::make_unique<Downsampling<T>>(DownsamplingFilter::None, 5, Padding::Circular, img);
  }
}

template <class T>
StackedLinearPhysics<T> stacked_reference(std::int64_t n) {
  StackedLinearPhysics<T> s;
  for (std::int64_t i = 0; i < n; ++i) s.push_back(sampling_operator<T>(i));
  return s;
}

template <class T>
class Sampling : public ::testing::Test {};
TYPED_TEST_SUITE(Sampling, test::ScalarTypes);

template <class T>
std::string label(GatherStrategy s, std::int64_t n) {
  return to_string(s) + ", N=" + std::to_string(n) + ", " + (sizeof(T) == 4 ? "float" : "double");
}

TYPED_TEST(Sampling, StackMatchesTheReference) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const double tol = 64 * std::numeric_limits<T>::epsilon();
  for (auto s : all_strategies)
    for (std::int64_t n : {3, 6}) {
      const std::string what = label<T>(s, n);
      checks.no_throw(
          [&] {
            DistributedOptions opts;
            opts.gather_strategy = s;
            DistributedStackedLinearPhysics<T> A(ctx, n, sampling_operator<T>, opts);
            auto ref = stacked_reference<T>(n);
            const Tensor<T> x = test::random_tensor<T>({2, C, H, W}, 11);
            for (int rep = 0; rep < 2; ++rep) {  // first call, then steady state
              const TensorList<T> y = A.A(x), yr = ref.A(x);
              checks.expect(static_cast<std::int64_t>(y.size()) == n, what + ": list length");
              for (std::int64_t i = 0; i < n && i < static_cast<std::int64_t>(y.size()); ++i)
                checks.expect(test::bitwise_equal(y[i], yr[i]),
                              what + ": A of operator " + std::to_string(i));
            }
            // Cotangents of every measurement's shape.
            TensorList<T> v;
            for (std::int64_t i = 0; i < n; ++i)
              v.push_back(test::random_tensor<T>(ref[i].output_shape(x.shape()),
                                                 20 + static_cast<std::uint64_t>(i)));
            auto close = [&](const Tensor<T>& a, const Tensor<T>& b, const std::string& m) {
              const double scale = 1.0 + static_cast<double>(test::norm(b));
              checks.expect(
                  a.shape() == b.shape() && test::max_abs_diff(a, b) <= tol * scale,
                  what + ": " + m + " differs by " + std::to_string(test::max_abs_diff(a, b)));
            };
            for (int rep = 0; rep < 2; ++rep) {
              close(A.A_adjoint(v), ref.A_adjoint(v), "A_adjoint");
              close(A.A_adjoint_A(x), ref.A_adjoint_A(x), "A_adjoint_A");
            }
            // Noise keyed by operator index: forward is the same at any rank count.
            for (int draw = 0; draw < 2; ++draw) {
              const TensorList<T> y = A.forward(x), yr = ref.forward(x);
              for (std::int64_t i = 0; i < n && i < static_cast<std::int64_t>(y.size()); ++i)
                checks.expect(test::bitwise_equal(y[i], yr[i]),
                              what + ": forward of operator " + std::to_string(i));
            }
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Sampling, BadInputIsRaisedOnEveryRank) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  for (auto s : all_strategies) {
    DistributedOptions opts;
    opts.gather_strategy = s;
    DistributedStackedLinearPhysics<T> A(ctx, 3, sampling_operator<T>, opts);
    // Two channels: Decolorize (operator 1) refuses, whichever rank owns it.
    checks.expect_throws<Error>(
        [&] {
          A.A(Tensor<T>("x", {1, 2, H, W}));
        },
        to_string(s) + ": two channels");
    checks.no_throw(
        [&] {
          A.A(test::random_tensor<T>({1, C, H, W}, 3));
        },
        to_string(s) + ": A after the error");
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

}  // namespace
}  // namespace kinv
