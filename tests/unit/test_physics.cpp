// Physics, LinearPhysics, noise and sensor models, and the single-process stack.
#include <kinv/operators/blur.hpp>
#include <kinv/operators/inpainting.hpp>
#include <kinv/physics/stacked.hpp>

#include "test_helpers.hpp"
#include "test_operators.hpp"

namespace kinv {
namespace {

template <class T>
class PhysicsTest : public ::testing::Test {};
TYPED_TEST_SUITE(PhysicsTest, test::ScalarTypes);

TYPED_TEST(PhysicsTest, GaussianNoiseHasTheRightMomentsAndIsKeyedByOperatorAndDraw) {
  using T = TypeParam;
  test::Crop<T> op(0, 0);  // identity
  op.set_noise_model(std::make_shared<GaussianNoise<T>>(T(0.5), 99));
  const Tensor<T> x("x", {1, 1, 256, 256});
  const auto y0 = op.forward(x);
  const auto y1 = op.forward(x);
  EXPECT_EQ(op.noise_draws(), 2u);
  EXPECT_FALSE(test::bitwise_equal(y0, y1));  // fresh noise per draw
  double s = 0, s2 = 0;
  for (T v : to_vector(y0)) {
    s += v;
    s2 += double(v) * v;
  }
  const double n = 256.0 * 256.0;
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(s2 / n), 0.5, 0.01);
  // Replaying draw 0 gives the same bits; another operator index gives other bits.
  op.set_noise_draws(0);
  EXPECT_TRUE(test::bitwise_equal(op.forward(x), y0));
  op.set_index(7);
  op.set_noise_draws(0);
  EXPECT_FALSE(test::bitwise_equal(op.forward(x), y0));
  EXPECT_THROW(GaussianNoise<T>(T(-1)), ValueError);
}

TYPED_TEST(PhysicsTest, SensorClipsAfterNoise) {
  using T = TypeParam;
  test::Crop<T> op(0, 0);
  op.set_noise_model(std::make_shared<GaussianNoise<T>>(T(2), 1));
  op.set_sensor_model(std::make_shared<ClipSensor<T>>(T(-0.5), T(0.5)));
  const auto y = to_vector(op.forward(Tensor<T>("x", {1, 1, 32, 32})));
  bool hit_lo = false, hit_hi = false;
  for (T v : y) {
    EXPECT_GE(v, T(-0.5));
    EXPECT_LE(v, T(0.5));
    hit_lo |= v == T(-0.5);
    hit_hi |= v == T(0.5);
  }
  EXPECT_TRUE(hit_lo && hit_hi);
  EXPECT_THROW(ClipSensor<T>(T(1), T(0)), ValueError);
}

TYPED_TEST(PhysicsTest, LinearProductsMatchTheirDefinitions) {
  using T = TypeParam;
  Blur<T> op(gaussian_kernel<T>(1.2), Padding::Reflect);
  const Tensor<T> x = test::random_tensor<T>({2, 3, 20, 17}, 1);
  const Tensor<T> y = test::random_tensor<T>({2, 3, 20, 17}, 2);
  const double tol = 8 * std::numeric_limits<T>::epsilon();
  EXPECT_LE(test::max_abs_diff(op.A_adjoint_A(x), op.A_adjoint(op.A(x))), tol);
  EXPECT_LE(test::max_abs_diff(op.A_A_adjoint(y), op.A(op.A_adjoint(y))), tol);
  EXPECT_LE(test::max_abs_diff(op.A_vjp(x, y), op.A_adjoint(y)), 0.0);
  // Accumulating forms add.
  Tensor<T> acc = clone(x);
  op.A_adjoint_add(y, acc);
  const auto a = to_vector(acc), b = to_vector(op.A_adjoint(y)), c = to_vector(x);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i] + c[i], tol);
  EXPECT_THROW(op.A_vjp(x, Tensor<T>("v", {2, 3, 20, 16})), ShapeError);
}

TYPED_TEST(PhysicsTest, StackedReferenceAppliesEveryOperator) {
  using T = TypeParam;
  auto s = test::stacked_reference<T>(
      4, [](std::int64_t i) { return test::mixed_operator<T>(i, 1, 10, 10); });
  EXPECT_EQ(s.num_operators(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(s[i].index(), i);
  const Tensor<T> x = test::random_tensor<T>({1, 1, 10, 10}, 3);
  const auto y = s.A(x);
  ASSERT_EQ(y.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(test::bitwise_equal(y[i], s[i].A(x)));
  // A^T y is the sum of the adjoints; a list of the wrong length is an error.
  std::vector<double> sum(static_cast<std::size_t>(x.size()), 0.0);
  for (int i = 0; i < 4; ++i) {
    const auto v = to_vector(s[i].A_adjoint(y[i]));
    for (std::size_t j = 0; j < v.size(); ++j) sum[j] += v[j];
  }
  const auto got = to_vector(s.A_adjoint(y));
  for (std::size_t j = 0; j < sum.size(); ++j)
    EXPECT_NEAR(got[j], sum[j], 8 * std::numeric_limits<T>::epsilon() * (1 + std::fabs(sum[j])));
  TensorList<T> short_list(y.begin(), y.end() - 1);
  EXPECT_THROW(s.A_adjoint(short_list), ShapeError);
  // The stack as a whole is one linear operator: its adjoint dot test.
  const auto ATy = s.A_adjoint(y);
  const auto Ax = s.A(x);
  long double lhs = 0;
  for (int i = 0; i < 4; ++i) lhs += test::dot(Ax[i], y[i]);
  EXPECT_NEAR(static_cast<double>(lhs), static_cast<double>(test::dot(x, ATy)),
              1e-5 * static_cast<double>(test::norm(x) * test::norm(ATy)));
}

}  // namespace
}  // namespace kinv
