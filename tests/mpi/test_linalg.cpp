// Distributed stacks of CompressedSensing, SparseMatrixPhysics and compositions against the
// single-process reference at any rank count and gather strategy: A bitwise, adjoints to
// rounding. Each rank builds its operators from the factory, so operator i must be the same
// matrix on every rank (seeded by i, drawn by the counter-based generator).
#include <kinv/distributed/stacked_physics.hpp>
#include <kinv/operators/blur.hpp>
#include <kinv/operators/compressed_sensing.hpp>
#include <kinv/operators/sparse_matrix.hpp>
#include <kinv/physics/composition.hpp>

#include "mpi_test.hpp"
#include "test_operators.hpp"

namespace kinv {
namespace {

using test::all_strategies;
using test::RankChecks;

template <class T>
class Linalg : public ::testing::Test {};
TYPED_TEST_SUITE(Linalg, test::ScalarTypes);

constexpr std::int64_t C = 2, H = 6, W = 5;

// Operator i: CompressedSensing, a random sparse matrix, CompressedSensing * Blur, by i % 3.
template <class T>
std::unique_ptr<LinearPhysics<T>> linalg_operator(std::int64_t i) {
  const auto seed = static_cast<std::uint64_t>(1000 + i);
  const Shape img{C, H, W};
  switch (i % 3) {
    case 0:
      return std::make_unique<CompressedSensing<T>>(20 + i, img, seed);
    case 1: {
      const std::int64_t rows = 15 + i, cols = img.size();
      const auto u = to_vector(test::random_tensor<double>({rows * cols, 2}, seed, 0.0, 1.0));
      CooArrays<T> coo;
      for (std::int64_t k = 0; k < rows * cols; ++k)
        if (u[static_cast<std::size_t>(2 * k)] < 0.15) {
          coo.rows.push_back(k / cols);
          coo.cols.push_back(k % cols);
          coo.values.push_back(static_cast<T>(2 * u[static_cast<std::size_t>(2 * k + 1)] - 1));
        }
      return std::make_unique<SparseMatrixPhysics<T>>(coo, img, Shape{rows});
    }
    default: {
      auto blur = std::make_shared<Blur<T>>(gaussian_kernel<T>(0.8), Padding::Circular);
      auto cs = std::make_shared<CompressedSensing<T>>(12 + i, img, seed);
      return compose(blur, cs);  // cs * blur
    }
  }
}

template <class T>
std::string label(GatherStrategy s, std::int64_t n) {
  return to_string(s) + ", N=" + std::to_string(n) + ", " + (sizeof(T) == 4 ? "float" : "double");
}

TYPED_TEST(Linalg, MatchesTheStackedReference) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  auto make = [](std::int64_t i) { return linalg_operator<T>(i); };
  const double tol = 64 * std::numeric_limits<T>::epsilon();
  for (auto s : all_strategies)
    for (std::int64_t n : {1, 3, 5}) {
      const std::string what = label<T>(s, n);
      checks.no_throw(
          [&] {
            DistributedOptions opts;
            opts.gather_strategy = s;
            DistributedStackedLinearPhysics<T> A(ctx, n, make, opts);
            auto ref = test::stacked_reference<T>(n, make);
            for (std::int64_t B : {2, 1}) {  // gemm, then gemv
              const Tensor<T> x = test::random_tensor<T>({B, C, H, W}, 7 + B);
              const TensorList<T> y = A.A(x), yr = ref.A(x);
              checks.expect(static_cast<std::int64_t>(y.size()) == n, what + ": list length");
              for (std::int64_t i = 0; i < n && i < static_cast<std::int64_t>(y.size()); ++i)
                checks.expect(
                    test::bitwise_equal(y[i], yr[i]),
                    what + ": A of operator " + std::to_string(i) + ", B=" + std::to_string(B));
              TensorList<T> v;
              for (std::int64_t i = 0; i < n; ++i)
                v.push_back(test::random_tensor<T>(yr[i].shape(), 100 + i));
              const Tensor<T> z = A.A_adjoint(v), zr = ref.A_adjoint(v);
              const double scale = 1.0 + static_cast<double>(test::norm(zr));
              checks.expect(
                  z.shape() == zr.shape() && test::max_abs_diff(z, zr) <= tol * scale,
                  what + ": A_adjoint differs by " + std::to_string(test::max_abs_diff(z, zr)));
              const Tensor<T> g = A.A_adjoint_A(x), gr = ref.A_adjoint_A(x);
              checks.expect(test::max_abs_diff(g, gr) <= tol * (1.0 + test::norm(gr)),
                            what + ": A_adjoint_A");
            }
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

}  // namespace
}  // namespace kinv
