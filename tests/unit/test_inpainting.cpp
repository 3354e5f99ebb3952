#include <kinv/operators/inpainting.hpp>

#include "test_helpers.hpp"

namespace kinv {
namespace {

template <class T>
class InpaintingTest : public ::testing::Test {};
TYPED_TEST_SUITE(InpaintingTest, test::ScalarTypes);

TYPED_TEST(InpaintingTest, MultipliesByTheBroadcastMask) {
  using T = TypeParam;
  // Mask (1, 2, 3) broadcast over batch 2 and channels 2.
  const std::vector<T> m = {1, 0, 1, 0, 0, 1};
  Inpainting<T> op(from_vector<T>("mask", {1, 2, 3}, m));
  const Tensor<T> x = test::random_tensor<T>({2, 2, 2, 3}, 7);
  const auto y = to_vector(op.A(x));
  const auto xv = to_vector(x);
  ASSERT_EQ(y.size(), xv.size());
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], m[i % 6] * xv[i]) << i;
}

TYPED_TEST(InpaintingTest, NonPeriodicBroadcast) {
  using T = TypeParam;
  // Mask (2, 1, 3): one row per channel, broadcast over H.
  const std::vector<T> m = {1, 2, 3, 4, 5, 6};
  Inpainting<T> op(from_vector<T>("mask", {2, 1, 3}, m));
  const Tensor<T> x = test::random_tensor<T>({1, 2, 4, 3}, 3);
  const auto y = to_vector(op.A(x));
  const auto xv = to_vector(x);
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 3; ++w) {
        const int i = (c * 4 + h) * 3 + w;
        EXPECT_EQ(y[i], m[c * 3 + w] * xv[i]);
      }
}

TYPED_TEST(InpaintingTest, AdjointDotTest) {
  using T = TypeParam;
  Inpainting<T> op(test::random_tensor<T>({3, 16, 16}, 5));
  EXPECT_LT(test::adjoint_mismatch_ulps(op, {2, 3, 16, 16}), 4.0);
  Inpainting<T> random_mask(Shape{3, 16, 16}, 0.5, 42);
  EXPECT_LT(test::adjoint_mismatch_ulps(random_mask, {2, 3, 16, 16}), 4.0);
}

TYPED_TEST(InpaintingTest, RandomMaskKeepsTheRatioAndIsPixelwise) {
  using T = TypeParam;
  Inpainting<T> op(Shape{3, 64, 64}, 0.3, 11);
  EXPECT_EQ(op.mask().shape(), (Shape{1, 64, 64}));
  const auto m = to_vector(op.mask());
  double kept = 0;
  for (T v : m) {
    EXPECT_TRUE(v == T(0) || v == T(1));
    kept += v;
  }
  EXPECT_NEAR(kept / m.size(), 0.3, 0.03);
  // Same seed, same mask; another seed, another mask.
  Inpainting<T> same(Shape{3, 64, 64}, 0.3, 11), other(Shape{3, 64, 64}, 0.3, 12);
  EXPECT_TRUE(test::bitwise_equal(op.mask(), same.mask()));
  EXPECT_FALSE(test::bitwise_equal(op.mask(), other.mask()));
}

TYPED_TEST(InpaintingTest, NoiseIsMasked) {
  using T = TypeParam;
  Inpainting<T> op(Shape{1, 32, 32}, 0.5, 3);
  op.set_noise_model(std::make_shared<GaussianNoise<T>>(T(0.5), 9));
  const Tensor<T> x = test::random_tensor<T>({1, 1, 32, 32}, 1);
  const auto y = to_vector(op.forward(x));
  const auto m = to_vector(op.mask());
  for (std::size_t i = 0; i < y.size(); ++i)
    if (m[i] == T(0)) EXPECT_EQ(y[i], T(0));
}

TYPED_TEST(InpaintingTest, BadInputIsAClearError) {
  using T = TypeParam;
  Inpainting<T> op(Tensor<T>("mask", {3, 8, 8}));
  const Tensor<T> x("x", {1, 3, 8, 9});
  try {
    op.A(x);
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(3, 8, 8)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(1, 3, 8, 9)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Inpainting<T>(Shape{3, 8, 8}, 1.5), ValueError);
  EXPECT_THROW(Inpainting<T>(Tensor<T>()), ValueError);
  // Output of the wrong shape, and in-place use.
  const Tensor<T> good("x", {1, 3, 8, 8});
  EXPECT_THROW(op.A(good, Tensor<T>("y", {1, 3, 8, 7})), ShapeError);
  EXPECT_THROW(op.A(good, good), ValueError);
}

}  // namespace
}  // namespace kinv
