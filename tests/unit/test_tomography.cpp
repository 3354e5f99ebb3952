#include <kinv/operators/impl/tomography_functors.hpp>
#include <kinv/operators/tomography.hpp>

#include "same_sums.hpp"
#include "test_helpers.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace kinv {
namespace {

template <class T>
class TomographyTest : public ::testing::Test {};
TYPED_TEST_SUITE(TomographyTest, test::ScalarTypes);

struct Config {
  std::int64_t width;
  std::vector<double> angles;
  std::int64_t detectors;
  bool circle;
  std::string to_string() const {
    std::string s = "W=" + std::to_string(width) + " D=" + std::to_string(detectors) +
                    " A=" + std::to_string(angles.size()) + (circle ? " circle" : "");
    return s;
  }
};

std::vector<double> even_angles(int n) {
  std::vector<double> a;
  for (int k = 0; k < n; ++k) a.push_back(180.0 * k / n);
  return a;
}

TomographyOptions options_of(const Config& c) {
  TomographyOptions o;
  o.angles = c.angles;
  o.detector_count = c.detectors;
  o.circle = c.circle;
  return o;
}

std::vector<Config> configs() {
  return {
      {7, even_angles(5), 7, false},   {7, {0.0, 33.3, 90.0, 151.0}, 5, true},
      {16, even_angles(8), 16, false}, {16, even_angles(7), 23, false},
      {16, even_angles(6), 12, true},  {16, {-30.0, 0.0, 90.0, 180.0, 270.0, 400.5}, 17, false},
      {33, even_angles(9), 33, true},  {33, {0.0, 1.0, 44.9, 45.0, 89.99, 100.0, 179.5}, 47, false},
  };
}

/// The projection of one W x W image (row-major) by the geometry documented in tomography.hpp,
/// in double: y (D x A, row-major) and, per entry, the sum of |x| over the neighbours it reads.
void reference_projection(const std::vector<double>& x, const Config& c, std::int64_t samples,
                          std::vector<double>& y, std::vector<double>& abs_sum) {
  const std::int64_t W = c.width, D = c.detectors, S = samples;
  const std::int64_t A = static_cast<std::int64_t>(c.angles.size());
  const double centre = (W - 1) / 2.0;
  auto pixel = [&](std::int64_t r, std::int64_t col) -> double {
    if (r < 0 || r >= W || col < 0 || col >= W) return 0.0;
    if (c.circle) {
      const std::int64_t u = 2 * col - (W - 1), v = 2 * r - (W - 1);
      if (u * u + v * v > (W - 1) * (W - 1)) return 0.0;
    }
    return x[r * W + col];
  };
  y.assign(D * A, 0.0);
  abs_sum.assign(D * A, 0.0);
  for (std::int64_t a = 0; a < A; ++a) {
    const double th = c.angles[a] * 3.14159265358979323846 / 180.0;
    const double cs = std::cos(th), sn = std::sin(th);
    for (std::int64_t k = 0; k < D; ++k) {
      const double t = k - (D - 1) / 2.0;
      for (std::int64_t j = 0; j < S; ++j) {
        const double s = j - (S - 1) / 2.0;
        const double px = centre + cs * t + sn * s, py = centre - sn * t + cs * s;
        const double x0 = std::floor(px), y0 = std::floor(py);
        const double fx = px - x0, fy = py - y0;
        const auto ix = static_cast<std::int64_t>(x0), iy = static_cast<std::int64_t>(y0);
        const double v00 = pixel(iy, ix), v01 = pixel(iy, ix + 1);
        const double v10 = pixel(iy + 1, ix), v11 = pixel(iy + 1, ix + 1);
        y[k * A + a] += (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11);
        abs_sum[k * A + a] += std::fabs(v00) + std::fabs(v01) + std::fabs(v10) + std::fabs(v11);
      }
    }
  }
}

TYPED_TEST(TomographyTest, AdjointDotTest) {
  using T = TypeParam;
  // The weights of A and A^T are bitwise the same, so <A x, y> and <x, A^T y> sum the same
  // products w x_p y_q in another order (and association): their difference is the rounding of
  // two sums of at most 4 S (forward) and 9 A (adjoint) terms. Random signs make it grow like
  // the square root of the term count, and the normalisation by ||A x|| ||y|| divides it again:
  // we measure well below 1 ulp, and 8 ulps leaves room while a wrong weight anywhere gives
  // ~1 / eps.
  const double bound = 8.0;
  double worst = 0;
  for (const Config& c : configs()) {
    Tomography<T> op(c.width, options_of(c));
    for (std::uint64_t seed : {1, 5}) {
      const double ulps = test::adjoint_mismatch_ulps(op, {2, 2, c.width, c.width}, seed);
      EXPECT_LT(ulps, bound) << c.to_string();
      worst = std::max(worst, ulps);
    }
  }
  std::cout << "[          ] worst adjoint mismatch: " << worst << " ulps\n";
}

TYPED_TEST(TomographyTest, AdjointIsTheExactTranspose) {
  using T = TypeParam;
  // Dense matrices of A and A^T from their action on every basis vector, through the batch.
  for (const Config& c :
       {Config{5, {0.0, 30.0, 45.0, 100.0}, 6, false}, Config{6, {12.0, 90.0, 135.0}, 5, true}}) {
    Tomography<T> op(c.width, options_of(c));
    const std::int64_t n = c.width * c.width, m = op.detector_count() * op.num_angles();
    std::vector<T> ex(n * n, T(0)), ey(m * m, T(0));
    for (std::int64_t i = 0; i < n; ++i) ex[i * n + i] = T(1);
    for (std::int64_t i = 0; i < m; ++i) ey[i * m + i] = T(1);
    const auto A = to_vector(op.A(from_vector<T>("e", {n, 1, c.width, c.width}, ex)));
    const auto At = to_vector(
        op.A_adjoint(from_vector<T>("e", {m, 1, op.detector_count(), op.num_angles()}, ey)));
    double max_entry = 0;
    for (T v : A) max_entry = std::max(max_entry, std::fabs(static_cast<double>(v)));
    EXPECT_GT(max_entry, 0.5);
    for (std::int64_t p = 0; p < n; ++p)
      for (std::int64_t q = 0; q < m; ++q)
        EXPECT_NEAR(A[p * m + q], At[q * n + p], 4 * std::numeric_limits<T>::epsilon())
            << c.to_string() << " pixel " << p << " measurement " << q;
  }
}

TYPED_TEST(TomographyTest, AdjointMatrixIsBitwiseTheTranspose) {
  using T = TypeParam;
  // For a basis image, entry (k, a) of A e_p sums the weights of pixel p over the samples of
  // line (k, a) in the order of j, plus exact zeros; A^T e_q at pixel p sums the same weights in
  // the same order. So the two matrices agree bitwise, and a sample that either kernel's index
  // ranges miss (even one of tiny weight, at the edge of a footprint or of the image) shows.
  // Angles near multiples of 45 degrees and lines along the image edges stress those ranges.
  const std::vector<double> angles = {0.0,  1e-5, 0.3,      30.0,  44.99999, 45.0,      60.0,
                                      89.9, 90.0, 90.00001, 112.5, 135.0,    179.99999, 270.0};
  for (const Config& c :
       {Config{13, angles, 13, false}, Config{12, angles, 17, false}, Config{14, angles, 14, true},
        Config{11, angles, 16, true}, Config{2, angles, 3, false}}) {
    Tomography<T> op(c.width, options_of(c));
    const std::int64_t n = c.width * c.width, m = op.detector_count() * op.num_angles();
    std::vector<T> ex(n * n, T(0)), ey(m * m, T(0));
    for (std::int64_t i = 0; i < n; ++i) ex[i * n + i] = T(1);
    for (std::int64_t i = 0; i < m; ++i) ey[i * m + i] = T(1);
    const auto A = to_vector(op.A(from_vector<T>("e", {n, 1, c.width, c.width}, ex)));
    const auto At = to_vector(
        op.A_adjoint(from_vector<T>("e", {m, 1, op.detector_count(), op.num_angles()}, ey)));
    std::int64_t nonzero = 0, differ = 0;
    for (std::int64_t p = 0; p < n; ++p)
      for (std::int64_t q = 0; q < m; ++q) {
        nonzero += A[p * m + q] != T(0);
        if (A[p * m + q] != At[q * n + p] && ++differ <= 5)
          ADD_FAILURE() << c.to_string() << " pixel " << p << " measurement " << q << ": A "
                        << A[p * m + q] << ", A^T " << At[q * n + p];
      }
    EXPECT_EQ(differ, 0) << c.to_string();
    EXPECT_GT(nonzero, n) << c.to_string();
  }
}

/// Runs the GPU kernels (one thread per measurement, one per pixel: a gather) and the CPU ones
/// (lines in lockstep, a scatter over bands of rows) on the same data, and checks that they agree
/// bitwise, and with the operator's A, A^T and A^T-add (whichever kernels it runs here).
template <class T, bool Circle>
void check_kernels_agree(const Config& c, std::uint64_t seed) {
  Tomography<T> op(c.width, options_of(c));
  const std::int64_t W = c.width, D = op.detector_count(), A = op.num_angles();
  const auto g = impl::tomography_geometry<T>(W, D, op.num_samples(), A);
  const auto table = impl::tomography_angle_table<T>(op.angles(), g.margin);
  const auto steps = impl::tomography_step_table<T>(table, g);
  const std::int64_t images = 3;
  const Tensor<T> x = test::random_tensor<T>({images, 1, W, W}, seed);
  const Tensor<T> y = test::random_tensor<T>({images, 1, D, A}, seed + 1);
  const Tensor<T> x0 = test::random_tensor<T>({images, 1, W, W}, seed + 2);
  const ExecutionSpace space;

  // A
  const Tensor<T> y_entries = Tensor<T>::uninitialized("y", y.shape());
  Kokkos::parallel_for("test::forward", impl::range(space, y.size()),
                       impl::TomographyForward<T, Circle>{x.view(), table, y_entries.view(), g});
  const impl::TomographyForward<T, Circle> f{x.view(), table, Kokkos::View<T*, MemorySpace>(), g};
  for (int lines : {1, 4}) {
    const Tensor<T> y_lines = Tensor<T>::uninitialized("y", y.shape());
    auto g_lines = f;
    g_lines.y = y_lines.view();
    if (lines == 1) {
      using L = impl::TomographyForwardLines<T, Circle, 1>;
      Kokkos::parallel_for("test::forward_lines", impl::range(space, L::work_items(images, D, A)),
                           L{g_lines, steps});
    } else {
      using L = impl::TomographyForwardLines<T, Circle, 4>;
      Kokkos::parallel_for("test::forward_lines", impl::range(space, L::work_items(images, D, A)),
                           L{g_lines, steps});
    }
    EXPECT_TRUE(test::bitwise_equal(y_entries, y_lines)) << c.to_string() << " lines " << lines;
  }
  EXPECT_TRUE(test::bitwise_equal(y_entries, op.A(x))) << c.to_string();

  // A^T, setting and accumulating
  for (bool accumulate : {false, true}) {
    const Tensor<T> gathered = clone(x0);
    const auto policy = impl::range(space, images * W * W);
    if (accumulate)
      Kokkos::parallel_for(
          "test::gather", policy,
          impl::TomographyAdjoint<T, Circle, true, 1>{y.view(), table, gathered.view(), g});
    else
      Kokkos::parallel_for(
          "test::gather", policy,
          impl::TomographyAdjoint<T, Circle, false, 1>{y.view(), table, gathered.view(), g});
    for (std::int64_t rows : {1, 3, 16}) {
      using Bands = impl::TomographyAdjointBands<T, Circle, false>;
      const Tensor<T> scattered = clone(x0);
      Kokkos::View<T*, MemorySpace> work(
          "work", Bands::work_items(images, W, rows) * Bands::slice_size(W, rows));
      const auto items = impl::range(space, Bands::work_items(images, W, rows));
      if (accumulate)
        Kokkos::parallel_for("test::bands", items,
                             impl::TomographyAdjointBands<T, Circle, true>{
                                 y.view(), table, scattered.view(), work, steps, g, rows});
      else
        Kokkos::parallel_for("test::bands", items,
                             Bands{y.view(), table, scattered.view(), work, steps, g, rows});
      EXPECT_TRUE(test::same_sums(gathered, scattered))
          << c.to_string() << " rows " << rows << (accumulate ? " accumulate" : "");
    }
    const Tensor<T> out = clone(x0);
    if (accumulate)
      op.A_adjoint_add(y, out);
    else
      op.A_adjoint(y, out);
    EXPECT_TRUE(test::bitwise_equal(gathered, out)) << c.to_string();
    // A nonzero A^T y, so that agreeing means something.
    const Tensor<T> zero("zero", x0.shape());
    EXPECT_GT(test::max_abs_diff(out, accumulate ? x0 : zero), 0.1) << c.to_string();
  }
}

TYPED_TEST(TomographyTest, CpuKernelsAgreeBitwiseWithGpuKernels) {
  using T = TypeParam;
  const std::vector<double> axes = {0.0, 45.0, 90.0, 135.0};
  const std::vector<double> mixed = {0.0, 12.5, 45.0, 77.0, 90.0, 101.0, 135.0, 170.3, -20.0};
  const std::vector<Config> cases = {
      {37, axes, 37, false}, {38, mixed, 38, true},           {40, even_angles(11), 57, false},
      {33, mixed, 20, true}, {64, even_angles(9), 91, false}, {5, axes, 7, false},
      {6, mixed, 3, true},   {1, {0.0, 30.0}, 1, false},      {3, axes, 2, true},
      {19, axes, 27, false},
  };
  std::uint64_t seed = 11;
  for (const Config& c : cases) {
    if (c.circle)
      check_kernels_agree<T, true>(c, seed);
    else
      check_kernels_agree<T, false>(c, seed);
    seed += 3;
  }
}

TYPED_TEST(TomographyTest, ForwardMatchesANaiveReference) {
  using T = TypeParam;
  for (const Config& c : configs()) {
    Tomography<T> op(c.width, options_of(c));
    const Tensor<T> x = test::random_tensor<T>({1, 2, c.width, c.width}, 3);
    const auto xv = to_vector(x);
    const auto yv = to_vector(op.A(x));
    const std::int64_t img = c.width * c.width, meas = c.detectors * op.num_angles();
    // Sample points are rounded in T to a few ulps of W + S, which moves each weight by as
    // much; the sums round too.
    const double eps = std::numeric_limits<T>::epsilon();
    const double rel = 4 * eps * static_cast<double>(c.width + op.num_samples());
    for (std::int64_t ch = 0; ch < 2; ++ch) {
      std::vector<double> xd(xv.begin() + ch * img, xv.begin() + (ch + 1) * img), yr, l1;
      reference_projection(xd, c, op.num_samples(), yr, l1);
      for (std::int64_t i = 0; i < meas; ++i)
        ASSERT_NEAR(yv[ch * meas + i], yr[i], rel * l1[i] + 1e-300)
            << c.to_string() << " channel " << ch << " entry " << i;
    }
  }
}

TYPED_TEST(TomographyTest, AxisAlignedAnglesSumColumnsAndRows) {
  using T = TypeParam;
  // deepinv's convention: at 0 degrees detector k sums column k; at 90 it sums row W - 1 - k,
  // at 180 column W - 1 - k, at 270 row k.
  for (std::int64_t W : {6, 7}) {
    Tomography<T> op(W, std::vector<double>{0.0, 90.0, 180.0, 270.0});
    EXPECT_EQ(op.detector_count(), W);
    const Tensor<T> x = test::random_tensor<T>({1, 1, W, W}, 11);
    const auto xv = to_vector(x);
    const auto y = to_vector(op.A(x));
    ASSERT_EQ(static_cast<std::int64_t>(y.size()), W * 4);
    for (std::int64_t k = 0; k < W; ++k) {
      double col_k = 0, col_rev = 0, row_k = 0, row_rev = 0, l1 = 0;
      for (std::int64_t i = 0; i < W; ++i) {
        col_k += xv[i * W + k];
        col_rev += xv[i * W + (W - 1 - k)];
        row_k += xv[k * W + i];
        row_rev += xv[(W - 1 - k) * W + i];
        l1 += std::fabs(xv[i * W + k]) + std::fabs(xv[k * W + i]) +
              std::fabs(xv[i * W + (W - 1 - k)]) + std::fabs(xv[(W - 1 - k) * W + i]);
      }
      const double tol = 4 * std::numeric_limits<T>::epsilon() * l1;
      EXPECT_NEAR(y[k * 4 + 0], col_k, tol) << "W=" << W << " k=" << k;
      EXPECT_NEAR(y[k * 4 + 1], row_rev, tol) << "W=" << W << " k=" << k;
      EXPECT_NEAR(y[k * 4 + 2], col_rev, tol) << "W=" << W << " k=" << k;
      EXPECT_NEAR(y[k * 4 + 3], row_k, tol) << "W=" << W << " k=" << k;
    }
  }
}

TYPED_TEST(TomographyTest, CentredPointSourceProjectsToTheCentreDetector) {
  using T = TypeParam;
  const std::int64_t W = 9;
  std::vector<T> delta(W * W, T(0));
  delta[4 * W + 4] = T(1);
  const std::vector<double> angles = {0.0, 30.0, 45.0, 60.0, 90.0, 117.3, 172.0};
  for (std::int64_t D : {9, 11})
    for (bool circle : {false, true}) {
      TomographyOptions o;
      o.angles = angles;
      o.detector_count = D;
      o.circle = circle;
      Tomography<T> op(W, o);
      const auto y = to_vector(op.A(from_vector<T>("delta", {1, 1, W, W}, delta)));
      const std::int64_t A = static_cast<std::int64_t>(angles.size()), mid = (D - 1) / 2;
      for (std::int64_t a = 0; a < A; ++a) {
        for (std::int64_t k = 0; k < D; ++k) {
          if (k != mid) {
            EXPECT_LT(y[k * A + a], y[mid * A + a]) << "angle " << angles[a];
          }
          EXPECT_NEAR(y[k * A + a], y[(D - 1 - k) * A + a], 8 * std::numeric_limits<T>::epsilon())
              << "angle " << angles[a] << " k=" << k;
        }
        if (angles[a] == 0.0 || angles[a] == 90.0) {
          EXPECT_EQ(y[mid * A + a], T(1));
        }
      }
    }
}

TYPED_TEST(TomographyTest, PointSymmetricImagesGiveSymmetricProjections) {
  using T = TypeParam;
  for (const Config& c : configs()) {
    const std::int64_t W = c.width;
    auto xv = to_vector(test::random_tensor<T>({1, 1, W, W}, 21));
    for (std::int64_t i = 0; i < W * W / 2; ++i)
      xv[i] = xv[W * W - 1 - i] = xv[i] + xv[W * W - 1 - i];
    Tomography<T> op(W, options_of(c));
    const auto y = to_vector(op.A(from_vector<T>("x", {1, 1, W, W}, xv)));
    const std::int64_t D = c.detectors, A = op.num_angles();
    double scale = 0;
    for (T v : y) scale = std::max(scale, std::fabs(static_cast<double>(v)));
    for (std::int64_t k = 0; k < D; ++k)
      for (std::int64_t a = 0; a < A; ++a)
        ASSERT_NEAR(y[k * A + a], y[(D - 1 - k) * A + a],
                    64 * W * std::numeric_limits<T>::epsilon() * scale)
            << c.to_string() << " k=" << k << " a=" << a;
  }
}

TYPED_TEST(TomographyTest, DefaultAnglesAndSizes) {
  using T = TypeParam;
  Tomography<T> four(16, 4);
  EXPECT_EQ(four.angles(), (std::vector<double>{0.0, 45.0, 90.0, 135.0}));
  EXPECT_EQ(four.num_angles(), 4);
  EXPECT_EQ(four.img_width(), 16);
  EXPECT_EQ(four.detector_count(), 16);
  EXPECT_FALSE(four.circle());
  EXPECT_EQ(four.num_samples(), 24);  // 16 + 2 ceil(0.414 * 8)
  EXPECT_EQ(four.output_shape({2, 3, 16, 16}), (Shape{2, 3, 16, 4}));
  EXPECT_EQ(four.input_shape({2, 3, 16, 4}), (Shape{2, 3, 16, 16}));
  Tomography<T> seven(16, 7);
  for (std::int64_t k = 0; k < 7; ++k) EXPECT_EQ(seven.angles()[k], 180.0 * k / 7);
  TomographyOptions o;
  o.num_angles = 3;
  o.detector_count = 20;
  o.circle = true;
  Tomography<T> opt(9, o);
  EXPECT_EQ(opt.angles(), (std::vector<double>{0.0, 60.0, 120.0}));
  EXPECT_EQ(opt.detector_count(), 20);
  EXPECT_EQ(opt.num_samples(), 9);
  EXPECT_TRUE(opt.circle());
  EXPECT_EQ(opt.output_shape({1, 1, 9, 9}), (Shape{1, 1, 20, 3}));
  EXPECT_EQ(Tomography<T>(9, 1).num_samples(), 13);  // 9 + 2 ceil(0.414 * 4.5)
  // Integer angles given as a list are the same operator.
  Tomography<T> listed(16, std::vector<double>{0.0, 45.0, 90.0, 135.0});
  const Tensor<T> x = test::random_tensor<T>({1, 1, 16, 16}, 2);
  EXPECT_TRUE(test::bitwise_equal(four.A(x), listed.A(x)));
}

TYPED_TEST(TomographyTest, BatchAndChannelsAreIndependent) {
  using T = TypeParam;
  TomographyOptions o;
  o.num_angles = 5;
  o.detector_count = 13;
  Tomography<T> op(10, o);
  const Tensor<T> x = test::random_tensor<T>({2, 3, 10, 10}, 8);
  const Tensor<T> y = test::random_tensor<T>({2, 3, 13, 5}, 9);
  const auto Ax = to_vector(op.A(x));
  const auto ATy = to_vector(op.A_adjoint(y));
  const auto xv = to_vector(x), yv = to_vector(y);
  for (std::int64_t s = 0; s < 6; ++s) {
    const std::vector<T> xs(xv.begin() + s * 100, xv.begin() + (s + 1) * 100);
    const std::vector<T> ys(yv.begin() + s * 65, yv.begin() + (s + 1) * 65);
    const auto Axs = to_vector(op.A(from_vector<T>("x", {1, 1, 10, 10}, xs)));
    const auto ATys = to_vector(op.A_adjoint(from_vector<T>("y", {1, 1, 13, 5}, ys)));
    for (std::int64_t i = 0; i < 65; ++i) EXPECT_EQ(Ax[s * 65 + i], Axs[i]);
    for (std::int64_t i = 0; i < 100; ++i) EXPECT_EQ(ATy[s * 100 + i], ATys[i]);
  }
}

TYPED_TEST(TomographyTest, CircleIgnoresAndZeroesPixelsOutsideTheDisc) {
  using T = TypeParam;
  for (std::int64_t W : {9, 10}) {
    TomographyOptions o;
    o.num_angles = 6;
    o.circle = true;
    Tomography<T> op(W, o);
    const Tensor<T> x = test::random_tensor<T>({1, 1, W, W}, 4);
    auto changed = to_vector(x);
    const auto ATy = to_vector(op.A_adjoint(test::random_tensor<T>(op.output_shape(x.shape()), 5)));
    std::int64_t outside = 0;
    for (std::int64_t r = 0; r < W; ++r)
      for (std::int64_t c = 0; c < W; ++c) {
        const std::int64_t u = 2 * c - (W - 1), v = 2 * r - (W - 1);
        if (u * u + v * v > (W - 1) * (W - 1)) {
          ++outside;
          changed[r * W + c] += T(3);
          EXPECT_EQ(ATy[r * W + c], T(0)) << r << ", " << c;
        } else {
          EXPECT_NE(ATy[r * W + c], T(0)) << r << ", " << c;
        }
      }
    EXPECT_GT(outside, 0);
    EXPECT_TRUE(test::bitwise_equal(op.A(x), op.A(from_vector<T>("x", x.shape(), changed))));
  }
}

TYPED_TEST(TomographyTest, AdjointAddAccumulates) {
  using T = TypeParam;
  TomographyOptions o;
  o.num_angles = 7;
  o.detector_count = 11;
  Tomography<T> op(8, o);
  const Tensor<T> y = test::random_tensor<T>({2, 1, 11, 7}, 3);
  const Tensor<T> x0 = test::random_tensor<T>({2, 1, 8, 8}, 4);
  const Tensor<T> acc = clone(x0);
  op.A_adjoint_add(y, acc);
  const auto ATy = to_vector(op.A_adjoint(y));
  const auto a = to_vector(acc), b = to_vector(x0);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i] + ATy[i]) << i;
}

TYPED_TEST(TomographyTest, BadArgumentsAreClearErrors) {
  using T = TypeParam;
  Tomography<T> op(8, 4);
  try {
    op.A(Tensor<T>("x", {1, 1, 8, 9}));
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(1, 1, 8, 8)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(1, 1, 8, 9)"), std::string::npos) << e.what();
  }
  try {
    op.A(Tensor<T>("x", {2, 3, 7, 7}));
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(2, 3, 8, 8)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(2, 3, 7, 7)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Tomography"), std::string::npos) << e.what();
  }
  EXPECT_THROW(op.A(Tensor<T>("x", {1, 8, 8})), ShapeError);
  EXPECT_THROW(op.A_adjoint(Tensor<T>("y", {1, 1, 8, 5})), ShapeError);
  EXPECT_THROW(op.A_adjoint(Tensor<T>("y", {1, 1, 7, 4})), ShapeError);
  EXPECT_THROW(op.A(Tensor<T>("x", {1, 1, 8, 8}), Tensor<T>("y", {1, 1, 8, 3})), ShapeError);
  EXPECT_THROW(Tomography<T>(0, 4), ValueError);
  EXPECT_THROW(Tomography<T>(8, 0), ValueError);
  EXPECT_THROW(Tomography<T>(8, -3), ValueError);
  EXPECT_THROW(Tomography<T>(8, std::vector<double>{}), ValueError);
  EXPECT_THROW(Tomography<T>(8, std::vector<double>{0.0, std::nan("")}), ValueError);
  EXPECT_THROW(Tomography<T>(8, std::vector<double>{std::numeric_limits<double>::infinity()}),
               ValueError);
  for (std::int64_t d : {0, -2}) {
    TomographyOptions o;
    o.num_angles = 4;
    o.detector_count = d;
    EXPECT_THROW(Tomography<T>(8, o), ValueError) << d;
  }
  TomographyOptions both;
  both.angles = {0.0, 10.0};
  both.num_angles = 3;
  EXPECT_THROW(Tomography<T>(8, both), ValueError);
}

// ---------------------------------------------------------------------------------------------
// deepinv's own numbers (tests/data/generate_tomography_reference.py).

struct ReferenceCase {
  std::string name;
  std::int64_t width = 0, detectors = 0, num_angles = 0;
  bool circle = false;
  std::vector<double> angles;
  std::vector<double> x, Ax, y, ATy;
};

std::vector<double> read_tensor(std::istream& in, const std::string& expect_name) {
  std::string name;
  int rank = 0;
  in >> name >> rank;
  EXPECT_EQ(name, expect_name);
  std::int64_t n = 1;
  for (int d = 0; d < rank; ++d) {
    std::int64_t e = 0;
    in >> e;
    n *= e;
  }
  std::vector<double> v(static_cast<std::size_t>(n));
  for (auto& e : v) in >> e;
  return v;
}

std::vector<ReferenceCase> read_reference(const std::string& path) {
  std::ifstream f(path);
  std::vector<ReferenceCase> cases;
  if (!f) return cases;
  std::string token;
  while (f >> token) {
    if (token[0] == '#') {
      std::getline(f, token);
      continue;
    }
    if (token != "case") {
      ADD_FAILURE() << "unexpected token '" << token << "' in " << path;
      break;
    }
    ReferenceCase c;
    int circle = 0;
    f >> c.name >> c.width >> circle >> c.detectors >> c.num_angles;
    c.circle = circle != 0;
    c.angles.resize(static_cast<std::size_t>(c.num_angles));
    for (auto& a : c.angles) f >> a;
    c.x = read_tensor(f, "x");
    c.Ax = read_tensor(f, "Ax");
    c.y = read_tensor(f, "y");
    c.ATy = read_tensor(f, "ATy");
    if (!f) {
      ADD_FAILURE() << "truncated case " << c.name << " in " << path;
      break;
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

template <class T>
double max_relative_error(const std::vector<T>& got, const std::vector<double>& want) {
  double scale = 0, err = 0;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  for (std::size_t i = 0; i < want.size(); ++i)
    err = std::max(err, std::fabs(static_cast<double>(got[i]) - want[i]));
  return err / scale;
}

TYPED_TEST(TomographyTest, MatchesDeepinv) {
  using T = TypeParam;
  const auto cases = read_reference(std::string(KINV_TEST_DATA_DIR) + "/tomography_reference.txt");
  ASSERT_FALSE(cases.empty()) << "no reference data in " << KINV_TEST_DATA_DIR;
  // deepinv computes in float64 here; the remaining differences are the rounding of its grid
  // (affine_grid, then grid_sample's unnormalisation) against ours, in T.
  const double tol = std::is_same<T, double>::value ? 1e-11 : 2e-6;
  for (const auto& c : cases) {
    TomographyOptions o;
    o.angles = c.angles;
    o.detector_count = c.detectors;
    o.circle = c.circle;
    Tomography<T> op(c.width, o);
    const auto cast = [](const std::vector<double>& v) {
      return std::vector<T>(v.begin(), v.end());
    };
    const auto Ax = to_vector(op.A(from_vector<T>("x", {1, 1, c.width, c.width}, cast(c.x))));
    const auto ATy =
        to_vector(op.A_adjoint(from_vector<T>("y", {1, 1, c.detectors, c.num_angles}, cast(c.y))));
    ASSERT_EQ(Ax.size(), c.Ax.size()) << c.name;
    ASSERT_EQ(ATy.size(), c.ATy.size()) << c.name;
    const double eA = max_relative_error(Ax, c.Ax), eAT = max_relative_error(ATy, c.ATy);
    EXPECT_LT(eA, tol) << c.name << " A";
    EXPECT_LT(eAT, tol) << c.name << " A_adjoint";
    std::cout << "[          ] deepinv " << c.name << ": A " << eA << ", A_adjoint " << eAT
              << " (max abs error / max abs value)\n";
  }
}

}  // namespace
}  // namespace kinv
