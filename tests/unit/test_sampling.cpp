// Downsampling, Denoising and Decolorize: conventions, exact adjoints, deepinv's numbers
// (tests/data/downsampling_reference.txt, written by generate_downsampling_reference.py) and
// bad input.
#include <kinv/operators/decolorize.hpp>
#include <kinv/operators/denoising.hpp>
#include <kinv/operators/downsampling.hpp>
#include <kinv/operators/impl/blur_functors.hpp>
#include <kinv/operators/impl/pointwise_functors.hpp>

#include "reference_data.hpp"
#include "same_sums.hpp"
#include "test_helpers.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace kinv {
namespace {

const Padding all_paddings[] = {Padding::Valid, Padding::Circular, Padding::Replicate,
                                Padding::Reflect, Padding::Constant};
const DownsamplingFilter all_filters[] = {DownsamplingFilter::None, DownsamplingFilter::Gaussian,
                                          DownsamplingFilter::Bilinear, DownsamplingFilter::Bicubic,
                                          DownsamplingFilter::Sinc};

template <class T>
class SamplingTest : public ::testing::Test {};
TYPED_TEST_SUITE(SamplingTest, test::ScalarTypes);

template <class F>
void expect_shape_error(F f, std::vector<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "expected a ShapeError";
  } catch (const ShapeError& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

template <class F>
void expect_value_error(F f, std::vector<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "expected a ValueError";
  } catch (const ValueError& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

// y[..., i, j] = c[..., i f, j f] on the host (deepinv's x[:, :, ::f, ::f]).
template <class T>
Tensor<T> decimate(const Tensor<T>& c, std::int64_t f) {
  const Shape s = c.shape();
  const std::int64_t H = s[2], W = s[3], Hy = (H + f - 1) / f, Wy = (W + f - 1) / f;
  const auto cv = to_vector(c);
  std::vector<T> out;
  for (std::int64_t bc = 0; bc < s[0] * s[1]; ++bc)
    for (std::int64_t i = 0; i < Hy; ++i)
      for (std::int64_t j = 0; j < Wy; ++j)
        out.push_back(cv[static_cast<std::size_t>((bc * H + i * f) * W + j * f)]);
  return from_vector<T>("decimated", Shape{s[0], s[1], Hy, Wy}, out);
}

// The transpose of decimate: zeros except at multiples of f (deepinv's adjoint upsampling).
template <class T>
Tensor<T> zero_upsample(const Tensor<T>& y, std::int64_t H, std::int64_t W, std::int64_t f) {
  const Shape s = y.shape();
  const auto yv = to_vector(y);
  std::vector<T> out(static_cast<std::size_t>(s[0] * s[1] * H * W), T(0));
  for (std::int64_t bc = 0; bc < s[0] * s[1]; ++bc)
    for (std::int64_t i = 0; i < s[2]; ++i)
      for (std::int64_t j = 0; j < s[3]; ++j)
        out[static_cast<std::size_t>((bc * H + i * f) * W + j * f)] =
            yv[static_cast<std::size_t>((bc * s[2] + i) * s[3] + j)];
  return from_vector<T>("upsampled", Shape{s[0], s[1], H, W}, out);
}

// ---------------------------------------------------------------------------------------------
// Downsampling: names, filters, conventions

TYPED_TEST(SamplingTest, FilterNames) {
  for (DownsamplingFilter f : all_filters) EXPECT_EQ(parse_downsampling_filter(to_string(f)), f);
  EXPECT_EQ(parse_downsampling_filter("Bicubic"), DownsamplingFilter::Bicubic);
  expect_value_error([] { parse_downsampling_filter("lanczos"); },
                     {"lanczos", "none", "gaussian", "bilinear", "bicubic", "sinc"});
  using T = TypeParam;
  EXPECT_THROW(Downsampling<T>("box", 2), ValueError);
  EXPECT_THROW(Downsampling<T>("bicubic", 2, "mirror"), ValueError);
  Downsampling<T> op("bicubic", 3, "reflect");
  EXPECT_EQ(op.name(), "Downsampling");
  EXPECT_EQ(op.factor(), 3);
  EXPECT_EQ(op.filter_kind(), DownsamplingFilter::Bicubic);
  EXPECT_TRUE(op.has_filter());
  EXPECT_EQ(op.padding(), Padding::Reflect);
  EXPECT_EQ(op.filter().shape(), (Shape{1, 1, 12, 12}));
  Downsampling<T> plain(DownsamplingFilter::None);
  EXPECT_FALSE(plain.has_filter());
  EXPECT_EQ(plain.factor(), 2);
  EXPECT_EQ(plain.padding(), Padding::Circular);  // deepinv's default
}

TYPED_TEST(SamplingTest, FilterSizesAndSums) {
  using T = TypeParam;
  for (std::int64_t f : {1, 2, 3, 4}) {
    const Tensor<T> filters[] = {bilinear_filter<T>(f), bicubic_filter<T>(f),
                                 sinc_filter<T>(static_cast<double>(f), 4 * f),
                                 downsampling_filter<T>(DownsamplingFilter::Gaussian, f)};
    const std::int64_t sizes[] = {2 * f, 4 * f, 4 * f,
                                  2 * static_cast<std::int64_t>(f / 0.3 + 1) + 1};
    for (int i = 0; i < 4; ++i) {
      const Tensor<T>& k = filters[i];
      ASSERT_EQ(k.shape(), (Shape{1, 1, sizes[i], sizes[i]})) << i << " factor " << f;
      const auto v = to_vector(k);
      double sum = 0;
      for (T e : v) sum += e;
      EXPECT_NEAR(sum, 1.0, 8 * std::numeric_limits<T>::epsilon() * static_cast<double>(v.size()));
      // Symmetric under transposition and under flips of either axis.
      const std::int64_t n = sizes[i];
      for (std::int64_t a = 0; a < n; ++a)
        for (std::int64_t b = 0; b < n; ++b) {
          const T e = v[static_cast<std::size_t>(a * n + b)];
          EXPECT_NEAR(e, v[static_cast<std::size_t>(b * n + a)], 1e-6);
          EXPECT_NEAR(e, v[static_cast<std::size_t>((n - 1 - a) * n + b)], 1e-6);
        }
    }
  }
  // The identity filter of plain decimation.
  EXPECT_EQ(to_vector(downsampling_filter<T>(DownsamplingFilter::None, 2)), std::vector<T>{T(1)});
  // Bilinear at factor 2 by hand: w = (1/4, 3/4, 3/4, 1/4) / 2, outer product.
  const auto b2 = to_vector(bilinear_filter<T>(2));
  EXPECT_NEAR(b2[0], 1.0 / 64, 1e-7);
  EXPECT_NEAR(b2[5], 9.0 / 64, 1e-7);
  EXPECT_THROW(bilinear_filter<T>(0), ValueError);
  EXPECT_THROW(bicubic_filter<T>(-1), ValueError);
  EXPECT_THROW(sinc_filter<T>(0.0, 8), ValueError);
  EXPECT_THROW(sinc_filter<T>(2.0, 0), ValueError);
  EXPECT_THROW(downsampling_filter<T>(DownsamplingFilter::Sinc, 0), ValueError);
}

TYPED_TEST(SamplingTest, PlainDecimationKeepsEveryFactorthPixel) {
  using T = TypeParam;
  const Tensor<T> x = test::random_tensor<T>({2, 3, 7, 9}, 5);
  for (std::int64_t f : {1, 2, 3, 4, 7, 10}) {
    Downsampling<T> op(DownsamplingFilter::None, f, Padding::Reflect);
    const Tensor<T> y = op.A(x);
    EXPECT_TRUE(test::bitwise_equal(y, decimate(x, f))) << f;
    const Tensor<T> up = op.A_adjoint(y);
    const std::int64_t Hy = (7 + f - 1) / f, Wy = (9 + f - 1) / f;
    EXPECT_EQ(up.shape(), (Shape{2, 3, Hy * f, Wy * f}));  // deepinv's dynamic size
    Downsampling<T> fixed(DownsamplingFilter::None, f, Padding::Reflect, Shape{3, 7, 9});
    EXPECT_TRUE(test::bitwise_equal(fixed.A_adjoint(y), zero_upsample(y, 7, 9, f))) << f;
  }
}

// Downsampling is the kept outputs of Blur: bitwise for A, and the adjoint equals Blur's adjoint
// of the zero-upsampled measurement (the skipped taps only add zeros).
TYPED_TEST(SamplingTest, EqualsDecimatedBlur) {
  using T = TypeParam;
  std::uint64_t seed = 10;
  const Shape images[] = {{2, 3, 17, 14}, {1, 2, 16, 21}, {3, 1, 9, 9}};
  for (const Shape& xs : images)
    for (Padding mode : all_paddings)
      for (std::int64_t f : {1, 2, 3, 5})
        for (const Shape& ks : {Shape{1, 1, 4, 5}, Shape{1, xs[1], 3, 3}, Shape{xs[0], 1, 6, 2}}) {
          const Tensor<T> k = test::random_tensor<T>(ks, ++seed);
          const Tensor<T> x = test::random_tensor<T>(xs, ++seed);
          Blur<T> blur(k, mode);
          Downsampling<T> op(k, f, mode, Shape{xs[1], xs[2], xs[3]});
          SCOPED_TRACE(to_string(mode) + " factor " + std::to_string(f) + " image " +
                       xs.to_string() + " filter " + ks.to_string());
          const Tensor<T> y = op.A(x);
          ASSERT_TRUE(test::bitwise_equal(y, decimate(blur.A(x), f)));
          const Tensor<T> v = test::random_tensor<T>(y.shape(), ++seed);
          const Shape cs = blur.output_shape(xs);
          const Tensor<T> ref = blur.A_adjoint(zero_upsample(v, cs[2], cs[3], f));
          EXPECT_LE(test::max_abs_diff(op.A_adjoint(v), ref),
                    16 * std::numeric_limits<T>::epsilon());
        }
}

TYPED_TEST(SamplingTest, AdjointDotTest) {
  using T = TypeParam;
  std::uint64_t seed = 100;
  for (DownsamplingFilter kind : all_filters)
    for (Padding mode : all_paddings)
      for (std::int64_t f : {2, 3, 4}) {
        const Shape xs{2, 3, 31, 29};
        Downsampling<T> op(kind, f, mode, Shape{3, 31, 29});
        const double ulps = test::adjoint_mismatch_ulps(op, xs, ++seed);
        EXPECT_LT(ulps, 8.0) << to_string(kind) << " " << to_string(mode) << " factor " << f;
      }
  // A filter per batch element and channel, dynamic size (the image is a multiple of f).
  Downsampling<T> op(test::random_tensor<T>({2, 3, 5, 4}, 7), 3, Padding::Reflect);
  EXPECT_LT(test::adjoint_mismatch_ulps(op, {2, 3, 24, 18}, 8), 8.0);
}

TYPED_TEST(SamplingTest, AdjointAddAccumulates) {
  using T = TypeParam;
  Downsampling<T> op(DownsamplingFilter::Bicubic, 2, Padding::Circular, Shape{2, 15, 12});
  const Tensor<T> y = test::random_tensor<T>({1, 2, 8, 6}, 3);
  const Tensor<T> x0 = test::random_tensor<T>({1, 2, 15, 12}, 4);
  const Tensor<T> x = clone(x0);
  op.A_adjoint_add(y, x);
  const auto a = to_vector(x), b = to_vector(x0), c = to_vector(op.A_adjoint(y));
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i] + c[i]);
}

// The per-element kernels with an empty interior (every element takes the general path, which
// sums in the same (u, v) order): the reference for the host strided row kernels.
template <class T, Padding P>
void element_kernels(const Tensor<T>& x, const Tensor<T>& k, const Tensor<T>& y,
                     const impl::BlurGeometry& g, const Tensor<T>& v, const Tensor<T>& xa,
                     bool accumulate) {
  Kokkos::parallel_for("test::BlurForward", impl::range(ExecutionSpace(), y.size()),
                       impl::BlurForward<T, P>{x.view(), k.view(), y.view(), g, {}});
  if (accumulate)
    Kokkos::parallel_for("test::BlurAdjoint", impl::range(ExecutionSpace(), xa.size()),
                         impl::BlurAdjoint<T, P, true>{v.view(), k.view(), xa.view(), g, {}});
  else
    Kokkos::parallel_for("test::BlurAdjoint", impl::range(ExecutionSpace(), xa.size()),
                         impl::BlurAdjoint<T, P, false>{v.view(), k.view(), xa.view(), g, {}});
  Kokkos::fence();
}

// Strided convolutions (the kernels of Downsampling, row kernels on host backends) give the
// bits of the per-element kernels, for A and for A^T set and accumulated, on odd sizes, borders
// in every mode, unequal strides and per-channel and per-batch filters; (1, 3, 9, 10) gives an
// odd number of output rows (the host 1x1 forward kernel takes rows in pairs). The 1x1 adjoint
// kernel of GPUs runs here too.
TYPED_TEST(SamplingTest, StridedKernelsMatchElementKernels) {
  using T = TypeParam;
  std::uint64_t seed = 500;
  const Shape images[] = {{1, 2, 13, 17}, {2, 1, 9, 22}, {1, 1, 40, 45}, {1, 3, 9, 10}};
  const std::int64_t strides[][2] = {{2, 2}, {2, 3}, {3, 1}, {1, 4}, {4, 4}};
  for (const Shape& xs : images)
    for (Padding mode : all_paddings)
      for (const auto& st : strides)
        for (const Shape& ks : {Shape{1, 1, 1, 1}, Shape{xs[0], xs[1], 1, 1}, Shape{1, 1, 4, 5},
                                Shape{1, xs[1], 3, 6}, Shape{xs[0], 1, 8, 8}})
          for (bool accumulate : {false, true}) {
            SCOPED_TRACE(to_string(mode) + " strides " + std::to_string(st[0]) + "x" +
                         std::to_string(st[1]) + " image " + xs.to_string() + " filter " +
                         ks.to_string() + (accumulate ? " accumulate" : " set"));
            const impl::BlurGeometry g = impl::make_blur_geometry(ks, mode, xs, st[0], st[1]);
            const Tensor<T> k = test::random_tensor<T>(ks, ++seed);
            const Tensor<T> x = test::random_tensor<T>(xs, ++seed);
            const Shape ys{xs[0], xs[1], g.Hs, g.Ws};
            const Tensor<T> v = test::random_tensor<T>(ys, ++seed);
            const Tensor<T> x0 = test::random_tensor<T>(xs, ++seed);
            Tensor<T> y("y", ys), y_ref("y_ref", ys);
            Tensor<T> xa = clone(x0), xa_ref = clone(x0);
            impl::blur_forward<T>("test::forward", ExecutionSpace(), x, k, y, g, mode);
            impl::blur_adjoint<T>("test::adjoint", ExecutionSpace(), v, k, xa, g, mode, accumulate);
            switch (mode) {
              case Padding::Valid:
                element_kernels<T, Padding::Valid>(x, k, y_ref, g, v, xa_ref, accumulate);
                break;
              case Padding::Circular:
                element_kernels<T, Padding::Circular>(x, k, y_ref, g, v, xa_ref, accumulate);
                break;
              case Padding::Replicate:
                element_kernels<T, Padding::Replicate>(x, k, y_ref, g, v, xa_ref, accumulate);
                break;
              case Padding::Reflect:
                element_kernels<T, Padding::Reflect>(x, k, y_ref, g, v, xa_ref, accumulate);
                break;
              case Padding::Constant:
                element_kernels<T, Padding::Constant>(x, k, y_ref, g, v, xa_ref, accumulate);
                break;
            }
            ASSERT_TRUE(test::bitwise_equal(y, y_ref));
            ASSERT_TRUE(test::bitwise_equal(xa, xa_ref));
            if (ks[2] == 1 && ks[3] == 1) {
              // The 1x1 adjoint that GPUs run, here on the host: the same bits.
              Tensor<T> xp = clone(x0);
              if (accumulate)
                impl::run_point_adjoint<T, true>("test::point", ExecutionSpace(), v, k, xp, g);
              else
                impl::run_point_adjoint<T, false>("test::point", ExecutionSpace(), v, k, xp, g);
              Kokkos::fence();
              ASSERT_TRUE(test::bitwise_equal(xp, xa_ref));
            }
          }
}

TYPED_TEST(SamplingTest, DownsamplingBadInput) {
  using T = TypeParam;
  expect_value_error([] { Downsampling<T>(DownsamplingFilter::Bicubic, 0); },
                     {"Downsampling", "factor", ">= 1", "0"});
  expect_value_error([] { Downsampling<T>(Tensor<T>("k", {3, 3}), -2); }, {"factor", "-2"});
  expect_value_error([] { Downsampling<T>(Tensor<T>("k", {1, 3, 3}), 2); }, {"(1, 3, 3)"});
  EXPECT_THROW(Downsampling<T>(Tensor<T>(), 2), ValueError);
  EXPECT_THROW(Downsampling<T>(DownsamplingFilter::None, 2, Padding::Valid, Shape{4, 4}),
               ValueError);
  // Filter too large for the image in modes that cannot pad that much (as deepinv raises).
  Downsampling<T> valid(DownsamplingFilter::Bicubic, 3, Padding::Valid);  // 12 x 12
  expect_shape_error(
      [&] {
        valid.A(Tensor<T>("x", {1, 1, 11, 20}));
      },
      {"Downsampling", "valid", "H >= 12", "(1, 1, 11, 20)"});
  Downsampling<T> reflect(DownsamplingFilter::Gaussian, 3, Padding::Reflect);  // 23 x 23
  expect_shape_error(
      [&] {
        reflect.A(Tensor<T>("x", {1, 1, 30, 11}));
      },
      {"reflect", "(1, 1, 30, 11)"});
  Downsampling<T> circular(DownsamplingFilter::Sinc, 4, Padding::Circular);  // 16 x 16
  expect_shape_error([&] { circular.A(Tensor<T>("x", {1, 1, 7, 30})); }, {"circular"});
  EXPECT_EQ(circular.output_shape({1, 1, 8, 8}), (Shape{1, 1, 2, 2}));
  // An img_size the filter does not fit is refused at construction.
  EXPECT_THROW(Downsampling<T>(DownsamplingFilter::Bicubic, 3, Padding::Valid, Shape{1, 8, 8}),
               ShapeError);
  // Wrong ranks and channel counts.
  Downsampling<T> op(DownsamplingFilter::Bilinear, 2, Padding::Circular, Shape{3, 8, 10});
  expect_shape_error([&] { op.A(Tensor<T>("x", {3, 8, 10})); }, {"rank", "(3, 8, 10)"});
  expect_shape_error([&] { op.A(Tensor<T>("x", {1, 3, 8, 12})); }, {"img_size", "(B, 3, 8, 10)"});
  expect_shape_error([&] { op.A_adjoint(Tensor<T>("y", {1, 3, 4})); }, {"rank"});
  expect_shape_error(
      [&] {
        op.A_adjoint(Tensor<T>("y", {1, 3, 5, 5}));
      },
      {"(1, 3, 4, 5)", "(1, 3, 5, 5)"});
  // Without img_size, a measurement that factor x its size does not map to.
  Downsampling<T> dyn(DownsamplingFilter::Bilinear, 2, Padding::Valid);  // 4 x 4
  expect_shape_error([&] { dyn.A_adjoint(Tensor<T>("y", {1, 1, 5, 5})); }, {"img_size"});
  Downsampling<T> per_channel(Tensor<T>("k", {1, 2, 3, 3}), 2);
  expect_shape_error([&] { per_channel.A(Tensor<T>("x", {1, 3, 8, 8})); }, {"(B, 2, H, W)"});
  // Output of the wrong shape, and in-place use.
  const Tensor<T> x("x", {1, 3, 8, 10});
  EXPECT_THROW(op.A(x, Tensor<T>("y", {1, 3, 8, 10})), ShapeError);
  EXPECT_THROW(op.A_adjoint(Tensor<T>("y", {1, 3, 4, 5}), Tensor<T>("x", {1, 3, 8, 8})),
               ShapeError);
}

// ---------------------------------------------------------------------------------------------
// Denoising

TYPED_TEST(SamplingTest, DenoisingIsTheIdentityPlusNoise) {
  using T = TypeParam;
  Denoising<T> op;
  EXPECT_EQ(op.name(), "Denoising");
  const auto* noise = dynamic_cast<const GaussianNoise<T>*>(op.noise_model().get());
  ASSERT_NE(noise, nullptr);
  EXPECT_EQ(noise->sigma(), T(0.1));  // deepinv's default
  const Tensor<T> x = test::random_tensor<T>({2, 3, 16, 16}, 9);
  EXPECT_TRUE(test::bitwise_equal(op.A(x), x));
  EXPECT_TRUE(test::bitwise_equal(op.A_adjoint(x), x));
  EXPECT_LT(test::adjoint_mismatch_ulps(op, {2, 3, 5, 7}), 2.0);
  const Tensor<T> acc = test::random_tensor<T>(x.shape(), 10);
  const Tensor<T> acc0 = clone(acc);
  op.A_adjoint_add(x, acc);
  const auto a = to_vector(acc), b = to_vector(acc0), c = to_vector(x);
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i] + c[i]);
  // forward adds noise of standard deviation 0.1.
  const Tensor<T> y = op.forward(x);
  const auto yv = to_vector(y);
  double s = 0, s2 = 0;
  for (std::size_t i = 0; i < yv.size(); ++i) {
    const double d = static_cast<double>(yv[i]) - static_cast<double>(c[i]);
    s += d;
    s2 += d * d;
  }
  const double n = static_cast<double>(yv.size());
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(s2 / n), 0.1, 0.01);
  // A given noise model, and none.
  Denoising<T> quiet(std::make_shared<GaussianNoise<T>>(T(0.5), 3));
  EXPECT_EQ(dynamic_cast<const GaussianNoise<T>*>(quiet.noise_model().get())->sigma(), T(0.5));
  quiet.set_noise_model(nullptr);
  EXPECT_TRUE(test::bitwise_equal(quiet.forward(x), x));
  EXPECT_EQ(op.output_shape({4}), (Shape{4}));
  EXPECT_THROW(op.A(Tensor<T>("x", {2, 0, 3})), ShapeError);
  EXPECT_THROW(op.A(x, Tensor<T>("y", {2, 3, 16, 15})), ShapeError);
}

// ---------------------------------------------------------------------------------------------
// Decolorize

TYPED_TEST(SamplingTest, DecolorizeWeightsAndShapes) {
  using T = TypeParam;
  Decolorize<T> op;
  EXPECT_EQ(op.name(), "Decolorize");
  EXPECT_EQ(op.channels(), 3);
  const auto w = to_vector(op.srf());
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0], static_cast<T>(0.4472 * 0.66851));
  EXPECT_EQ(w[1], static_cast<T>(0.8781 * 0.66851));
  EXPECT_EQ(w[2], static_cast<T>(0.1706 * 0.66851));
  EXPECT_EQ(op.output_shape({2, 3, 4, 5}), (Shape{2, 1, 4, 5}));
  EXPECT_EQ(op.input_shape({2, 1, 4, 5}), (Shape{2, 3, 4, 5}));
  // Grey in, grey out (up to deepinv's srf sum 1.00002).
  const Tensor<T> ones("x", {1, 3, 2, 2});
  fill(ones, T(1));
  for (T v : to_vector(op.A(ones))) EXPECT_NEAR(v, 1.0, 1e-4);
  const Tensor<T> y = test::random_tensor<T>({2, 1, 3, 4}, 2);
  const Tensor<T> x = op.A_adjoint(y);
  const auto xv = to_vector(x), yv = to_vector(y);
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t p = 0; p < 12; ++p)
        EXPECT_EQ(xv[static_cast<std::size_t>((b * 3 + c) * 12 + p)],
                  w[static_cast<std::size_t>(c)] * yv[static_cast<std::size_t>(b * 12 + p)]);
  EXPECT_LT(test::adjoint_mismatch_ulps(op, {3, 3, 9, 7}), 4.0);
  EXPECT_LT(test::adjoint_mismatch_ulps(op, {2, 3, 4, 5, 6}), 4.0);  // volumes too
  Decolorize<T> flat(4, "flat");
  EXPECT_LT(test::adjoint_mismatch_ulps(flat, {2, 4, 5, 6}), 4.0);
  for (T v : to_vector(flat.srf())) EXPECT_EQ(v, T(0.25));
  Decolorize<T> padded(4, std::vector<double>{0.5, 0.5});
  EXPECT_EQ(to_vector(padded.srf()), (std::vector<T>{T(0.5), T(0.5), T(0), T(0)}));
  const Tensor<T> acc = test::random_tensor<T>({2, 3, 3, 4}, 5);
  const Tensor<T> acc0 = clone(acc);
  op.A_adjoint_add(y, acc);
  const auto a = to_vector(acc), b0 = to_vector(acc0);
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(test::same_sum(a[i], T(b0[i] + xv[i])))
        << i << ": " << a[i] << " " << b0[i] + xv[i];
}

// The host kernels (one pass over every channel for up to 4 channels, blocks channel by channel
// beyond) give the bits of the per-element kernels GPUs run, for A and for A^T set and
// accumulated, over several pixel blocks and a ragged last block.
TYPED_TEST(SamplingTest, DecolorizeKernelsMatchElementKernels) {
  using T = TypeParam;
  std::uint64_t seed = 700;
  for (std::int64_t C = 1; C <= 6; ++C)
    for (const Shape& img : {Shape{2, 1, 3, 5}, Shape{2, 1, 50, 47}}) {
      SCOPED_TRACE(std::to_string(C) + " channels, " + img.to_string());
      std::vector<double> srf(static_cast<std::size_t>(C), 1.0 / static_cast<double>(C));
      srf[0] += 0.01;
      srf[static_cast<std::size_t>(C - 1)] -= 0.01;
      const Decolorize<T> op(C, srf);
      const Shape xs = img.with(1, C);
      const std::int64_t P = img[2] * img[3];
      const Tensor<T> x = test::random_tensor<T>(xs, ++seed);
      const Tensor<T> y = test::random_tensor<T>(img, ++seed);
      const Tensor<T> x0 = test::random_tensor<T>(xs, ++seed);
      Tensor<T> y_ref("y_ref", img), xs_ref("xs_ref", xs), xa_ref = clone(x0), xa = clone(x0);
      Kokkos::parallel_for(
          impl::range(ExecutionSpace(), y.size()),
          impl::ChannelWeightedSum<T>{x.view(), op.srf().view(), y_ref.view(), C, P});
      Kokkos::parallel_for(
          impl::range(ExecutionSpace(), x.size()),
          impl::ChannelBroadcast<T, false>{y.view(), op.srf().view(), xs_ref.view(), C, P});
      Kokkos::parallel_for(
          impl::range(ExecutionSpace(), x.size()),
          impl::ChannelBroadcast<T, true>{y.view(), op.srf().view(), xa_ref.view(), C, P});
      Kokkos::fence();
      op.A_adjoint_add(y, xa);
      EXPECT_TRUE(test::same_sums(op.A(x), y_ref));
      EXPECT_TRUE(test::same_sums(op.A_adjoint(y), xs_ref));
      EXPECT_TRUE(test::same_sums(xa, xa_ref));
    }
}

TYPED_TEST(SamplingTest, DecolorizeBadInput) {
  using T = TypeParam;
  Decolorize<T> op;
  expect_shape_error(
      [&] {
        op.A(Tensor<T>("x", {2, 4, 5, 5}));
      },
      {"Decolorize", "(B, 3, ...)", "(2, 4, 5, 5)"});
  expect_shape_error([&] { op.A(Tensor<T>("x", {3})); }, {"(3)"});
  expect_shape_error(
      [&] {
        op.A_adjoint(Tensor<T>("y", {2, 3, 5, 5}));
      },
      {"(B, 1, ...)", "(2, 3, 5, 5)"});
  EXPECT_THROW(op.A(Tensor<T>("x", {1, 3, 4, 4}), Tensor<T>("y", {1, 3, 4, 4})), ShapeError);
  expect_value_error([] { Decolorize<T>(3, "sepia"); }, {"sepia", "rec601", "flat"});
  expect_value_error([] { Decolorize<T>(2); }, {"3 weights", "2 channels"});
  expect_value_error([] { Decolorize<T>(0); }, {"channels", "0"});
  expect_value_error([] { Decolorize<T>(3, std::vector<double>{0.5, 0.6, 0.1}); }, {"sum to 1"});
  EXPECT_THROW(Decolorize<T>(3, std::vector<double>{}), ValueError);
}

// ---------------------------------------------------------------------------------------------
// deepinv's own results

using test::RefTensor;

std::map<std::string, RefTensor> read_reference(const std::string& file) {
  return test::read_reference_file(file);
}

const std::map<std::string, RefTensor>& reference() {
  static const auto ref = read_reference("downsampling_reference.txt");
  return ref;
}

template <class T>
Tensor<T> to_tensor(const RefTensor& t) {
  std::vector<T> v(t.values.begin(), t.values.end());
  return from_vector<T>("reference", t.shape, v);
}

// Largest |got - ref| / max(1, |ref|).
template <class T>
double relative_error(const Tensor<T>& got, const RefTensor& ref) {
  EXPECT_EQ(got.shape(), ref.shape);
  const auto g = to_vector(got);
  if (g.size() != ref.values.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(g[i]) - ref.values[i]) /
                                std::max(1.0, std::fabs(ref.values[i])));
  return worst;
}

TEST(SamplingDeepinvReference, Filters) {
  const auto& ref = reference();
  int n = 0;
  for (DownsamplingFilter kind : all_filters)
    for (std::int64_t f : {2, 3}) {
      const std::string name = "filter/" + to_string(kind) + "/" + std::to_string(f);
      if (kind == DownsamplingFilter::None) continue;
      ASSERT_TRUE(ref.count(name)) << name;
      // deepinv's gaussian_blur is float32; the others were generated in float64.
      const double tol = kind == DownsamplingFilter::Gaussian ? 1e-7 : 1e-13;
      EXPECT_LE(relative_error(downsampling_filter<double>(kind, f), ref.at(name)), tol) << name;
      EXPECT_LE(relative_error(downsampling_filter<float>(kind, f), ref.at(name)), 1e-7) << name;
      ++n;
    }
  EXPECT_EQ(n, 8);
}

template <class T>
void check_downsampling_reference(double tol) {
  const auto& ref = reference();
  ASSERT_TRUE(ref.count("x"));
  const Tensor<T> x = to_tensor<T>(ref.at("x"));
  const Shape img{x.extent(1), x.extent(2), x.extent(3)};
  int forward = 0, adjoint = 0, raises = 0;
  for (DownsamplingFilter kind : all_filters)
    for (std::int64_t f : {2, 3})
      for (Padding mode : all_paddings) {
        const std::string tag = to_string(kind) + "/" + std::to_string(f) + "/" + to_string(mode);
        SCOPED_TRACE(tag);
        if (ref.count("raises/" + tag)) {
          // deepinv cannot apply this filter to this image in this mode: neither can kinv.
          EXPECT_THROW(Downsampling<T>(kind, f, mode).A(x), ShapeError);
          EXPECT_THROW(Downsampling<T>(kind, f, mode, img), ShapeError);
          ++raises;
          continue;
        }
        // The reference of plain decimation is stored once per factor (padding plays no part).
        const std::string rtag = kind == DownsamplingFilter::None
                                     ? to_string(kind) + "/" + std::to_string(f) + "/circular"
                                     : tag;
        ASSERT_TRUE(ref.count("A/" + rtag));
        Downsampling<T> op(kind, f, mode, img);
        EXPECT_LE(relative_error(op.A(x), ref.at("A/" + rtag)), tol);
        ++forward;
        if (!ref.count("AT/" + rtag)) continue;
        EXPECT_LE(
            relative_error(op.A_adjoint(to_tensor<T>(ref.at("y/" + rtag))), ref.at("AT/" + rtag)),
            tol);
        ++adjoint;
        // With deepinv's own filter, float64 matches to rounding.
        if (std::is_same<T, double>::value && kind != DownsamplingFilter::None) {
          Downsampling<T> exact(
              to_tensor<T>(ref.at("filter/" + to_string(kind) + "/" + std::to_string(f))), f, mode,
              img);
          EXPECT_LE(relative_error(exact.A(x), ref.at("A/" + rtag)), 1e-11);
        }
      }
  EXPECT_EQ(forward + raises, 50);
  EXPECT_EQ(raises, 5);
  EXPECT_EQ(adjoint, forward);
}

TEST(SamplingDeepinvReference, DownsamplingDouble) { check_downsampling_reference<double>(1e-6); }
TEST(SamplingDeepinvReference, DownsamplingFloat) { check_downsampling_reference<float>(1e-5); }

template <class T>
void check_decolorize_reference(double tol) {
  const auto& ref = reference();
  const Tensor<T> x = to_tensor<T>(ref.at("colour/x"));
  const Tensor<T> y = to_tensor<T>(ref.at("colour/y"));
  for (const char* srf : {"rec601", "flat"}) {
    SCOPED_TRACE(srf);
    Decolorize<T> op(3, srf);
    EXPECT_LE(relative_error(op.srf(), ref.at(std::string("colour/srf/") + srf)), tol);
    EXPECT_LE(relative_error(op.A(x), ref.at(std::string("colour/A/") + srf)), tol);
    EXPECT_LE(relative_error(op.A_adjoint(y), ref.at(std::string("colour/AT/") + srf)), tol);
  }
}

TEST(SamplingDeepinvReference, DecolorizeDouble) { check_decolorize_reference<double>(1e-6); }
TEST(SamplingDeepinvReference, DecolorizeFloat) { check_decolorize_reference<float>(1e-5); }

}  // namespace
}  // namespace kinv
