// Tiling geometry against deepinv's tiling_splitting_strategy, and the tiling kernels (window
// extraction with reflect and constant padding, blending) against host references.
#include <kinv/distributed/tiling.hpp>

#include "test_helpers.hpp"

#include <numeric>

namespace kinv {
namespace {

struct AxisRef {
  std::vector<std::int64_t> starts, trims;
};
struct GeometryCase {
  Shape signal;
  TilingOptions options;
  std::int64_t num_tiles;
  std::vector<std::int64_t> window;  // along the tiled axes
  std::vector<AxisRef> axes;
  std::vector<std::vector<std::int64_t>> order;  // padded starts of tiles 0..5 per axis
  std::vector<std::pair<std::int64_t, std::int64_t>> last_target;
};

TilingOptions opts(std::vector<std::int64_t> p, std::vector<std::int64_t> rf,
                   std::vector<std::int64_t> s, std::vector<int> dims) {
  TilingOptions o;
  o.patch_size = std::move(p);
  o.overlap = std::move(rf);
  o.stride = std::move(s);
  o.tiling_dims = std::move(dims);
  return o;
}

// Expected values printed by tests/data/tiling_reference.py (deepinv 0.5):
// (1, 3, 16, 16) patch=8 overlap=2 stride=None dims=(-2, -1): 4 tiles, window (12, 12)
//   axis 0: starts [0, 8] trims [0, 0]
//   axis 1: starts [0, 8] trims [0, 0]
//   order: [(0, 0), (0, 8), (8, 0), (8, 8)]
//   last target: [(8, 16), (8, 16)]
// (1, 3, 16, 16) patch=4 overlap=2 stride=None dims=(-2, -1): 16 tiles, window (8, 8)
//   axis 0: starts [0, 4, 8, 12] trims [0, 0, 0, 0]
//   axis 1: starts [0, 4, 8, 12] trims [0, 0, 0, 0]
//   order: [(0, 0), (0, 4), (0, 8), (0, 12), (4, 0), (4, 4)]
//   last target: [(12, 16), (12, 16)]
// (2, 1, 37, 23) patch=(8, 5) overlap=(3, 1) stride=None dims=(-2, -1): 25 tiles, window (14, 7)
//   axis 0: starts [0, 8, 16, 24, 29] trims [0, 0, 0, 0, 3]
//   axis 1: starts [0, 5, 10, 15, 18] trims [0, 0, 0, 0, 2]
//   order: [(0, 0), (0, 5), (0, 10), (0, 15), (0, 18), (8, 0)]
//   last target: [(32, 37), (20, 23)]
// (1, 1, 50, 40) patch=12 overlap=4 stride=7 dims=(-2, -1): 35 tiles, window (20, 20)
//   axis 0: starts [0, 7, 14, 21, 28, 35, 38] trims [0, 5, 5, 5, 5, 5, 9]
//   axis 1: starts [0, 7, 14, 21, 28] trims [0, 5, 5, 5, 5]
//   order: [(0, 0), (0, 7), (0, 14), (0, 21), (0, 28), (7, 0)]
//   last target: [(47, 50), (33, 40)]
// (1, 1, 16, 16, 16) patch=8 overlap=2 stride=None dims=(-3, -2, -1): 8 tiles, window (12, 12, 12)
//   axis 0..2: starts [0, 8] trims [0, 0]
//   order: [(0, 0, 0), (0, 0, 8), (0, 8, 0), (0, 8, 8), (8, 0, 0), (8, 0, 8)]
//   last target: [(8, 16), (8, 16), (8, 16)]
// (1, 2, 9, 30) patch=9 overlap=0 stride=4 dims=(-1,): 7 tiles, window (9,)
//   axis 0: starts [0, 4, 8, 12, 16, 20, 21] trims [0, 5, 5, 5, 5, 5, 8]
//   order: [(0,), (4,), (8,), (12,), (16,), (20,)]
//   last target: [(29, 30)]
// (1, 1, 33, 21, 10) patch=(10, 7) overlap=(2, 3) stride=(6, 7) dims=(2, 3): 15 tiles,
// window (14, 13)
//   axis 0: starts [0, 6, 12, 18, 23] trims [0, 4, 4, 4, 5]
//   axis 1: starts [0, 7, 14] trims [0, 0, 0]
//   order: [(0, 0), (0, 7), (0, 14), (6, 0), (6, 7), (6, 14)]
//   last target: [(28, 33), (14, 21)]
std::vector<GeometryCase> deepinv_cases() {
  return {
      {{1, 3, 16, 16},
       opts({8}, {2}, {}, {-2, -1}),
       4,
       {12, 12},
       {{{0, 8}, {0, 0}}, {{0, 8}, {0, 0}}},
       {{0, 0}, {0, 8}, {8, 0}, {8, 8}},
       {{8, 16}, {8, 16}}},
      {{1, 3, 16, 16},
       opts({4}, {2}, {}, {-2, -1}),
       16,
       {8, 8},
       {{{0, 4, 8, 12}, {0, 0, 0, 0}}, {{0, 4, 8, 12}, {0, 0, 0, 0}}},
       {{0, 0}, {0, 4}, {0, 8}, {0, 12}, {4, 0}, {4, 4}},
       {{12, 16}, {12, 16}}},
      {{2, 1, 37, 23},
       opts({8, 5}, {3, 1}, {}, {-2, -1}),
       25,
       {14, 7},
       {{{0, 8, 16, 24, 29}, {0, 0, 0, 0, 3}}, {{0, 5, 10, 15, 18}, {0, 0, 0, 0, 2}}},
       {{0, 0}, {0, 5}, {0, 10}, {0, 15}, {0, 18}, {8, 0}},
       {{32, 37}, {20, 23}}},
      {{1, 1, 50, 40},
       opts({12}, {4}, {7}, {-2, -1}),
       35,
       {20, 20},
       {{{0, 7, 14, 21, 28, 35, 38}, {0, 5, 5, 5, 5, 5, 9}}, {{0, 7, 14, 21, 28}, {0, 5, 5, 5, 5}}},
       {{0, 0}, {0, 7}, {0, 14}, {0, 21}, {0, 28}, {7, 0}},
       {{47, 50}, {33, 40}}},
      {{1, 1, 16, 16, 16},
       opts({8}, {2}, {}, {-3, -2, -1}),
       8,
       {12, 12, 12},
       {{{0, 8}, {0, 0}}, {{0, 8}, {0, 0}}, {{0, 8}, {0, 0}}},
       {{0, 0, 0}, {0, 0, 8}, {0, 8, 0}, {0, 8, 8}, {8, 0, 0}, {8, 0, 8}},
       {{8, 16}, {8, 16}, {8, 16}}},
      {{1, 2, 9, 30},
       opts({9}, {0}, {4}, {-1}),
       7,
       {9},
       {{{0, 4, 8, 12, 16, 20, 21}, {0, 5, 5, 5, 5, 5, 8}}},
       {{0}, {4}, {8}, {12}, {16}, {20}},
       {{29, 30}}},
      {{1, 1, 33, 21, 10},
       opts({10, 7}, {2, 3}, {6, 7}, {2, 3}),
       15,
       {14, 13},
       {{{0, 6, 12, 18, 23}, {0, 4, 4, 4, 5}}, {{0, 7, 14}, {0, 0, 0}}},
       {{0, 0}, {0, 7}, {0, 14}, {6, 0}, {6, 7}, {6, 14}},
       {{28, 33}, {14, 21}}},
  };
}

TEST(TilingGeometry, MatchesDeepinvTilingSplittingStrategy) {
  for (const auto& c : deepinv_cases()) {
    SCOPED_TRACE(c.signal.to_string());
    const auto g = TilingGeometry::compute(c.signal, c.options);
    EXPECT_EQ(g.num_tiles, c.num_tiles);
    ASSERT_EQ(g.axes.size(), c.axes.size());
    for (std::size_t i = 0; i < c.axes.size(); ++i) {
      EXPECT_EQ(g.axes[i].starts, c.axes[i].starts) << "axis " << i;
      EXPECT_EQ(g.axes[i].trims, c.axes[i].trims) << "axis " << i;
      EXPECT_EQ(g.window[g.axes[i].dim], c.window[i]) << "axis " << i;
    }
    for (std::size_t k = 0; k < c.order.size(); ++k) {
      const auto j = g.tile_coords(static_cast<std::int64_t>(k));
      for (std::size_t i = 0; i < j.size(); ++i)
        EXPECT_EQ(g.axes[i].starts[j[i]], c.order[k][i]) << "tile " << k << " axis " << i;
    }
    const auto last = g.tile_coords(g.num_tiles - 1);
    for (std::size_t i = 0; i < last.size(); ++i) {
      EXPECT_EQ(g.axes[i].target_begin(last[i]), c.last_target[i].first);
      EXPECT_EQ(g.axes[i].target_end(last[i]), c.last_target[i].second);
    }
  }
}

TEST(TilingGeometry, CropTargetsPartitionEveryAxis) {
  for (const auto& c : deepinv_cases())
    for (const auto& a : TilingGeometry::compute(c.signal, c.options).axes) {
      std::int64_t next = 0;
      for (std::int64_t j = 0; j < a.num_tiles(); ++j) {
        EXPECT_EQ(a.target_begin(j), next) << c.signal.to_string();
        EXPECT_EQ(a.crop_end(j) - a.crop_begin(j), a.target_end(j) - a.target_begin(j));
        next = a.target_end(j);
      }
      EXPECT_EQ(next, a.extent);
    }
}

TEST(TilingGeometry, PatchEqualToTheExtentIsOneTile) {
  const auto g = TilingGeometry::compute({1, 1, 16, 16}, opts({16}, {2}, {}, {}));
  EXPECT_EQ(g.num_tiles, 1);
  EXPECT_EQ(g.window, Shape({1, 1, 20, 20}));
}

TEST(TilingGeometry, DefaultDimsAndPaddingFallback) {
  auto g = TilingGeometry::compute({1, 2, 8, 9, 10}, opts({4}, {1}, {}, {}));
  ASSERT_EQ(g.axes.size(), 3u);
  EXPECT_EQ(g.axes[0].dim, 2);
  EXPECT_EQ(g.axes[2].dim, 4);
  EXPECT_EQ(g.padding_used, TilePadding::Reflect);
  // Reflect cannot pad 3 along an extent of 3: constant padding, and it says so.
  g = TilingGeometry::compute({1, 1, 3, 12}, opts({3}, {3}, {}, {}));
  EXPECT_EQ(g.padding_used, TilePadding::Constant);
}

TEST(TilingGeometry, RejectsInvalidOptions) {
  const Shape s{1, 1, 16, 16};
  auto bad = [&](TilingOptions o) { EXPECT_THROW(TilingGeometry::compute(s, o), ValueError); };
  bad(opts({17}, {2}, {}, {}));       // patch larger than the extent
  bad(opts({0}, {2}, {}, {}));        // patch <= 0
  bad(opts({8}, {-1}, {}, {}));       // negative overlap
  bad(opts({8}, {2}, {0}, {}));       // stride <= 0
  bad(opts({8}, {2}, {9}, {}));       // stride > patch
  bad(opts({8}, {2}, {}, {4}));       // out of range
  bad(opts({8}, {2}, {}, {-5}));      // out of range
  bad(opts({8}, {2}, {}, {1, 2}));    // channel dimension
  bad(opts({8}, {2}, {}, {2, -2}));   // repeated
  bad(opts({8, 8, 8}, {2}, {}, {}));  // wrong length
  bad(opts({8}, {2, 2}, {}, {-1}));   // wrong length for one tiled dim
  EXPECT_THROW(TilingGeometry::compute({1, 1, 0, 16}, opts({1}, {0}, {}, {})), ValueError);
  EXPECT_THROW(TilingGeometry::compute({1, 16}, opts({8}, {0}, {}, {})), ShapeError);
  EXPECT_THROW(parse_tile_padding("circular"), ValueError);
  EXPECT_EQ(parse_tile_padding("constant"), TilePadding::Constant);
  EXPECT_EQ(to_string(Blend::Crop), "crop");
}

// ---------------------------------------------------------------------------------------------
// Kernels

template <class T>
class Tiling : public ::testing::Test {};
TYPED_TEST_SUITE(Tiling, test::ScalarTypes);

// torch's reflect / zero padding on the host.
std::int64_t reflect(std::int64_t i, std::int64_t D) {
  if (i < 0) i = -i;
  if (i >= D) i = 2 * (D - 1) - i;
  return i;
}

TYPED_TEST(Tiling, ExtractMatchesPaddedSlicesOnTheHost) {
  using T = TypeParam;
  for (TilePadding pad : {TilePadding::Reflect, TilePadding::Constant}) {
    TilingOptions o = opts({5, 4}, {2, 3}, {3, 4}, {});
    o.padding = pad;
    TilingStrategy<T> s(o);
    const Shape sig{2, 2, 11, 9};
    s.prepare(sig);
    const auto x = test::random_tensor<T>(sig, 4);
    const auto hx = to_vector(x);
    const auto& g = s.geometry();
    const Shape ws = s.window_shape();
    for (std::int64_t k = 0; k < s.num_patches(); ++k) {
      Tensor<T> w("w", ws);
      s.extract(x, k, w);
      const auto hw = to_vector(w);
      const auto j = g.tile_coords(k);
      bool ok = true;
      for (std::int64_t b = 0; b < ws[0]; ++b)
        for (std::int64_t c = 0; c < ws[1]; ++c)
          for (std::int64_t qh = 0; qh < ws[2]; ++qh)
            for (std::int64_t qw = 0; qw < ws[3]; ++qw) {
              std::int64_t h = g.axes[0].origin(j[0]) + qh, ww = g.axes[1].origin(j[1]) + qw;
              T expect;
              const bool outside = h < 0 || h >= sig[2] || ww < 0 || ww >= sig[3];
              if (outside && pad == TilePadding::Constant) {
                expect = T(0);
              } else {
                h = reflect(h, sig[2]);
                ww = reflect(ww, sig[3]);
                expect = hx[((b * sig[1] + c) * sig[2] + h) * sig[3] + ww];
              }
              ok = ok && hw[((b * ws[1] + c) * ws[2] + qh) * ws[3] + qw] == expect;
            }
      EXPECT_TRUE(ok) << "tile " << k << ", " << to_string(pad);
    }
  }
}

// All windows of x, stacked in tile order, with slots 0..N-1.
template <class T>
std::pair<Tensor<T>, Kokkos::View<std::int64_t*, MemorySpace>> all_windows(
    const TilingStrategy<T>& s, const Tensor<T>& x) {
  const std::int64_t N = s.num_patches();
  const Shape ws = s.window_shape();
  Tensor<T> w("windows", ws.with(0, ws[0] * N));
  Kokkos::View<std::int64_t*, MemorySpace> slots("slots", static_cast<std::size_t>(N));
  auto h = Kokkos::create_mirror_view(slots);
  for (std::int64_t k = 0; k < N; ++k) h(k) = k;
  Kokkos::deep_copy(slots, h);
  s.extract_batch(x, slots, w);
  return {w, slots};
}

TYPED_TEST(Tiling, BlendOfUnprocessedWindowsIsTheSignalBitwise) {
  using T = TypeParam;
  for (Blend blend : {Blend::Smooth, Blend::Crop})
    for (const auto& c : deepinv_cases()) {
      TilingOptions o = c.options;
      o.blend = blend;
      TilingStrategy<T> s(o);
      s.prepare(c.signal);
      const auto x = test::random_tensor<T>(c.signal, 9);
      auto [w, slots] = all_windows(s, x);
      Tensor<T> out("out", c.signal);
      s.blend(w, slots, out);
      EXPECT_TRUE(test::bitwise_equal(out, x)) << c.signal.to_string() << " " << to_string(blend);
    }
}

TYPED_TEST(Tiling, PartialBlendsOverAPartitionSumToTheBlend) {
  using T = TypeParam;
  for (Blend blend : {Blend::Smooth, Blend::Crop}) {
    TilingOptions o = opts({12}, {4}, {7}, {});
    o.blend = blend;
    TilingStrategy<T> s(o);
    const Shape sig{1, 2, 50, 40};
    s.prepare(sig);
    const auto x = test::random_tensor<T>(sig, 2);
    auto [w, slots] = all_windows(s, x);
    Tensor<T> full("full", sig);
    s.blend(w, slots, full);
    // Three "ranks": tiles k % 3 == r; windows stay in place, other tiles get slot -1.
    const std::int64_t N = s.num_patches();
    std::vector<T> sum(static_cast<std::size_t>(sig.size()), T(0));
    for (int r = 0; r < 3; ++r) {
      Kokkos::View<std::int64_t*, MemorySpace> part("part", static_cast<std::size_t>(N));
      auto h = Kokkos::create_mirror_view(part);
      for (std::int64_t k = 0; k < N; ++k) h(k) = k % 3 == r ? k : -1;
      Kokkos::deep_copy(part, h);
      Tensor<T> p("p", sig);
      s.blend_partial(w, part, p);
      const auto hp = to_vector(p);
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += hp[i];
    }
    const auto hf = to_vector(full);
    double worst = 0;
    for (std::size_t i = 0; i < sum.size(); ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(sum[i]) - hf[i]));
    const double tol = blend == Blend::Crop ? 0.0 : 8 * std::numeric_limits<T>::epsilon();
    EXPECT_LE(worst, tol) << to_string(blend);
  }
}

TYPED_TEST(Tiling, WeightsAreRampsOrCropIndicators) {
  using T = TypeParam;
  for (Blend blend : {Blend::Smooth, Blend::Crop}) {
    TilingOptions o = opts({6}, {2}, {}, {-1});
    o.blend = blend;
    TilingStrategy<T> s(o);
    s.prepare({1, 1, 1, 20});
    const auto& a = s.geometry().axes[0];
    for (std::int64_t k = 0; k < s.num_patches(); ++k) {
      Tensor<T> w("w", s.window_shape());
      s.weights(k, w);
      const auto h = to_vector(w);
      for (std::int64_t q = 0; q < a.window; ++q) {
        const T v = h[static_cast<std::size_t>(q)];
        if (blend == Blend::Crop) {
          EXPECT_EQ(v, (q >= a.crop_begin(k) && q < a.crop_end(k)) ? T(1) : T(0));
        } else {
          EXPECT_GT(v, T(0));
          EXPECT_LE(v, T(1));
          if (q >= 2 * a.overlap && q < a.patch) EXPECT_EQ(v, T(1));
          if (q > 0 && q < 2 * a.overlap) EXPECT_GT(v, h[q - 1]);               // ramp up
          if (q >= a.patch && q + 1 < a.window) EXPECT_GT(v, h[q + 1]);         // ramp down
          EXPECT_NEAR(v, h[static_cast<std::size_t>(a.window - 1 - q)], 1e-6);  // symmetric
        }
      }
    }
  }
}

}  // namespace
}  // namespace kinv
