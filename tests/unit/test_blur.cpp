#include <kinv/config.hpp>
#include <kinv/operators/blur.hpp>

#include "reference_data.hpp"
#include "test_helpers.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace kinv {
namespace {

const Padding all_paddings[] = {Padding::Valid, Padding::Circular, Padding::Replicate,
                                Padding::Reflect, Padding::Constant};

// ---------------------------------------------------------------------------------------------
// A host reference written from deepinv's conv2d: flip the filter, pad the image with
// torch.nn.functional.pad by (left, right, top, bottom) = (pw - iw, pw, ph - ih, ph), p = f // 2,
// i = (f - 1) % 2, then cross-correlate without padding. Sums in long double.

// The pixel of [0, n) that torch's F.pad puts at position t (t < 0: before the image), or -1
// for a zero. Written independently of the library: periodic and mirror formulas by modulo.
std::int64_t torch_pad_source(Padding mode, std::int64_t t, std::int64_t n) {
  switch (mode) {
    case Padding::Circular:
      return ((t % n) + n) % n;
    case Padding::Replicate:
      return std::min<std::int64_t>(std::max<std::int64_t>(t, 0), n - 1);
    case Padding::Reflect: {
      if (n == 1) return 0;
      const std::int64_t period = 2 * (n - 1);
      const std::int64_t m = ((t % period) + period) % period;
      return m < n ? m : period - m;
    }
    case Padding::Constant:
      return (t >= 0 && t < n) ? t : -1;
    case Padding::Valid:
      return t;
  }
  return -1;
}

struct Pads {
  std::int64_t before, after;
};
Pads torch_pads(Padding mode, std::int64_t f) {
  if (mode == Padding::Valid) return {0, 0};
  return {f / 2 - (f - 1) % 2, f / 2};
}

// Filter offset of (batch b, channel c) with deepinv's broadcasting of (fb, fc, h, w).
std::int64_t filter_offset(const Shape& fs, std::int64_t b, std::int64_t c) {
  return ((fs[0] == 1 ? 0 : b) * fs[1] + (fs[1] == 1 ? 0 : c)) * fs[2] * fs[3];
}

struct Reference {
  Shape shape;
  std::vector<long double> value;
  std::vector<long double> abs_sum;  // sum of |terms|, to bound the rounding of each element
};

template <class T>
Reference reference_conv2d(const Tensor<T>& x, const Tensor<T>& filter, Padding mode) {
  const auto xv = to_vector(x);
  const auto kv = to_vector(filter);
  const Shape xs = x.shape();
  const Shape fs =
      filter.rank() == 2 ? Shape{1, 1, filter.extent(0), filter.extent(1)} : filter.shape();
  const std::int64_t B = xs[0], C = xs[1], H = xs[2], W = xs[3], h = fs[2], w = fs[3];
  const Pads pr = torch_pads(mode, h), pc = torch_pads(mode, w);
  const std::int64_t Hp = H + pr.before + pr.after, Wp = W + pc.before + pc.after;
  const std::int64_t Ho = Hp - h + 1, Wo = Wp - w + 1;
  Reference ref{Shape{B, C, Ho, Wo}, {}, {}};
  ref.value.assign(static_cast<std::size_t>(B * C * Ho * Wo), 0.0L);
  ref.abs_sum = ref.value;
  std::vector<long double> padded(static_cast<std::size_t>(Hp * Wp));
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t c = 0; c < C; ++c) {
      const std::int64_t xo = (b * C + c) * H * W;
      for (std::int64_t r = 0; r < Hp; ++r)
        for (std::int64_t s = 0; s < Wp; ++s) {
          const std::int64_t sr = torch_pad_source(mode, r - pr.before, H);
          const std::int64_t sc = torch_pad_source(mode, s - pc.before, W);
          padded[r * Wp + s] = (sr < 0 || sc < 0) ? 0.0L : xv[xo + sr * W + sc];
        }
      const std::int64_t ko = filter_offset(fs, b, c);
      for (std::int64_t i = 0; i < Ho; ++i)
        for (std::int64_t j = 0; j < Wo; ++j) {
          long double acc = 0, abs = 0;
          for (std::int64_t u = 0; u < h; ++u)
            for (std::int64_t v = 0; v < w; ++v) {
              const long double flipped = kv[ko + (h - 1 - u) * w + (w - 1 - v)];
              const long double term = flipped * padded[(i + u) * Wp + (j + v)];
              acc += term;
              abs += std::fabs(term);
            }
          ref.value[((b * C + c) * Ho + i) * Wo + j] = acc;
          ref.abs_sum[((b * C + c) * Ho + i) * Wo + j] = abs;
        }
    }
  return ref;
}

// The transpose of reference_conv2d as a scatter: correlate-transpose onto the padded grid,
// then send every padded position back to the pixel it was copied from.
template <class T>
Reference reference_conv_transpose2d(const Tensor<T>& y, const Tensor<T>& filter, Padding mode,
                                     const Shape& xs) {
  const auto yv = to_vector(y);
  const auto kv = to_vector(filter);
  const Shape fs =
      filter.rank() == 2 ? Shape{1, 1, filter.extent(0), filter.extent(1)} : filter.shape();
  const std::int64_t B = xs[0], C = xs[1], H = xs[2], W = xs[3], h = fs[2], w = fs[3];
  const Pads pr = torch_pads(mode, h), pc = torch_pads(mode, w);
  const std::int64_t Hp = H + pr.before + pr.after, Wp = W + pc.before + pc.after;
  const std::int64_t Ho = Hp - h + 1, Wo = Wp - w + 1;
  Reference ref{xs, {}, {}};
  ref.value.assign(static_cast<std::size_t>(xs.size()), 0.0L);
  ref.abs_sum = ref.value;
  std::vector<long double> grid(static_cast<std::size_t>(Hp * Wp)), grid_abs(grid.size());
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t c = 0; c < C; ++c) {
      std::fill(grid.begin(), grid.end(), 0.0L);
      std::fill(grid_abs.begin(), grid_abs.end(), 0.0L);
      const std::int64_t ko = filter_offset(fs, b, c);
      const std::int64_t yo = (b * C + c) * Ho * Wo;
      for (std::int64_t i = 0; i < Ho; ++i)
        for (std::int64_t j = 0; j < Wo; ++j)
          for (std::int64_t u = 0; u < h; ++u)
            for (std::int64_t v = 0; v < w; ++v) {
              const long double term =
                  static_cast<long double>(kv[ko + (h - 1 - u) * w + (w - 1 - v)]) *
                  yv[yo + i * Wo + j];
              grid[(i + u) * Wp + (j + v)] += term;
              grid_abs[(i + u) * Wp + (j + v)] += std::fabs(term);
            }
      const std::int64_t xo = (b * C + c) * H * W;
      for (std::int64_t r = 0; r < Hp; ++r)
        for (std::int64_t s = 0; s < Wp; ++s) {
          const std::int64_t sr = torch_pad_source(mode, r - pr.before, H);
          const std::int64_t sc = torch_pad_source(mode, s - pc.before, W);
          if (sr < 0 || sc < 0) continue;
          ref.value[xo + sr * W + sc] += grid[r * Wp + s];
          ref.abs_sum[xo + sr * W + sc] += grid_abs[r * Wp + s];
        }
    }
  return ref;
}

// Largest |got - ref| / (eps * sum|terms|) over the elements: recursive summation of n terms
// in T errs by at most about n eps sum|terms|.
// With `global`, every element is measured against the largest sum|terms| instead: an FFT's
// rounding spreads over the whole image, so it is bounded in norm, not element by element.
template <class T>
double error_in_eps(const Tensor<T>& got, const Reference& ref, bool global = false) {
  EXPECT_EQ(got.shape(), ref.shape);
  const auto g = to_vector(got);
  const long double largest =
      ref.abs_sum.empty() ? 0.0L : *std::max_element(ref.abs_sum.begin(), ref.abs_sum.end());
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const long double err = std::fabs(static_cast<long double>(g[i]) - ref.value[i]);
    const long double scale = std::max(global ? largest : ref.abs_sum[i],
                                       static_cast<long double>(std::numeric_limits<T>::min()));
    worst = std::max(worst, static_cast<double>(err / scale / std::numeric_limits<T>::epsilon()));
  }
  return worst;
}

// Whether deepinv (torch's F.pad) accepts this padding for an image of H x W.
bool padding_fits(Padding mode, std::int64_t H, std::int64_t W, std::int64_t h, std::int64_t w) {
  switch (mode) {
    case Padding::Valid:
      return H >= h && W >= w;
    case Padding::Circular:
      return h / 2 <= H && w / 2 <= W;
    case Padding::Reflect:
      return (h / 2 == 0 || h / 2 < H) && (w / 2 == 0 || w / 2 < W);
    default:
      return true;
  }
}

struct Case {
  Shape image;
  std::int64_t h, w;
};

// Non-square images, odd and even kernels, an image just large enough for every mode, and a
// circular case whose pads wrap onto a pixel from both sides.
const Case cases[] = {
    {{2, 3, 9, 7}, 3, 3},   {{2, 3, 9, 7}, 4, 5},   {{2, 3, 9, 7}, 5, 4}, {{2, 3, 9, 7}, 1, 1},
    {{2, 3, 9, 7}, 2, 2},   {{2, 3, 9, 7}, 1, 4},   {{2, 3, 9, 7}, 3, 2}, {{2, 3, 9, 7}, 5, 1},
    {{2, 3, 16, 13}, 3, 3}, {{2, 3, 16, 13}, 4, 5}, {{2, 3, 3, 2}, 4, 3}, {{1, 2, 2, 3}, 5, 4},
    {{2, 3, 3, 3}, 5, 5},   {{1, 1, 1, 1}, 1, 1},   {{2, 1, 6, 5}, 6, 5},
};

// The filter shapes deepinv broadcasts: (1, 1, h, w), (1, C, h, w), (B, 1, h, w), (B, C, h, w).
std::vector<Shape> filter_shapes(const Shape& image, std::int64_t h, std::int64_t w) {
  return {Shape{1, 1, h, w}, Shape{1, image[1], h, w}, Shape{image[0], 1, h, w},
          Shape{image[0], image[1], h, w}};
}

std::string describe(Padding mode, const Shape& image, const Shape& filter) {
  return to_string(mode) + " image " + image.to_string() + " filter " + filter.to_string();
}

template <class T>
class BlurTest : public ::testing::Test {};
TYPED_TEST_SUITE(BlurTest, test::ScalarTypes);

// ---------------------------------------------------------------------------------------------
// Padding names

TYPED_TEST(BlurTest, PaddingNames) {
  for (Padding p : all_paddings) EXPECT_EQ(parse_padding(to_string(p)), p);
  EXPECT_EQ(parse_padding("zeros"), Padding::Constant);
  EXPECT_EQ(parse_padding("Circular"), Padding::Circular);  // deepinv lower-cases the name
  try {
    parse_padding("mirror");
    FAIL() << "expected a ValueError";
  } catch (const ValueError& e) {
    const std::string what = e.what();
    for (const char* n :
         {"mirror", "valid", "circular", "replicate", "reflect", "constant", "zeros"})
      EXPECT_NE(what.find(n), std::string::npos) << what;
  }
  using T = TypeParam;
  Blur<T> by_name(Tensor<T>("k", {3, 3}), "replicate");
  EXPECT_EQ(by_name.padding(), Padding::Replicate);
  EXPECT_THROW(Blur<T>(Tensor<T>("k", {3, 3}), "periodic"), ValueError);
  Blur<T> default_padding(Tensor<T>("k", {3, 3}));
  EXPECT_EQ(default_padding.padding(), Padding::Valid);  // deepinv's default
  EXPECT_EQ(default_padding.name(), "Blur");
  EXPECT_EQ(default_padding.filter().shape(), (Shape{1, 1, 3, 3}));
}

// ---------------------------------------------------------------------------------------------
// Conventions, on hand-checkable cases

TYPED_TEST(BlurTest, ShiftKernelsShowTheCentre) {
  using T = TypeParam;
  const Tensor<T> x = test::random_tensor<T>({1, 1, 5, 6}, 3);
  const auto xv = to_vector(x);
  auto at = [&](std::int64_t r, std::int64_t c) { return xv[((r + 5) % 5) * 6 + (c + 6) % 6]; };
  // 3x3 with a one at (0, 0): a true convolution, so y[i, j] = x[i + 1, j + 1] (wrapped).
  std::vector<T> k3(9, T(0));
  k3[0] = T(1);
  const auto y3 = to_vector(Blur<T>(from_vector<T>("k", {3, 3}, k3), Padding::Circular).A(x));
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 6; ++j) EXPECT_EQ(y3[i * 6 + j], at(i + 1, j + 1)) << i << "," << j;
  // 2x2: the tap (h // 2, w // 2) = (1, 1) is the identity, (0, 0) shifts by one.
  std::vector<T> k2(4, T(0));
  k2[3] = T(1);
  const auto id = to_vector(Blur<T>(from_vector<T>("k", {2, 2}, k2), Padding::Circular).A(x));
  for (std::size_t i = 0; i < xv.size(); ++i) EXPECT_EQ(id[i], xv[i]);
  k2 = {T(1), T(0), T(0), T(0)};
  const auto y2 = to_vector(Blur<T>(from_vector<T>("k", {2, 2}, k2), Padding::Circular).A(x));
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 6; ++j) EXPECT_EQ(y2[i * 6 + j], at(i + 1, j + 1)) << i << "," << j;
  // Valid: output (H - h + 1, W - w + 1) and y[i, j] = x[i + h - 1, j + w - 1] for k[0, 0].
  Blur<T> valid(from_vector<T>("k", {3, 3}, k3));
  EXPECT_EQ(valid.output_shape({1, 1, 5, 6}), (Shape{1, 1, 3, 4}));
  const auto yv = to_vector(valid.A(x));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(yv[i * 4 + j], at(i + 2, j + 2));
}

TYPED_TEST(BlurTest, PaddingModesAtTheEdge) {
  using T = TypeParam;
  // One row 0..4 and a 1x3 kernel with a one at v = 2: y[j] = x_pad(j + 1 - 2) = x_pad(j - 1).
  const Tensor<T> x = from_vector<T>("x", {1, 1, 1, 5}, {10, 11, 12, 13, 14});
  const Tensor<T> k = from_vector<T>("k", {1, 3}, {0, 0, 1});
  auto first = [&](Padding p) { return to_vector(Blur<T>(k, p).A(x))[0]; };
  EXPECT_EQ(first(Padding::Circular), T(14));
  EXPECT_EQ(first(Padding::Replicate), T(10));
  EXPECT_EQ(first(Padding::Reflect), T(11));  // torch 'reflect': -1 -> 1
  EXPECT_EQ(first(Padding::Constant), T(0));
  EXPECT_EQ(first(Padding::Valid), T(10));  // y[0] = x[0 + 2 - 2]
}

// ---------------------------------------------------------------------------------------------
// Forward and adjoint against the host reference, and the dot test

template <class T>
void check_against_reference(const Case& cs, Padding mode, const Shape& fshape, std::uint64_t seed,
                             BlurAlgorithm algorithm = BlurAlgorithm::Direct) {
  if (!padding_fits(mode, cs.image[2], cs.image[3], cs.h, cs.w)) return;
  SCOPED_TRACE(describe(mode, cs.image, fshape) + " " + to_string(algorithm));
  const Tensor<T> k = test::random_tensor<T>(fshape, seed);
  Blur<T> op(k, mode, algorithm);
  const Tensor<T> x = test::random_tensor<T>(cs.image, seed + 1);
  const Tensor<T> y = op.A(x);
  const Pads pr = torch_pads(mode, cs.h), pc = torch_pads(mode, cs.w);
  // Rounding of sums of at most h w terms (forward), times the folding multiplicity (adjoint).
  const double forward_budget = static_cast<double>(cs.h * cs.w);
  const double adjoint_budget =
      forward_budget * static_cast<double>((pr.after + 2) * (pc.after + 2));
  // The FFT path: rounding of a few eps per butterfly level, against the largest element.
  const bool fft = algorithm == BlurAlgorithm::FFT;
  EXPECT_LE(error_in_eps(y, reference_conv2d(x, k, mode), fft), fft ? 64.0 : forward_budget);
  const Tensor<T> v = test::random_tensor<T>(y.shape(), seed + 2);
  const Tensor<T> z = op.A_adjoint(v);
  EXPECT_EQ(z.shape(), cs.image);
  EXPECT_LE(error_in_eps(z, reference_conv_transpose2d(v, k, mode, cs.image), fft),
            fft ? 64.0 : adjoint_budget);
  EXPECT_LT(test::adjoint_mismatch_ulps(op, cs.image, seed + 3), fft ? 16.0 : 4.0);
}

TYPED_TEST(BlurTest, MatchesDeepinvDefinitionInEveryMode) {
  using T = TypeParam;
  std::uint64_t seed = 100;
  for (const Case& cs : cases)
    for (Padding mode : all_paddings)
      for (const Shape& fs : filter_shapes(cs.image, cs.h, cs.w))
        check_against_reference<T>(cs, mode, fs, seed += 10);
}

// Wider than the host kernels' column block, so that the vectorised interior, the border
// columns and the top and bottom rows all run.
TYPED_TEST(BlurTest, MatchesDeepinvDefinitionOnWideImages) {
  using T = TypeParam;
  const Case wide[] = {{{1, 2, 11, 300}, 3, 5}, {{2, 1, 7, 261}, 4, 4}, {{1, 1, 6, 140}, 5, 8}};
  std::uint64_t seed = 700;
  for (const Case& cs : wide)
    for (Padding mode : all_paddings)
      check_against_reference<T>(cs, mode, Shape{1, 1, cs.h, cs.w}, seed += 10);
}

#if KINV_HAVE_FFT
TYPED_TEST(BlurTest, FFTAlgorithmMatchesDeepinvDefinition) {
  using T = TypeParam;
  std::uint64_t seed = 900;
  for (const Case& cs : cases)
    for (const Shape& fs : filter_shapes(cs.image, cs.h, cs.w))
      check_against_reference<T>(cs, Padding::Circular, fs, seed += 10, BlurAlgorithm::FFT);
}

// The FFT path against the direct kernels: odd and even filters, filters broadcast or not
// (so with and without two planes per complex transform, an odd plane count included), a
// filter wider than the image (its taps fold), A, A_adjoint, A_adjoint_add and the dot test.
TYPED_TEST(BlurTest, FFTEqualsDirect) {
  using T = TypeParam;
  const Case fft_cases[] = {{{1, 3, 16, 16}, 9, 9},  {{2, 3, 17, 12}, 4, 6}, {{1, 1, 9, 31}, 5, 4},
                            {{2, 2, 8, 8}, 8, 7},    {{3, 1, 5, 7}, 3, 3},   {{1, 2, 5, 6}, 9, 11},
                            {{1, 3, 64, 48}, 19, 19}};
  std::uint64_t seed = 1300;
  for (const Case& cs : fft_cases)
    for (const Shape& fs : filter_shapes(cs.image, cs.h, cs.w)) {
      SCOPED_TRACE(describe(Padding::Circular, cs.image, fs));
      const Tensor<T> k = test::random_tensor<T>(fs, seed += 10);
      Blur<T> direct(k, Padding::Circular, BlurAlgorithm::Direct);
      Blur<T> fft(k, Padding::Circular, BlurAlgorithm::FFT);
      ASSERT_FALSE(direct.uses_fft());
      ASSERT_TRUE(fft.uses_fft());
      const Tensor<T> x = test::random_tensor<T>(cs.image, seed + 1);
      const Tensor<T> y = test::random_tensor<T>(cs.image, seed + 2);
      // FFT rounding grows like log(H W); 64 eps of the largest value leaves room for that.
      EXPECT_LT(test::relative_diff_in_eps(fft.A(x), direct.A(x)), 64.0);
      EXPECT_LT(test::relative_diff_in_eps(fft.A_adjoint(y), direct.A_adjoint(y)), 64.0);
      const Tensor<T> acc = clone(x);
      fft.A_adjoint_add(y, acc);
      const Tensor<T> expected = clone(x);
      direct.A_adjoint_add(y, expected);
      EXPECT_LT(test::relative_diff_in_eps(acc, expected), 64.0);
      EXPECT_LT(test::adjoint_mismatch_ulps(fft, cs.image, seed + 3), 16.0);
    }
}

TYPED_TEST(BlurTest, AlgorithmChoice) {
  using T = TypeParam;
  for (BlurAlgorithm a : {BlurAlgorithm::Auto, BlurAlgorithm::Direct, BlurAlgorithm::FFT})
    EXPECT_EQ(parse_blur_algorithm(to_string(a)), a);
  EXPECT_EQ(parse_blur_algorithm("FFT"), BlurAlgorithm::FFT);
  EXPECT_THROW(parse_blur_algorithm("winograd"), ValueError);
  const Tensor<T> small("k", {1, 1, 3, 3});
  const Tensor<T> large = gaussian_kernel<T>(4.0);  // 29 x 29 = 841 taps
  ASSERT_LT(small.size(), blur_fft_min_taps<T>());
  ASSERT_GE(large.size(), blur_fft_min_taps<T>());
  EXPECT_FALSE(Blur<T>(small, Padding::Circular).uses_fft());
  EXPECT_TRUE(Blur<T>(large, Padding::Circular).uses_fft());
  EXPECT_EQ(Blur<T>(large, Padding::Circular).algorithm(), BlurAlgorithm::Auto);
  EXPECT_FALSE(Blur<T>(large, Padding::Circular, BlurAlgorithm::Direct).uses_fft());
  EXPECT_TRUE(Blur<T>(small, "circular", BlurAlgorithm::FFT).uses_fft());
  // Auto never takes the FFT path for the other paddings, and asking for it is an error.
  for (Padding mode : all_paddings) {
    if (mode == Padding::Circular) continue;
    EXPECT_FALSE(Blur<T>(large, mode).uses_fft()) << to_string(mode);
    try {
      Blur<T> bad(large, mode, BlurAlgorithm::FFT);
      FAIL() << "expected a ValueError for " << to_string(mode);
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("circular"), std::string::npos) << e.what();
    }
  }
}

// Kokkos allocations seen through the Kokkos Tools callback (no tool library needed).
std::int64_t g_allocations = 0;
void count_allocation(Kokkos::Profiling::SpaceHandle, const char*, const void*, std::uint64_t) {
  ++g_allocations;
}

// The FFT path plans and allocates on the first call for a shape only; a new shape is
// recomputed (and still right).
TYPED_TEST(BlurTest, FFTPathReusesItsWorkspace) {
  using T = TypeParam;
  Blur<T> fft(gaussian_kernel<T>(2.5), Padding::Circular, BlurAlgorithm::FFT);
  Blur<T> direct(fft.filter(), Padding::Circular, BlurAlgorithm::Direct);
  for (const Shape& xs : {Shape{1, 3, 40, 36}, Shape{2, 1, 24, 30}}) {
    SCOPED_TRACE(xs.to_string());
    const Tensor<T> x = test::random_tensor<T>(xs, 5);
    const Tensor<T> y("y", xs), z("z", xs);
    // The first call of each kind makes the buffers it needs (accumulating needs one more).
    fft.A(x, y);
    fft.A_adjoint(x, z);
    fft.A_adjoint_add(x, z);
    Kokkos::fence();
    g_allocations = 0;
    Kokkos::Tools::Experimental::set_allocate_data_callback(&count_allocation);
    for (int i = 0; i < 3; ++i) {
      fft.A(x, y);
      fft.A_adjoint(x, z);
      fft.A_adjoint_add(x, z);
    }
    Kokkos::fence();
    Kokkos::Tools::Experimental::set_allocate_data_callback(nullptr);
    EXPECT_EQ(g_allocations, 0);
    EXPECT_LT(test::relative_diff_in_eps(y, direct.A(x)), 64.0);
  }
}

#endif  // KINV_HAVE_FFT

TYPED_TEST(BlurTest, RankTwoFilterIsBroadcast) {
  using T = TypeParam;
  const Tensor<T> k2 = test::random_tensor<T>({4, 3}, 8);
  const Tensor<T> k4 = k2.reshaped({1, 1, 4, 3});
  const Tensor<T> x = test::random_tensor<T>({2, 3, 8, 7}, 9);
  for (Padding mode : all_paddings) {
    Blur<T> a(k2, mode), b(k4, mode);
    EXPECT_TRUE(test::bitwise_equal(a.A(x), b.A(x))) << to_string(mode);
    EXPECT_LT(test::adjoint_mismatch_ulps(a, x.shape()), 4.0) << to_string(mode);
  }
}

TYPED_TEST(BlurTest, AdjointDotTestOnLargerImages) {
  using T = TypeParam;
  for (Padding mode : all_paddings)
    for (std::int64_t f : {3, 4, 7}) {
      Blur<T> op(test::random_tensor<T>({1, 3, f, f + 1}, 5 + f), mode);
      const double ulps = test::adjoint_mismatch_ulps(op, {2, 3, 37, 29});
      EXPECT_LT(ulps, 4.0) << to_string(mode) << " " << f;
    }
  Blur<T> gauss(gaussian_kernel<T>(2.0), Padding::Reflect);
  EXPECT_LT(test::adjoint_mismatch_ulps(gauss, {1, 3, 40, 33}), 4.0);
}

TYPED_TEST(BlurTest, AdjointAddAccumulates) {
  using T = TypeParam;
  for (Padding mode : all_paddings) {
    Blur<T> op(test::random_tensor<T>({1, 3, 3, 4}, 4), mode);
    const Shape xs{2, 3, 8, 9};
    const Tensor<T> y = test::random_tensor<T>(op.output_shape(xs), 5);
    const Tensor<T> x0 = test::random_tensor<T>(xs, 6);
    const Tensor<T> x = clone(x0);
    op.A_adjoint_add(y, x);
    const auto got = to_vector(x);
    const auto base = to_vector(x0);
    const auto aty = to_vector(op.A_adjoint(y));
    for (std::size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], base[i] + aty[i], 4 * std::numeric_limits<T>::epsilon() * 16)
          << to_string(mode) << " " << i;
    // The output overload writes and allocates nothing.
    const Tensor<T> out = Tensor<T>::uninitialized("out", xs);
    op.A_adjoint(y, out);
    EXPECT_TRUE(test::bitwise_equal(out, op.A_adjoint(y)));
  }
}

// ---------------------------------------------------------------------------------------------
// gaussian_kernel

// deepinv's formula, written out: rotate (x, y) = (column, row) offsets by a, then Gaussian
// with sigma_w along x' and sigma_h along y', normalised.
std::vector<double> gaussian_formula(double sh, double sw, double angle, std::int64_t n) {
  const double pi = 3.14159265358979323846;
  const double a = angle * pi / 180.0;
  std::vector<double> k(static_cast<std::size_t>(n * n));
  double sum = 0;
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < n; ++c) {
      const double x = c - (n - 1) / 2.0, y = r - (n - 1) / 2.0;
      const double xr = std::cos(a) * x - std::sin(a) * y;
      const double yr = std::sin(a) * x + std::cos(a) * y;
      const double g = std::exp(-xr * xr / (2 * sw * sw)) / (std::sqrt(2 * pi) * sw) *
                       std::exp(-yr * yr / (2 * sh * sh)) / (std::sqrt(2 * pi) * sh);
      k[r * n + c] = g;
      sum += g;
    }
  for (double& v : k) v /= sum;
  return k;
}

TYPED_TEST(BlurTest, GaussianKernelSizeRule) {
  using T = TypeParam;
  // n = 2 int(sigma / 0.3 + 1) + 1.
  EXPECT_EQ(gaussian_kernel<T>(0.1).shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(gaussian_kernel<T>(1.0).shape(), (Shape{1, 1, 9, 9}));
  EXPECT_EQ(gaussian_kernel<T>(2.0).shape(), (Shape{1, 1, 15, 15}));
  EXPECT_EQ(gaussian_kernel<T>(2.5).shape(), (Shape{1, 1, 19, 19}));
  EXPECT_EQ(gaussian_kernel<T>(0.5, 2.0, 30.0).shape(), (Shape{1, 1, 15, 15}));
  EXPECT_EQ(gaussian_kernel<T>(2.0, 0.5, 0.0).shape(), (Shape{1, 1, 15, 15}));
  for (int i = 0; i < 4; ++i) {  // the contract's call
    const Tensor<T> k = kinv::gaussian_kernel<T>(1.0 + 0.5 * i);
    EXPECT_EQ(k.rank(), 4);
  }
}

TYPED_TEST(BlurTest, GaussianKernelIsNormalisedAndSymmetric) {
  using T = TypeParam;
  const T tol = 8 * std::numeric_limits<T>::epsilon();
  for (double sigma : {0.4, 1.0, 1.7, 3.0}) {
    const Tensor<T> kt = gaussian_kernel<T>(sigma);
    const std::int64_t n = kt.extent(2);
    const auto k = to_vector(kt);
    long double sum = 0;
    for (T v : k) sum += v;
    EXPECT_NEAR(static_cast<double>(sum), 1.0, n * n * std::numeric_limits<T>::epsilon());
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t c = 0; c < n; ++c) {
        const T v = k[r * n + c];
        EXPECT_NEAR(v, k[(n - 1 - r) * n + c], tol);
        EXPECT_NEAR(v, k[r * n + (n - 1 - c)], tol);
        EXPECT_NEAR(v, k[c * n + r], tol);
      }
    // The peak is the centre.
    EXPECT_EQ(*std::max_element(k.begin(), k.end()), k[(n / 2) * n + n / 2]);
  }
  // Anisotropic (sigma_h, sigma_w) at angle 0 is the transpose of (sigma_w, sigma_h); a 90
  // degree rotation swaps them too.
  const auto a = to_vector(gaussian_kernel<T>(0.8, 2.0, 0.0));
  const auto b = to_vector(gaussian_kernel<T>(2.0, 0.8, 0.0));
  const auto c = to_vector(gaussian_kernel<T>(0.8, 2.0, 90.0));
  const std::int64_t n = 15;
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t s = 0; s < n; ++s) {
      EXPECT_NEAR(a[r * n + s], b[s * n + r], tol);
      EXPECT_NEAR(c[r * n + s], b[r * n + s], tol);
    }
  // Wider along the width for sigma_w > sigma_h: more mass along the centre row.
  EXPECT_GT(a[7 * n + 9], a[9 * n + 7]);
}

TYPED_TEST(BlurTest, GaussianKernelMatchesTheFormula) {
  using T = TypeParam;
  const double tol = std::is_same<T, float>::value ? 1e-7 : 1e-15;
  struct G {
    double sh, sw, angle;
  };
  for (const G& g : {G{1.0, 1.0, 0.0}, G{1.0, 0.5, 30.0}, G{0.7, 1.6, -50.0}, G{2.0, 0.9, 135.0},
                     G{1.2, 1.2, 45.0}}) {
    const Tensor<T> kt = gaussian_kernel<T>(g.sh, g.sw, g.angle);
    const std::int64_t n = kt.extent(2);
    EXPECT_EQ(n, 2 * static_cast<std::int64_t>(std::max(g.sh, g.sw) / 0.3 + 1) + 1);
    const auto k = to_vector(kt);
    const auto ref = gaussian_formula(g.sh, g.sw, g.angle, n);
    for (std::size_t i = 0; i < k.size(); ++i)
      EXPECT_NEAR(k[i], ref[i], tol) << g.sh << " " << g.sw << " " << g.angle << " " << i;
  }
  // The isotropic overload with an angle is the anisotropic one with equal sigmas.
  EXPECT_TRUE(
      test::bitwise_equal(gaussian_kernel<T>(1.3, 20.0), gaussian_kernel<T>(1.3, 1.3, 20.0)));
}

TYPED_TEST(BlurTest, GaussianKernelRejectsBadSigma) {
  using T = TypeParam;
  EXPECT_THROW(gaussian_kernel<T>(0.0), ValueError);
  EXPECT_THROW(gaussian_kernel<T>(-1.0), ValueError);
  EXPECT_THROW(gaussian_kernel<T>(std::nan("")), ValueError);
  EXPECT_THROW(gaussian_kernel<T>(std::numeric_limits<double>::infinity()), ValueError);
  EXPECT_THROW(gaussian_kernel<T>(1.0, 0.0, 0.0), ValueError);
  EXPECT_THROW(gaussian_kernel<T>(-2.0, 1.0, 0.0), ValueError);
  EXPECT_THROW(gaussian_kernel<T>(1.0, 1.0, std::nan("")), ValueError);
  EXPECT_THROW(gaussian_kernel<T>(1e9), ValueError);  // absurdly wide
}

// ---------------------------------------------------------------------------------------------
// Errors

// Runs f, expecting a ShapeError whose message contains every string of `parts`.
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

TYPED_TEST(BlurTest, BadInputIsAClearError) {
  using T = TypeParam;
  // Wrong input rank.
  Blur<T> op(Tensor<T>("k", {3, 3}), Padding::Circular);
  expect_shape_error([&] { op.A(Tensor<T>("x", {3, 9, 7})); }, {"Blur", "rank", "(3, 9, 7)"});
  expect_shape_error([&] { op.A_adjoint(Tensor<T>("y", {9, 7})); }, {"(9, 7)"});
  // Filter channels or batch not broadcastable.
  Blur<T> two_channels(Tensor<T>("k", {1, 2, 3, 3}), Padding::Circular);
  expect_shape_error(
      [&] {
        two_channels.A(Tensor<T>("x", {1, 3, 8, 8}));
      },
      {"(1, 2, 3, 3)", "(B, 2, H, W)", "(1, 3, 8, 8)"});
  Blur<T> two_images(Tensor<T>("k", {2, 1, 3, 3}), Padding::Valid);
  expect_shape_error(
      [&] {
        two_images.A(Tensor<T>("x", {3, 1, 8, 8}));
      },
      {"(2, C, H, W)", "(3, 1, 8, 8)"});
  expect_shape_error([&] { two_images.A_adjoint(Tensor<T>("y", {3, 1, 6, 6})); }, {"(3, 1, 6, 6)"});
  // Valid padding with an image smaller than the kernel.
  Blur<T> valid(Tensor<T>("k", {5, 5}));
  expect_shape_error(
      [&] {
        valid.A(Tensor<T>("x", {1, 1, 4, 8}));
      },
      {"valid", "H >= 5, W >= 5", "(1, 1, 4, 8)"});
  EXPECT_EQ(valid.output_shape({1, 1, 5, 8}), (Shape{1, 1, 1, 4}));
  EXPECT_EQ(valid.input_shape({1, 1, 1, 4}), (Shape{1, 1, 5, 8}));
  EXPECT_THROW(valid.A_adjoint(Tensor<T>("y", {1, 1, 0, 4})), ShapeError);
  // Reflect with a pad >= the extent; circular wrapping more than once.
  Blur<T> reflect(Tensor<T>("k", {5, 5}), Padding::Reflect);
  expect_shape_error(
      [&] {
        reflect.A(Tensor<T>("x", {1, 1, 2, 8}));
      },
      {"reflect", "H > 2", "(1, 1, 2, 8)"});
  EXPECT_EQ(reflect.output_shape({1, 1, 3, 3}), (Shape{1, 1, 3, 3}));
  Blur<T> circular(Tensor<T>("k", {5, 5}), Padding::Circular);
  expect_shape_error(
      [&] {
        circular.A(Tensor<T>("x", {1, 1, 8, 1}));
      },
      {"circular", "(1, 1, 8, 1)"});
  EXPECT_EQ(circular.output_shape({1, 1, 2, 2}), (Shape{1, 1, 2, 2}));
  // Bad filters.
  EXPECT_THROW(Blur<T>(Tensor<T>()), ValueError);
  EXPECT_THROW(Blur<T>(Tensor<T>("k", {1, 1, 0, 3})), ValueError);
  EXPECT_THROW(Blur<T>(Tensor<T>("k", {1, 3, 3})), ValueError);
  // Output of the wrong shape, and in-place use.
  const Tensor<T> x("x", {1, 1, 8, 8});
  EXPECT_THROW(valid.A(x, Tensor<T>("y", {1, 1, 8, 8})), ShapeError);
  EXPECT_THROW(circular.A(x, x), ValueError);
}

// ---------------------------------------------------------------------------------------------
// deepinv's own results (tests/data/blur_*.txt, written by generate_blur_reference.py)

using test::RefTensor;

std::map<std::string, RefTensor> read_reference(const std::string& file) {
  return test::read_reference_file(file);
}

Tensor<double> to_tensor(const RefTensor& t) {
  return from_vector<double>("reference", t.shape, t.values);
}

// Largest |got - ref| / max(1, |ref|).
double relative_error(const Tensor<double>& got, const RefTensor& ref) {
  EXPECT_EQ(got.shape(), ref.shape);
  const auto g = to_vector(got);
  if (g.size() != ref.values.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i)
    worst =
        std::max(worst, std::fabs(g[i] - ref.values[i]) / std::max(1.0, std::fabs(ref.values[i])));
  return worst;
}

TEST(BlurDeepinvReference, Conv2dAndConvTranspose2d) {
  const auto ref = read_reference("blur_conv2d.txt");
  ASSERT_TRUE(ref.count("x"));
  const Tensor<double> x = to_tensor(ref.at("x"));
  int forward = 0, adjoint = 0;
  for (const char* k : {"k3x3", "k4x4", "k2x3c", "k1x3"}) {
    const std::string kname = k;
    ASSERT_TRUE(ref.count("filter/" + kname)) << kname;
    for (Padding mode : all_paddings) {
      const std::string tag = kname + "/" + to_string(mode);
      SCOPED_TRACE(tag);
      Blur<double> op(to_tensor(ref.at("filter/" + kname)), mode);
      ASSERT_TRUE(ref.count("A/" + tag));
      EXPECT_LE(relative_error(op.A(x), ref.at("A/" + tag)), 1e-12);
      ++forward;
      // deepinv's conv_transpose2d is left out where it fails (see the data file).
      if (!ref.count("AT/" + tag)) continue;
      const std::string yname = mode == Padding::Valid ? "y/" + kname + "/valid" : "y/same";
      EXPECT_LE(relative_error(op.A_adjoint(to_tensor(ref.at(yname))), ref.at("AT/" + tag)), 1e-12);
      ++adjoint;
    }
  }
  EXPECT_EQ(forward, 20);
  EXPECT_GE(adjoint, 15);
}

TEST(BlurDeepinvReference, GaussianBlur) {
  const auto ref = read_reference("blur_gaussian.txt");
  int n = 0;
  for (const auto& entry : ref) {
    // "gaussian/<sigma_h>/<sigma_w>/<angle>"
    std::string name = entry.first;
    std::replace(name.begin(), name.end(), '/', ' ');
    std::istringstream in(name);
    std::string prefix;
    double sh = 0, sw = 0, angle = 0;
    in >> prefix >> sh >> sw >> angle;
    ASSERT_EQ(prefix, "gaussian");
    EXPECT_LE(relative_error(gaussian_kernel<double>(sh, sw, angle), entry.second), 1e-12)
        << entry.first;
    if (sh == sw) {
      EXPECT_LE(relative_error(gaussian_kernel<double>(sh, angle), entry.second), 1e-12);
    }
    ++n;
  }
  EXPECT_EQ(n, 3);
}

}  // namespace
}  // namespace kinv
