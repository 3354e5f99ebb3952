// Physics, LinearPhysics, noise and sensor models, and the single-process stack.
#include <kinv/operators/blur.hpp>
#include <kinv/operators/inpainting.hpp>
#include <kinv/physics/stacked.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

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

// Sample moments of a tensor.
template <class T>
std::pair<double, double> mean_variance(const Tensor<T>& t) {
  double s = 0, s2 = 0;
  const auto v = to_vector(t);
  for (T e : v) s += e;
  const double mean = s / static_cast<double>(v.size());
  for (T e : v) s2 += (e - mean) * (e - mean);
  return {mean, s2 / static_cast<double>(v.size() - 1)};
}

// Noise of `model` added to the constant image `value`, n samples, through an identity operator.
template <class T>
Tensor<T> noisy_constant(std::shared_ptr<NoiseModel<T>> model, T value, std::int64_t n,
                         std::int64_t index = 0) {
  test::Crop<T> op(0, 0);
  op.set_index(index);
  op.set_noise_model(std::move(model));
  Tensor<T> x("x", {1, 1, 1, n});
  fill(x, value);
  return op.forward(x);
}

constexpr std::int64_t kSamples = 1 << 17;

// Sample mean and variance of Poisson(lambda) within 5 standard errors: the standard error of
// the variance estimate is sqrt((mu4 - sigma^4) / n) = sqrt((lambda + 2 lambda^2) / n).
void expect_poisson_moments(double mean, double var, double lambda, double scale,
                            const std::string& what) {
  const double n = kSamples;
  EXPECT_NEAR(mean, scale * lambda, 5 * scale * std::sqrt(lambda / n)) << what;
  EXPECT_NEAR(var, scale * scale * lambda,
              5 * scale * scale * std::sqrt((lambda + 2 * lambda * lambda) / n))
      << what;
}

TYPED_TEST(PhysicsTest, PoissonNoiseHasPoissonMomentsOnBothSidesOfTheSamplerSwitch) {
  using T = TypeParam;
  // Means below 10 use inversion, from 10 on rejection: test both, and the switch point.
  for (double lambda : {0.3, 4.0, 9.99, 10.0, 37.5, 2000.0}) {
    const auto y = noisy_constant<T>(std::make_shared<PoissonNoise<T>>(T(1), false, false, 5),
                                     static_cast<T>(lambda), kSamples);
    for (T v : to_vector(y)) ASSERT_EQ(v, std::floor(v)) << "not an integer count";
    const auto mv = mean_variance(y);
    expect_poisson_moments(mv.first, mv.second, static_cast<double>(static_cast<T>(lambda)), 1.0,
                           "lambda " + std::to_string(lambda));
  }
  // With a gain, y = gain * P(x / gain): mean x, variance gain * x.
  const auto y =
      noisy_constant<T>(std::make_shared<PoissonNoise<T>>(T(0.25), true, false, 5), T(3), kSamples);
  const auto mv = mean_variance(y);
  expect_poisson_moments(mv.first, mv.second, 12.0, 0.25, "gain 0.25");
  // Zero mean gives zeros.
  for (T v : to_vector(noisy_constant<T>(std::make_shared<PoissonNoise<T>>(), T(0), 64)))
    EXPECT_EQ(v, T(0));
}

// The frequencies of each count against the Poisson pmf, every bin within 5 standard errors.
TYPED_TEST(PhysicsTest, PoissonNoiseFollowsThePmf) {
  using T = TypeParam;
  for (double lambda : {3.0, 25.0}) {
    const auto y =
        to_vector(noisy_constant<T>(std::make_shared<PoissonNoise<T>>(T(1), false, false, 11),
                                    static_cast<T>(lambda), kSamples));
    std::vector<double> count(400, 0.0);
    for (T v : y) count[static_cast<std::size_t>(std::min<double>(v, 399))] += 1;
    for (int k = 0; k < 3 * lambda; ++k) {
      const double p = std::exp(-lambda + k * std::log(lambda) - std::lgamma(k + 1.0));
      const double se = std::sqrt(p * (1 - p) / kSamples);
      EXPECT_NEAR(count[static_cast<std::size_t>(k)] / kSamples, p, 5 * se + 1e-12)
          << "lambda " << lambda << ", k " << k;
    }
  }
}

TYPED_TEST(PhysicsTest, PoissonGaussianAndUniformNoiseMoments) {
  using T = TypeParam;
  {  // var = gain * x + sigma^2
    const auto y = noisy_constant<T>(
        std::make_shared<PoissonGaussianNoise<T>>(T(0.5), T(0.3), false, 2), T(4), kSamples);
    const auto mv = mean_variance(y);
    const double var = 0.5 * 4 + 0.09, n = kSamples;
    EXPECT_NEAR(mv.first, 4.0, 5 * std::sqrt(var / n));
    EXPECT_NEAR(mv.second, var, 5 * var * std::sqrt(3.0 / n));
  }
  {  // x + U(-a, a): mean x, variance a^2 / 3, support [x - a, x + a]
    const T a = T(0.4);
    const auto y = noisy_constant<T>(std::make_shared<UniformNoise<T>>(a, 3), T(1), kSamples);
    for (T v : to_vector(y)) {
      ASSERT_GE(v, T(1) - a);
      ASSERT_LE(v, T(1) + a);
    }
    const auto mv = mean_variance(y);
    const double var = 0.16 / 3, n = kSamples;
    EXPECT_NEAR(mv.first, 1.0, 5 * std::sqrt(var / n));
    EXPECT_NEAR(mv.second, var, 5 * var * std::sqrt(0.8 / n));  // uniform: mu4 / s^4 = 1.8
  }
}

TYPED_TEST(PhysicsTest, NoiseIsAPureFunctionOfSeedOperatorAndDraw) {
  using T = TypeParam;
  auto model = std::make_shared<PoissonGaussianNoise<T>>(T(0.1), T(0.1), false, 8);
  const auto a = noisy_constant<T>(model, T(2), 4096, 3);
  EXPECT_TRUE(test::bitwise_equal(a, noisy_constant<T>(model, T(2), 4096, 3)));
  EXPECT_FALSE(test::bitwise_equal(a, noisy_constant<T>(model, T(2), 4096, 4)));
  auto other = std::make_shared<PoissonGaussianNoise<T>>(T(0.1), T(0.1), false, 9);
  EXPECT_FALSE(test::bitwise_equal(a, noisy_constant<T>(other, T(2), 4096, 3)));
  // A longer tensor starts with the same values: element i's draw depends on i only.
  const auto longer = to_vector(noisy_constant<T>(model, T(2), 8192, 3));
  const auto first = to_vector(a);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), longer.begin()));
}

TYPED_TEST(PhysicsTest, NoiseModelsRejectBadParametersAndNegativeInput) {
  using T = TypeParam;
  EXPECT_THROW(PoissonNoise<T>(T(0)), ValueError);
  EXPECT_THROW(PoissonNoise<T>(T(-1)), ValueError);
  EXPECT_THROW(PoissonGaussianNoise<T>(T(0), T(0.1)), ValueError);
  EXPECT_THROW(PoissonGaussianNoise<T>(T(1), T(-0.1)), ValueError);
  EXPECT_THROW(UniformNoise<T>(T(-0.1)), ValueError);
  EXPECT_THROW(QuantizeSensor<T>(T(1), T(1), 4), ValueError);
  EXPECT_THROW(QuantizeSensor<T>(T(0), T(1), 1), ValueError);
  // A negative input is an error naming the operator, unless clip_positive.
  try {
    noisy_constant<T>(std::make_shared<PoissonNoise<T>>(), T(-0.5), 16, 6);
    ADD_FAILURE() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_EQ(e.operator_index(), 6);
    EXPECT_NE(std::string(e.what()).find("non-negative"), std::string::npos) << e.what();
  }
  EXPECT_THROW(noisy_constant<T>(std::make_shared<PoissonGaussianNoise<T>>(), T(-0.5), 16),
               ValueError);
  for (T v : to_vector(
           noisy_constant<T>(std::make_shared<PoissonNoise<T>>(T(1), true, true), T(-0.5), 16)))
    EXPECT_EQ(v, T(0));
}

TYPED_TEST(PhysicsTest, QuantizeSensorRoundsToTheGridAndClips) {
  using T = TypeParam;
  test::Crop<T> op(0, 0);
  op.set_sensor_model(std::make_shared<QuantizeSensor<T>>(T(0), T(1), 5));  // step 0.25
  const auto y = to_vector(op.forward(
      from_vector<T>("x", {1, 1, 1, 7}, {T(-3), T(0.1), T(0.125), T(0.3), T(0.62), T(0.9), T(7)})));
  const std::vector<T> expected = {T(0), T(0), T(0.25), T(0.25), T(0.5), T(1), T(1)};
  EXPECT_EQ(y, expected);
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
