// BlurFFT: equal to Blur with circular padding, deepinv's results, exact adjoint, bad input.
#include <kinv/operators/blur.hpp>
#include <kinv/operators/blur_fft.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reference_data.hpp"
#include "test_helpers.hpp"

namespace kinv {
namespace {

template <class T>
class BlurFFTTest : public ::testing::Test {};
TYPED_TEST_SUITE(BlurFFTTest, test::ScalarTypes);

struct Case {
  Shape image;   // (B, C, H, W)
  Shape filter;  // (b, c, h, w) or (h, w)
};

const Case cases[] = {
    {{2, 3, 8, 8}, {1, 1, 3, 3}}, {{1, 2, 7, 9}, {1, 1, 4, 4}}, {{2, 2, 6, 5}, {1, 2, 2, 3}},
    {{2, 1, 9, 6}, {2, 1, 5, 1}}, {{1, 1, 5, 5}, {5, 5}},       {{1, 2, 6, 6}, {1, 1, 6, 6}},
    {{3, 1, 4, 7}, {1, 1, 1, 1}},
};

TYPED_TEST(BlurFFTTest, EqualsCircularBlur) {
  using T = TypeParam;
  std::uint64_t seed = 1;
  for (const Case& cs : cases) {
    SCOPED_TRACE(cs.image.to_string() + " filter " + cs.filter.to_string());
    const auto k = test::random_tensor<T>(cs.filter, seed++, T(0), T(1));
    BlurFFT<T> fft_op(Shape{cs.image[1], cs.image[2], cs.image[3]}, k);
    Blur<T> direct(k, Padding::Circular);
    const auto x = test::random_tensor<T>(cs.image, seed++);
    const auto y = test::random_tensor<T>(cs.image, seed++);
    const double tol = 64 * std::numeric_limits<T>::epsilon();
    EXPECT_LE(test::max_abs_diff(fft_op.A(x), direct.A(x)), tol);
    EXPECT_LE(test::max_abs_diff(fft_op.A_adjoint(y), direct.A_adjoint(y)), tol);
    EXPECT_LE(test::adjoint_mismatch_ulps(fft_op, cs.image, seed++), 16.0);
  }
}

TYPED_TEST(BlurFFTTest, MatchesDeepinv) {
  using T = TypeParam;
  const auto ref = test::read_reference_file("mri_reference.txt");
  const Shape sizes[] = {{2, 6, 5}, {2, 7, 6}};
  int i = 0;
  for (const char* name : {"blurfft_k3", "blurfft_k4x2c"}) {
    SCOPED_TRACE(name);
    const std::string n = name;
    BlurFFT<T> op(sizes[i++], test::ref_tensor<T>(ref, n + "/filter"));
    EXPECT_LE(test::ref_relative_error(op.A(test::ref_tensor<T>(ref, n + "/x")), ref, n + "/A"),
              1e-5);
    EXPECT_LE(
        test::ref_relative_error(op.A_adjoint(test::ref_tensor<T>(ref, n + "/y")), ref, n + "/AT"),
        1e-5);
  }
}

TYPED_TEST(BlurFFTTest, AccumulateAndImageSizeWithoutChannels) {
  using T = TypeParam;
  BlurFFT<T> op(Shape{10, 12}, gaussian_kernel<T>(1.0));  // (H, W): any channel count
  const auto y = test::random_tensor<T>({2, 4, 10, 12}, 5);
  const auto x0 = test::random_tensor<T>({2, 4, 10, 12}, 6);
  const auto x = clone(x0);
  op.A_adjoint_add(y, x);
  const auto a = to_vector(op.A_adjoint(y)), b = to_vector(x0), c = to_vector(x);
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(c[i], a[i] + b[i], 4 * std::numeric_limits<T>::epsilon()) << i;
}

// Tensors that are slices of a larger buffer at an odd offset (a result inside a gather's
// receive buffer) are not aligned like the complex type, which cuFFT and hipFFT require of real
// arrays: the engine copies through its scratch buffer, with the same results.
TYPED_TEST(BlurFFTTest, TensorsAtOddOffsetsGiveTheSameResults) {
  using T = TypeParam;
  const Shape shape{1, 3, 12, 10};
  BlurFFT<T> op(Shape{3, 12, 10}, gaussian_kernel<T>(0.8));
  const auto x = test::random_tensor<T>(shape, 11);
  const auto y = test::random_tensor<T>(shape, 12);
  const auto x0 = test::random_tensor<T>(shape, 13);
  const std::int64_t n = shape.size();
  Kokkos::View<T*, MemorySpace> buf("buf", static_cast<std::size_t>(3 * n + 3));
  auto slice = [&](int k) {
    const auto b = static_cast<std::size_t>(k * (n + 1) + 1);
    return Tensor<T>(Kokkos::subview(buf, std::make_pair(b, b + static_cast<std::size_t>(n))),
                     shape);
  };
  const Tensor<T> xs = slice(0), ys = slice(1), acc = slice(2);
  Kokkos::deep_copy(xs.view(), x.view());
  op.A(xs, ys);  // misaligned input and output
  EXPECT_TRUE(test::bitwise_equal(ys, op.A(x)));
  Kokkos::deep_copy(ys.view(), y.view());
  op.A_adjoint(ys, xs);
  EXPECT_TRUE(test::bitwise_equal(xs, op.A_adjoint(y)));
  Kokkos::deep_copy(acc.view(), x0.view());
  op.A_adjoint_add(ys, acc);
  const auto expected = clone(x0);
  op.A_adjoint_add(y, expected);
  EXPECT_TRUE(test::bitwise_equal(acc, expected));
}

// Bytes and number of Kokkos allocations per label.
std::map<std::string, std::int64_t> g_bytes, g_count;
void count_allocations(Kokkos::Profiling::SpaceHandle, const char* label, const void*,
                       std::uint64_t size) {
  g_bytes[label] += static_cast<std::int64_t>(size);
  ++g_count[label];
}
void start_counting() {
  Kokkos::fence();
  g_bytes.clear();
  g_count.clear();
  Kokkos::Tools::Experimental::set_allocate_data_callback(&count_allocations);
}
void stop_counting() {
  Kokkos::fence();
  Kokkos::Tools::Experimental::set_allocate_data_callback(nullptr);
}

// Blurs on one execution space instance share one work buffer and one set of plans: N blurs
// of a stack hold the buffers of one. Blurs of another image size use the same buffers (grown)
// and every result stays right whatever ran in between.
TYPED_TEST(BlurFFTTest, BlursOnOneInstanceShareTheirBuffers) {
  using T = TypeParam;
  const Shape small{2, 3, 24, 20}, large{1, 3, 40, 36};
  std::vector<std::unique_ptr<BlurFFT<T>>> ops;
  std::vector<std::unique_ptr<Blur<T>>> direct;
  start_counting();
  for (std::uint64_t i = 0; i < 4; ++i) {
    const auto k = test::random_tensor<T>({1, 1, 3 + std::int64_t(i), 5}, 20 + i, T(0), T(1));
    ops.push_back(std::make_unique<BlurFFT<T>>(Shape{small[1], small[2], small[3]}, k));
    direct.push_back(std::make_unique<Blur<T>>(k, Padding::Circular, BlurAlgorithm::Direct));
  }
  const auto x = test::random_tensor<T>(small, 3);
  std::vector<Tensor<T>> y;
  for (const auto& op : ops) y.push_back(op->A(x));
  stop_counting();
  // One half-spectrum buffer for a batch of 6 planes, whatever the number of blurs; cuFFT's
  // work area grows at most once after the filters' plan.
  const std::int64_t half = small[2] * (small[3] / 2 + 1);
  EXPECT_EQ(g_bytes["kinv::BlurFFT::work"],
            static_cast<std::int64_t>(sizeof(Kokkos::complex<T>)) * 6 * half);
  EXPECT_LE(g_count["kinv::fft::work_area"], 2);

  const auto k = test::random_tensor<T>({1, 1, 7, 7}, 40, T(0), T(1));
  BlurFFT<T> other(Shape{large[1], large[2], large[3]}, k);
  const auto xl = test::random_tensor<T>(large, 4);
  const auto yl = other.A(xl);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_LT(test::relative_diff_in_eps(ops[i]->A(x), direct[i]->A(x)), 64.0);
    EXPECT_TRUE(test::bitwise_equal(ops[i]->A(x), y[i]));
    EXPECT_LT(test::relative_diff_in_eps(ops[i]->A_adjoint(y[i]), direct[i]->A_adjoint(y[i])),
              64.0);
  }
  EXPECT_TRUE(test::bitwise_equal(other.A(xl), yl));
  EXPECT_LT(
      test::relative_diff_in_eps(yl, Blur<T>(k, Padding::Circular, BlurAlgorithm::Direct).A(xl)),
      64.0);
}

// A random filter of shape (b, c, h, w) made even about its centre tap (k[u, v] =
// k[h - 1 - u, w - 1 - v]), as Gaussians are.
template <class T>
Tensor<T> symmetric_filter(const Shape& f, std::uint64_t seed) {
  auto k = to_vector(test::random_tensor<T>(f, seed, T(0), T(1)));
  const std::int64_t h = f[2], w = f[3];
  for (std::int64_t p = 0; p < f[0] * f[1]; ++p)
    for (std::int64_t u = 0; u < h; ++u)
      for (std::int64_t v = 0; v < w; ++v)
        k[std::size_t((p * h + u) * w + v)] = k[std::size_t((p * h + h - 1 - u) * w + w - 1 - v)];
  return from_vector("symmetric_filter", f, k);
}

// Filters that are even on the grid (odd extents, symmetric about the centre) keep real spectra:
// half the memory of complex ones, with the same results as the direct blur. Others, an even
// extent among them, keep complex spectra.
TYPED_TEST(BlurFFTTest, EvenFiltersKeepRealSpectra) {
  using T = TypeParam;
  const Shape image{2, 3, 12, 10};
  const std::int64_t half = 12 * (10 / 2 + 1);
  struct FilterCase {
    Shape filter;
    bool symmetric, real;
  };
  const FilterCase filters[] = {{{1, 1, 5, 3}, true, true},   {{2, 3, 3, 7}, true, true},
                                {{1, 3, 1, 5}, true, true},   {{1, 1, 4, 3}, true, false},
                                {{1, 1, 5, 3}, false, false}, {{2, 1, 11, 3}, true, true}};
  std::uint64_t seed = 50;
  for (const FilterCase& fc : filters) {
    SCOPED_TRACE(fc.filter.to_string() + (fc.symmetric ? " symmetric" : " random"));
    const auto k = fc.symmetric ? symmetric_filter<T>(fc.filter, seed++)
                                : test::random_tensor<T>(fc.filter, seed++, T(0), T(1));
    start_counting();
    BlurFFT<T> op(Shape{image[1], image[2], image[3]}, k);
    stop_counting();
    const std::int64_t planes = fc.filter[0] * fc.filter[1];
    EXPECT_EQ(g_bytes["kinv::BlurFFT::real_spectra"],
              fc.real ? static_cast<std::int64_t>(sizeof(T)) * planes * half : 0);
    Blur<T> direct(k, Padding::Circular, BlurAlgorithm::Direct);
    const auto x = test::random_tensor<T>(image, seed++);
    const auto y = test::random_tensor<T>(image, seed++);
    EXPECT_LT(test::relative_diff_in_eps(op.A(x), direct.A(x)), 64.0);
    EXPECT_LT(test::relative_diff_in_eps(op.A_adjoint(y), direct.A_adjoint(y)), 64.0);
    EXPECT_LE(test::adjoint_mismatch_ulps(op, image, seed++), 16.0);
  }
}

// Large planes go through the engine in chunks (one plane when a plane's spectrum exceeds the
// chunk): the work buffer holds the chunk, and results, adjoints and accumulation stay right for
// filters with batch and channel planes, for a last chunk shorter than the others, and for
// planes at offsets not aligned like the complex type (an odd number of pixels per plane).
TYPED_TEST(BlurFFTTest, LargePlanesGoInChunks) {
  using T = TypeParam;
  struct ChunkCase {
    Shape image, filter;
  };
  const ChunkCase chunk_cases[] = {{{2, 3, 256, 1030}, {2, 3, 5, 3}},  // chunks of 1 plane
                                   {{1, 3, 199, 497}, {1, 1, 3, 3}},   // 2 planes, then 1
                                   {{1, 3, 257, 511}, {1, 3, 7, 5}}};  // odd planes: misaligned
  std::uint64_t seed = 70;
  for (const ChunkCase& cs : chunk_cases) {
    SCOPED_TRACE(cs.image.to_string());
    const std::int64_t half = cs.image[2] * (cs.image[3] / 2 + 1);
    const std::int64_t chunk =
        std::max<std::int64_t>(1, impl::BlurFFTEngine<T>::kWorkPoints / half);
    ASSERT_LT(chunk, cs.image[0] * cs.image[1]);
    for (const bool symmetric : {false, true}) {
      const auto k = symmetric ? symmetric_filter<T>(cs.filter, seed++)
                               : test::random_tensor<T>(cs.filter, seed++, T(0), T(1));
      BlurFFT<T> op(Shape{cs.image[1], cs.image[2], cs.image[3]}, k);
      Blur<T> direct(k, Padding::Circular, BlurAlgorithm::Direct);
      const auto x = test::random_tensor<T>(cs.image, seed++);
      const auto y = test::random_tensor<T>(cs.image, seed++);
      start_counting();
      const auto ax = op.A(x);
      stop_counting();
      EXPECT_EQ(g_bytes["kinv::BlurFFT::work"],
                static_cast<std::int64_t>(sizeof(Kokkos::complex<T>)) * chunk * half);
      EXPECT_LT(test::relative_diff_in_eps(ax, direct.A(x)), 64.0);
      EXPECT_LT(test::relative_diff_in_eps(op.A_adjoint(y), direct.A_adjoint(y)), 64.0);
      const auto x0 = test::random_tensor<T>(cs.image, seed++);
      const auto acc = clone(x0);
      op.A_adjoint_add(y, acc);
      const auto expected = clone(x0);
      direct.A_adjoint_add(y, expected);
      EXPECT_LT(test::relative_diff_in_eps(acc, expected), 64.0);
      EXPECT_LE(test::adjoint_mismatch_ulps(op, cs.image, seed++), 16.0);
    }
  }
}

TYPED_TEST(BlurFFTTest, BadInput) {
  using T = TypeParam;
  const auto k3 = gaussian_kernel<T>(0.5);                // 3 x 3
  EXPECT_THROW(BlurFFT<T>(Shape{2, 2}, k3), ValueError);  // filter larger than the image
  EXPECT_THROW(BlurFFT<T>(Shape{1, 1, 8, 8}, k3), ValueError);
  EXPECT_THROW(BlurFFT<T>(Shape{8, 8}, Tensor<T>("k", {1, 3, 3})), ValueError);
  EXPECT_THROW(BlurFFT<T>(Shape{3, 8, 8}, Tensor<T>("k", {1, 2, 3, 3})), ValueError);
  BlurFFT<T> op(Shape{3, 8, 8}, k3);
  EXPECT_THROW(op.A(Tensor<T>("x", {1, 3, 8, 7})), ShapeError);  // wrong image size
  EXPECT_THROW(op.A(Tensor<T>("x", {1, 2, 8, 8})), ShapeError);  // wrong channel count
  EXPECT_THROW(op.A(Tensor<T>("x", {3, 8, 8})), ShapeError);
  EXPECT_THROW(op.A_adjoint(Tensor<T>("y", {1, 3, 9, 8})), ShapeError);
  BlurFFT<T> batched(Shape{8, 8}, Tensor<T>("k", {2, 1, 3, 3}));
  EXPECT_THROW(batched.A(Tensor<T>("x", {3, 1, 8, 8})), ShapeError);
}

}  // namespace
}  // namespace kinv
