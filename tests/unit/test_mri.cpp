// MRI and MultiCoilMRI: deepinv's results, exact adjoints, coil stacking, noise on sampled
// k-space only, and bad input.
#include <kinv/operators/mri.hpp>
#include <kinv/physics/stacked.hpp>

#include "reference_data.hpp"
#include "test_helpers.hpp"

#include <memory>
#include <vector>

namespace kinv {
namespace {

template <class T>
class MRITest : public ::testing::Test {};
TYPED_TEST_SUITE(MRITest, test::ScalarTypes);

// 1e-5 relative (deepinv's float64 results against float and double).
constexpr double ref_tol = 1e-5;

template <class T>
Tensor<T> binary_mask(const Shape& s, std::uint64_t seed) {
  auto v = to_vector(test::random_tensor<T>(s, seed, T(0), T(1)));
  for (auto& m : v) m = m > T(0.4) ? T(1) : T(0);
  return from_vector<T>("mask", s, v);
}

TYPED_TEST(MRITest, MatchesDeepinv) {
  using T = TypeParam;
  const auto ref = test::read_reference_file("mri_reference.txt");
  for (const char* name : {"mri2d", "mri2d_bmask", "mri3d"}) {
    SCOPED_TRACE(name);
    const std::string n = name;
    MRI<T> op(test::ref_tensor<T>(ref, n + "/mask"), n == "mri3d");
    EXPECT_LE(test::ref_relative_error(op.A(test::ref_tensor<T>(ref, n + "/x")), ref, n + "/A"),
              ref_tol);
    EXPECT_LE(
        test::ref_relative_error(op.A_adjoint(test::ref_tensor<T>(ref, n + "/y")), ref, n + "/AT"),
        ref_tol);
  }
  for (const char* name : {"mc2d", "mc3d"}) {
    SCOPED_TRACE(name);
    const std::string n = name;
    MultiCoilMRI<T> op(test::ref_tensor<T>(ref, n + "/mask"), test::ref_tensor<T>(ref, n + "/maps"),
                       n == "mc3d");
    EXPECT_LE(test::ref_relative_error(op.A(test::ref_tensor<T>(ref, n + "/x")), ref, n + "/A"),
              ref_tol);
    EXPECT_LE(
        test::ref_relative_error(op.A_adjoint(test::ref_tensor<T>(ref, n + "/y")), ref, n + "/AT"),
        ref_tol);
  }
}

TYPED_TEST(MRITest, AdjointDotTest) {
  using T = TypeParam;
  {
    MRI<T> op(binary_mask<T>({6, 5}, 1));
    EXPECT_LE(test::adjoint_mismatch_ulps(op, {2, 2, 6, 5}, 3), 16.0);
  }
  {
    // A mask with different real and imaginary parts, per batch element.
    MRI<T> op(binary_mask<T>({2, 2, 8, 4}, 2));
    EXPECT_LE(test::adjoint_mismatch_ulps(op, {2, 2, 8, 4}, 4), 16.0);
  }
  {
    MRI<T> op(binary_mask<T>({3, 4, 5}, 3), true);
    EXPECT_LE(test::adjoint_mismatch_ulps(op, {2, 2, 3, 4, 5}, 5), 16.0);
  }
  {
    MultiCoilMRI<T> op(binary_mask<T>({7, 6}, 4), test::random_tensor<T>({2, 2, 3, 7, 6}, 9));
    EXPECT_LE(test::adjoint_mismatch_ulps(op, {2, 2, 7, 6}, 6), 16.0);
  }
  {
    MultiCoilMRI<T> op(binary_mask<T>({1, 1, 3, 4, 4}, 5),
                       test::random_tensor<T>({2, 2, 3, 4, 4}, 10), true);
    EXPECT_LE(test::adjoint_mismatch_ulps(op, {3, 2, 3, 4, 4}, 7), 16.0);
  }
}

TYPED_TEST(MRITest, AccumulateAddsToTheOutput) {
  using T = TypeParam;
  MultiCoilMRI<T> op(binary_mask<T>({6, 6}, 1), test::random_tensor<T>({1, 2, 2, 6, 6}, 2));
  const auto y = test::random_tensor<T>({1, 2, 2, 6, 6}, 3);
  const auto x0 = test::random_tensor<T>({1, 2, 6, 6}, 4);
  const auto x = clone(x0);
  op.A_adjoint_add(y, x);
  const auto a = to_vector(op.A_adjoint(y)), b = to_vector(x0), c = to_vector(x);
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(c[i], a[i] + b[i], 4 * std::numeric_limits<T>::epsilon()) << i;
}

// One MultiCoilMRI per coil, stacked, is the multi-coil operator.
TYPED_TEST(MRITest, OneOperatorPerCoilStacksToTheMultiCoilOperator) {
  using T = TypeParam;
  const std::int64_t N = 3, H = 6, W = 7;
  const auto mask = binary_mask<T>({H, W}, 11);
  const auto maps = test::random_tensor<T>({1, 2, N, H, W}, 12);
  MultiCoilMRI<T> all(mask, maps);
  const auto mv = to_vector(maps);
  StackedLinearPhysics<T> stack;
  for (std::int64_t c = 0; c < N; ++c) {
    std::vector<T> one;
    for (int part = 0; part < 2; ++part)
      for (std::int64_t p = 0; p < H * W; ++p)
        one.push_back(mv[static_cast<std::size_t>((part * N + c) * H * W + p)]);
    stack.push_back(
        std::make_unique<MultiCoilMRI<T>>(mask, from_vector<T>("map", Shape{2, 1, H, W}, one)));
  }
  const auto x = test::random_tensor<T>({2, 2, H, W}, 13);
  const auto y = to_vector(all.A(x));
  const TensorList<T> ys = stack.A(x);
  ASSERT_EQ(ys.size(), static_cast<std::size_t>(N));
  const double tol = 8 * std::numeric_limits<T>::epsilon();
  for (std::int64_t c = 0; c < N; ++c) {
    ASSERT_EQ(ys[static_cast<std::size_t>(c)].shape(), (Shape{2, 2, 1, H, W}));
    const auto yc = to_vector(ys[static_cast<std::size_t>(c)]);
    for (std::int64_t bp = 0; bp < 4; ++bp)  // (batch, part)
      for (std::int64_t p = 0; p < H * W; ++p)
        EXPECT_NEAR(yc[static_cast<std::size_t>(bp * H * W + p)],
                    y[static_cast<std::size_t>((bp * N + c) * H * W + p)], tol);
  }
  EXPECT_LE(test::max_abs_diff(stack.A_adjoint(ys), all.A_adjoint(all.A(x))), 16 * tol);
}

TYPED_TEST(MRITest, NoiseOnlyWhereKSpaceIsSampled) {
  using T = TypeParam;
  const auto mask = binary_mask<T>({8, 8}, 21);
  MultiCoilMRI<T> op(mask, test::random_tensor<T>({1, 2, 2, 8, 8}, 22));
  op.set_noise_model(std::make_shared<GaussianNoise<T>>(T(0.5), 3));
  const auto y = to_vector(op.forward(test::random_tensor<T>({1, 2, 8, 8}, 23)));
  const auto m = to_vector(mask);
  int noisy = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (m[i % 64] == T(0))
      EXPECT_EQ(y[i], T(0)) << i;
    else
      noisy += y[i] != T(0);
  }
  EXPECT_GT(noisy, 0);
  MRI<T> single(mask);
  single.set_noise_model(std::make_shared<GaussianNoise<T>>(T(0.5), 3));
  const auto ys = to_vector(single.forward(test::random_tensor<T>({1, 2, 8, 8}, 23)));
  for (std::size_t i = 0; i < ys.size(); ++i)
    if (m[i % 64] == T(0)) EXPECT_EQ(ys[i], T(0)) << i;
}

TYPED_TEST(MRITest, DefaultsAreFullSampling) {
  using T = TypeParam;
  MRI<T> full(Shape{4, 6});
  EXPECT_EQ(full.img_size(), (Shape{4, 6}));
  const auto x = test::random_tensor<T>({1, 2, 4, 6}, 1);
  // Unitary: A^T A = I.
  EXPECT_LE(test::max_abs_diff(full.A_adjoint(full.A(x)), x),
            8 * std::numeric_limits<T>::epsilon());
  MultiCoilMRI<T> one(Tensor<T>("m", {4, 6}));
  EXPECT_EQ(one.num_coils(), 1);
  EXPECT_EQ(one.output_shape({2, 2, 4, 6}), (Shape{2, 2, 1, 4, 6}));
}

TYPED_TEST(MRITest, BadInput) {
  using T = TypeParam;
  // Masks
  EXPECT_THROW(MRI<T>(Tensor<T>("m", {8})), ValueError);
  EXPECT_THROW(MRI<T>(Tensor<T>("m", {1, 2, 1, 4, 4})), ValueError);  // rank 5 for 2-D
  EXPECT_THROW(MRI<T>(Tensor<T>("m", {3, 4, 4})), ValueError);        // 3 channels
  EXPECT_THROW(MRI<T>(Tensor<T>("m", {4, 4}), true), ValueError);     // 3-D needs (D, H, W)
  MRI<T> op(Tensor<T>("m", {2, 1, 4, 6}));
  EXPECT_THROW(op.A(Tensor<T>("x", {2, 3, 4, 6})), ShapeError);  // odd channel count
  EXPECT_THROW(op.A(Tensor<T>("x", {2, 1, 4, 6})), ShapeError);
  EXPECT_THROW(op.A(Tensor<T>("x", {2, 2, 4, 5})), ShapeError);  // wrong image size
  EXPECT_THROW(op.A(Tensor<T>("x", {3, 2, 4, 6})), ShapeError);  // the mask's batch is 2
  EXPECT_THROW(op.A(Tensor<T>("x", {2, 2, 1, 4, 6})), ShapeError);
  EXPECT_THROW(op.A_adjoint(Tensor<T>("y", {2, 2, 6, 4})), ShapeError);
  try {
    op.A(Tensor<T>("x", {2, 3, 4, 6}));
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(2, 2, 4, 6)"), std::string::npos) << e.what();
  }
  // Coil maps
  const Tensor<T> mask("m", {4, 6});
  EXPECT_THROW(MultiCoilMRI<T>(mask, Tensor<T>("s", {1, 2, 3, 4, 5})), ShapeError);
  EXPECT_THROW(MultiCoilMRI<T>(mask, Tensor<T>("s", {1, 1, 3, 4, 6})), ShapeError);
  EXPECT_THROW(MultiCoilMRI<T>(mask, Tensor<T>("s", {3, 4, 6})), ShapeError);
  EXPECT_THROW(MultiCoilMRI<T>(Tensor<T>("m", {2, 1, 4, 6}), Tensor<T>("s", {3, 2, 1, 4, 6})),
               ShapeError);
  MultiCoilMRI<T> mc(mask, Tensor<T>("s", {2, 3, 4, 6}));
  EXPECT_EQ(mc.num_coils(), 3);
  EXPECT_THROW(mc.A(Tensor<T>("x", {1, 2, 6, 4})), ShapeError);
  EXPECT_THROW(mc.A_adjoint(Tensor<T>("y", {1, 2, 2, 4, 6})), ShapeError);  // 2 coils, not 3
  EXPECT_THROW(mc.A_adjoint(Tensor<T>("y", {1, 3, 3, 4, 6})), ShapeError);
  MultiCoilMRI<T> batched(mask, Tensor<T>("s", {2, 2, 3, 4, 6}));
  EXPECT_THROW(batched.A(Tensor<T>("x", {3, 2, 4, 6})), ShapeError);
  EXPECT_NO_THROW(batched.A(Tensor<T>("x", {2, 2, 4, 6})));
}

}  // namespace
}  // namespace kinv
