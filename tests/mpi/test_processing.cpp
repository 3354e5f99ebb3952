// DistributedProcessing at any rank count: identity, scaling and pointwise processors give the
// untiled result bitwise; a local filter with Blend::Crop gives the untiled filter in the
// interior; results do not depend on the rank count or the batch size; gather = false shares
// sum to the gathered result; every error is raised on every rank. Includes ports of deepinv's
// processor tests (tests/test_distributed.py).
#include <kinv/comm/communicator.hpp>
#include <kinv/distributed/processing.hpp>

#include "mpi_test.hpp"
#include "test_helpers.hpp"

#include <memory>

namespace kinv {
namespace {

using test::RankChecks;

template <class T>
class Processing : public ::testing::Test {};
TYPED_TEST_SUITE(Processing, test::ScalarTypes);

// ---- processors ------------------------------------------------------------------------------

template <class T>
struct Scale {
  Kokkos::View<const T*, MemorySpace> in;
  Kokkos::View<T*, MemorySpace> out;
  T a;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const { out(i) = a * in(i); }
};

template <class T>
void scale(const Tensor<T>& in, const Tensor<T>& out, T a) {
  Kokkos::parallel_for("kinv::test::scale", impl::range(ExecutionSpace(), in.size()),
                       Scale<T>{in.view(), out.view(), a});
}

template <class T>
struct Pointwise {
  Kokkos::View<const T*, MemorySpace> in;
  Kokkos::View<T*, MemorySpace> out;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const T v = in(i);
    out(i) = compat::math::sin(T(3) * v) + v * v * v - T(0.25);
  }
};

template <class T>
void pointwise(const Tensor<T>& in, const Tensor<T>& out) {
  Kokkos::parallel_for("kinv::test::pointwise", impl::range(ExecutionSpace(), in.size()),
                       Pointwise<T>{in.view(), out.view()});
}

// 3x3 mean over the last two dimensions, zeros outside (every leading index is a batch).
template <class T>
struct Mean3x3 {
  Kokkos::View<const T*, MemorySpace> in;
  Kokkos::View<T*, MemorySpace> out;
  std::int64_t H, W;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t e) const {
    const std::int64_t w = e % W, h = (e / W) % H, base = e - h * W - w;
    T s = T(0);
    for (std::int64_t dh = -1; dh <= 1; ++dh)
      for (std::int64_t dw = -1; dw <= 1; ++dw) {
        const std::int64_t hh = h + dh, ww = w + dw;
        if (hh >= 0 && hh < H && ww >= 0 && ww < W) s += in(base + hh * W + ww);
      }
    out(e) = s / T(9);
  }
};

template <class T>
void mean3x3(const Tensor<T>& in, const Tensor<T>& out) {
  Kokkos::parallel_for("kinv::test::mean3x3", impl::range(ExecutionSpace(), in.size()),
                       Mean3x3<T>{in.view(), out.view(), in.shape().back(1), in.shape().back(0)});
}

template <class T>
Tensor<T> apply(void (*f)(const Tensor<T>&, const Tensor<T>&), const Tensor<T>& x) {
  Tensor<T> y("y", x.shape());
  f(x, y);
  Kokkos::fence();
  return y;
}

// ---- helpers ---------------------------------------------------------------------------------

struct Case {
  Shape shape;
  std::vector<std::int64_t> patch, overlap, stride;
  std::string strategy = "overlap_tiling";
};

// 2-D and 3-D, square and not, ragged last tiles, strides below the patch, one tile.
const Case cases[] = {
    {{1, 3, 16, 16}, {8}, {2}, {}},
    {{2, 2, 13, 11}, {5}, {3}, {4}},
    {{1, 1, 17, 9}, {6, 4}, {1, 2}, {}},
    {{1, 2, 10, 10}, {10}, {3}, {}},
    {{1, 1, 12, 14}, {5}, {0}, {}, "basic"},
    {{1, 1, 9, 10, 8}, {4}, {1}, {3}},
    {{2, 1, 7, 6, 9}, {3, 6, 4}, {2, 0, 1}, {}},
};

template <class T>
ProcessingOptions<T> options_for(const Case& c, Blend blend, std::int64_t max_batch = 0) {
  ProcessingOptions<T> o;
  o.strategy = c.strategy;
  o.tiling.patch_size = c.patch;
  o.tiling.overlap = c.overlap;
  o.tiling.stride = c.stride;
  o.tiling.blend = blend;
  o.max_batch_size = max_batch;
  return o;
}

template <class T>
std::string label(const Case& c, Blend b) {
  return c.shape.to_string() + " " + c.strategy + " " + to_string(b) + " " +
         (sizeof(T) == 4 ? "float" : "double");
}

// Whether every rank holds the same bits in t.
template <class T>
bool same_on_every_rank(const Tensor<T>& t) {
  const auto v = to_vector(t);
  std::uint64_t h = 1469598103934665603ull;
  const auto* b = reinterpret_cast<const unsigned char*>(v.data());
  for (std::size_t i = 0; i < v.size() * sizeof(T); ++i) h = (h ^ b[i]) * 1099511628211ull;
  const auto all = test::context().comm().allgather(static_cast<std::int64_t>(h));
  for (auto x : all)
    if (x != all[0]) return false;
  return true;
}

// ---- exactness -------------------------------------------------------------------------------

TYPED_TEST(Processing, IdentityAndScalingEqualTheUntiledResultBitwise) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  for (Blend blend : {Blend::Smooth, Blend::Crop})
    for (const auto& c : cases) {
      const std::string what = label<T>(c, blend);
      checks.no_throw(
          [&] {
            const auto x = test::random_tensor<T>(c.shape, 11);
            // Returning form (identity) and output form (scaling).
            DistributedProcessing<T> id(
                ctx, [](const Tensor<T>& in) { return in; }, options_for<T>(c, blend));
            DistributedProcessing<T> sc(
                ctx, [](const Tensor<T>& in, const Tensor<T>& out) { scale(in, out, T(2.5)); },
                options_for<T>(c, blend, 2));
            const auto scaled =
                apply<T>([](const Tensor<T>& a, const Tensor<T>& b) { scale(a, b, T(2.5)); }, x);
            for (int rep = 0; rep < 2; ++rep) {  // agreement, then the steady state
              checks.expect(test::bitwise_equal(id(x), x), what + ": identity");
              checks.expect(test::bitwise_equal(sc(x), scaled), what + ": scaling");
            }
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Processing, PointwiseNonlinearProcessorIsExact) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  for (Blend blend : {Blend::Smooth, Blend::Crop})
    for (const auto& c : cases) {
      const std::string what = label<T>(c, blend);
      checks.no_throw(
          [&] {
            const auto x = test::random_tensor<T>(c.shape, 12);
            DistributedProcessing<T> f(ctx, pointwise<T>, options_for<T>(c, blend, 1));
            checks.expect(test::bitwise_equal(f(x), apply<T>(pointwise<T>, x)), what);
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Processing, LocalFilterWithCropEqualsTheUntiledFilterInTheInterior) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const Case local_cases[] = {
      {{1, 3, 16, 16}, {8}, {2}, {}},
      {{2, 1, 19, 13}, {5}, {1}, {4}},
      {{1, 2, 14, 15}, {4, 6}, {3, 1}, {3, 5}},
      {{1, 1, 6, 12, 11}, {6, 5, 4}, {0, 1, 2}, {}},  // depth not filtered: no halo needed
  };
  for (const auto& c : local_cases) {
    const std::string what = label<T>(c, Blend::Crop);
    checks.no_throw(
        [&] {
          const auto x = test::random_tensor<T>(c.shape, 13);
          DistributedProcessing<T> f(ctx, mean3x3<T>, options_for<T>(c, Blend::Crop));
          const auto got = to_vector(f(x));
          const auto ref = to_vector(apply<T>(mean3x3<T>, x));
          const std::int64_t H = c.shape.back(1), W = c.shape.back(0);
          double worst = 0;
          for (std::size_t e = 0; e < got.size(); ++e) {
            const auto w = static_cast<std::int64_t>(e) % W,
                       h = (static_cast<std::int64_t>(e) / W) % H;
            if (h == 0 || w == 0 || h == H - 1 || w == W - 1) continue;  // border: padding
            worst = std::max(worst, std::fabs(static_cast<double>(got[e]) - ref[e]));
          }
          checks.expect(worst <= 4 * std::numeric_limits<T>::epsilon(),
                        what + ": interior differs by " + std::to_string(worst));
        },
        what);
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Processing, ResultDoesNotDependOnTheRankCount) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  // A filter whose windows disagree in their overlap, so blending matters: the result on all
  // ranks must be the bits a single process computes.
  DistributedContext self(comm::Communicator{});
  for (Blend blend : {Blend::Smooth, Blend::Crop})
    for (const auto& c : cases) {
      const std::string what = label<T>(c, blend);
      checks.no_throw(
          [&] {
            const auto x = test::random_tensor<T>(c.shape, 14);
            DistributedProcessing<T> many(ctx, mean3x3<T>, options_for<T>(c, blend, 3));
            DistributedProcessing<T> one(self, mean3x3<T>, options_for<T>(c, blend));
            const auto a = many(x);
            checks.expect(test::bitwise_equal(a, one(x)), what + ": differs from one rank");
            checks.expect(same_on_every_rank(a), what + ": ranks disagree");
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Processing, MaxBatchSizeSplitsTheProcessorCalls) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  const Case c{{2, 1, 23, 19}, {6}, {2}, {}};  // 4 x 4 = 16 tiles
  const auto x = test::random_tensor<T>(c.shape, 15);
  Tensor<T> reference;
  for (std::int64_t mbs : {0, 1, 3, 4, 100}) {
    const std::string what = "max_batch_size " + std::to_string(mbs);
    checks.no_throw(
        [&] {
          auto sizes = std::make_shared<std::vector<std::int64_t>>();
          DistributedProcessing<T> f(
              ctx,
              [sizes](const Tensor<T>& in, const Tensor<T>& out) {
                sizes->push_back(in.extent(0) / 2);  // windows per call (B = 2)
                mean3x3(in, out);
              },
              options_for<T>(c, Blend::Smooth, mbs));
          const auto y = f(x);
          const auto nl = static_cast<std::int64_t>(f.local_indices().size());
          checks.expect(f.num_patches() == 16, what + ": 16 tiles");
          checks.expect(f.local_indices() == ctx.local_indices(16), what + ": round robin");
          std::vector<std::int64_t> expect;
          const std::int64_t b = mbs == 0 ? nl : mbs;
          for (std::int64_t left = nl; left > 0; left -= b) expect.push_back(std::min(b, left));
          checks.expect(*sizes == expect, what + ": batch sizes of the processor calls");
          if (reference.size() == 0) reference = y;
          checks.expect(test::bitwise_equal(y, reference), what + ": result depends on batching");
        },
        what);
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Processing, GatherFalseSharesSumToTheGatheredResult) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  for (Blend blend : {Blend::Smooth, Blend::Crop})
    for (const auto& c : {cases[0], cases[1], cases[5]}) {
      const std::string what = label<T>(c, blend);
      checks.no_throw(
          [&] {
            const auto x = test::random_tensor<T>(c.shape, 16);
            DistributedProcessing<T> f(ctx, mean3x3<T>, options_for<T>(c, blend));
            const auto full = f(x);
            const auto part = f(x, false);
            const auto sum = clone(part);
            ctx.comm().allreduce_sum(sum.view());
            const double tol = blend == Blend::Crop ? 0.0 : 16 * std::numeric_limits<T>::epsilon();
            checks.expect(test::max_abs_diff(sum, full) <= tol,
                          what + ": sum of shares differs by " +
                              std::to_string(test::max_abs_diff(sum, full)));
            if (f.local_indices().empty())
              checks.expect(test::norm(part) == 0, what + ": a rank without tiles adds zeros");
            // A gathered call after a local one is still right.
            checks.expect(test::bitwise_equal(f(x), full), what + ": gather after gather=false");
          },
          what);
    }
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Processing, ShapeChangesRebuildTheLayout) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  checks.no_throw(
      [&] {
        ProcessingOptions<T> o;
        o.tiling.patch_size = {5};
        o.tiling.overlap = {2};
        DistributedProcessing<T> f(ctx, pointwise<T>, o);
        for (const Shape& s : {Shape{1, 1, 12, 12}, Shape{1, 1, 12, 12}, Shape{2, 1, 9, 17},
                               Shape{1, 1, 6, 5, 7}, Shape{1, 1, 12, 12}}) {
          const auto x = test::random_tensor<T>(s, 17);
          Tensor<T> y("y", s);
          f(x, y);
          checks.expect(test::bitwise_equal(y, apply<T>(pointwise<T>, x)), s.to_string());
        }
      },
      "shape changes");
  KINV_EXPECT_ALL_RANKS(checks);
}

TYPED_TEST(Processing, ReflectFallsBackToConstantPaddingVisibly) {
  using T = TypeParam;
  auto& ctx = test::context();
  RankChecks checks;
  checks.no_throw(
      [&] {
        ProcessingOptions<T> o;
        o.tiling.patch_size = {4};
        o.tiling.overlap = {3};
        DistributedProcessing<T> f(
            ctx, [](const Tensor<T>& in) { return in; }, o);
        checks.expect(f.padding_used() == TilePadding::Reflect, "reflect before a call");
        const auto x = test::random_tensor<T>({1, 1, 8, 8}, 18);
        checks.expect(test::bitwise_equal(f(x), x), "reflect");
        checks.expect(f.padding_used() == TilePadding::Reflect, "reflect used");
        const auto z = test::random_tensor<T>({1, 1, 3, 8}, 19);  // overlap 3 >= extent 3
        DistributedProcessing<T> g(
            ctx, [](const Tensor<T>& in) { return in; },
            [] {
              ProcessingOptions<T> p;
              p.tiling.patch_size = {3, 4};
              p.tiling.overlap = {3};
              return p;
            }());
        checks.expect(test::bitwise_equal(g(z), z), "constant");
        checks.expect(g.padding_used() == TilePadding::Constant, "the fallback is reported");
      },
      "padding");
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- errors ----------------------------------------------------------------------------------

template <class E, class F>
void expect_on_every_rank(RankChecks& checks, F&& f, const std::string& what) {
  checks.expect_throws<E>(std::forward<F>(f), what);
}

TEST(ProcessingErrors, InvalidOptionsFailOnEveryRank) {
  auto& ctx = test::context();
  RankChecks checks;
  using T = double;
  const auto x = test::random_tensor<T>({1, 2, 16, 16}, 20);
  auto id = [](const Tensor<T>& in) { return in; };
  auto with = [](auto edit) {
    ProcessingOptions<T> o;
    o.tiling.patch_size = {8};
    o.tiling.overlap = {2};
    edit(o);
    return o;
  };
  // Found when the options are checked (construction).
  const std::pair<const char*, ProcessingOptions<T>> at_construction[] = {
      {"patch 0", with([](auto& o) { o.tiling.patch_size = {0}; })},
      {"stride 0", with([](auto& o) { o.tiling.stride = {0}; })},
      {"negative overlap", with([](auto& o) { o.tiling.overlap = {-1}; })},
      {"stride > patch", with([](auto& o) { o.tiling.stride = {9}; })},
      {"max_batch_size < 0", with([](auto& o) { o.max_batch_size = -1; })},
      {"unknown strategy", with([](auto& o) { o.strategy = "tiles"; })},
      {"lengths", with([](auto& o) {
         o.tiling.patch_size = {8, 8};
         o.tiling.overlap = {1, 1, 1};
       })},
  };
  for (const auto& c : at_construction) {
    const ProcessingOptions<T>& o = c.second;
    expect_on_every_rank<ValueError>(
        checks, [&] { DistributedProcessing<T> f(ctx, id, o); }, c.first);
  }
  // Found at the first call (they depend on the signal's shape).
  const std::pair<const char*, ProcessingOptions<T>> at_call[] = {
      {"patch > extent", with([](auto& o) { o.tiling.patch_size = {17}; })},
      {"tiling_dims out of range", with([](auto& o) { o.tiling.tiling_dims = {4}; })},
      {"tiling_dims repeated", with([](auto& o) {
         o.tiling.tiling_dims = {2, -2};
       })},
      {"tiling_dims channel", with([](auto& o) {
         o.tiling.tiling_dims = {1, 2};
       })},
      {"tiling_dims batch", with([](auto& o) { o.tiling.tiling_dims = {0}; })},
      {"wrong length", with([](auto& o) {
         o.tiling.patch_size = {8, 8, 8};
       })},
  };
  for (const auto& c : at_call) {
    const char* what = c.first;
    const ProcessingOptions<T>& o = c.second;
    for (bool gather : {true, false})
      checks.no_throw(
          [&] {
            DistributedProcessing<T> f(ctx, id, o);
            expect_on_every_rank<ValueError>(
                checks, [&] { f(x, gather); },
                std::string(what) + (gather ? "" : ", gather=false"));
            // The object still works afterwards with a shape it can tile... or fails alike.
          },
          what);
  }
  // A tiled extent of 0: no tiles.
  checks.no_throw(
      [&] {
        DistributedProcessing<T> f(ctx, id, with([](auto& o) { o.tiling.patch_size = {1}; }));
        expect_on_every_rank<ValueError>(
            checks,
            [&] {
              f(Tensor<T>("empty", {1, 1, 0, 4}));
            },
            "zero tiles");
      },
      "zero tiles");
  KINV_EXPECT_ALL_RANKS(checks);
}

TEST(ProcessingErrors, ProcessorErrorsFailOnEveryRankAndRecover) {
  auto& ctx = test::context();
  RankChecks checks;
  using T = float;
  ProcessingOptions<T> o;
  o.tiling.patch_size = {8};
  o.tiling.overlap = {2};
  const auto x = test::random_tensor<T>({1, 1, 16, 16}, 21);  // 4 tiles: rank 4 has none
  // Wrong output shape (returned by every processor call; ranks without tiles never call it).
  checks.no_throw(
      [&] {
        DistributedProcessing<T> f(
            ctx, [](const Tensor<T>& in) { return Tensor<T>("bad", in.shape().with(1, 2)); }, o);
        try {
          f(x);
          checks.fail("wrong output shape: no exception");
        } catch (const ShapeError& e) {
          checks.expect(std::string(e.what()).find("processor") != std::string::npos,
                        std::string("names the processor: ") + e.what());
          checks.expect(e.rank() == 0, std::string("names rank 0: ") + e.what());
          // One prefix, the same on every rank: "kinv::ShapeError [rank 0]: DistributedProcessing:"
          checks.expect(
              std::string(e.what()).rfind(
                  "kinv::ShapeError [rank 0]: DistributedProcessing: the processor", 0) == 0,
              std::string("message: ") + e.what());
          // (n, 1, 12, 12) for a batch of n windows of 8 + 2 x 2.
          checks.expect(e.expected().find(", 1, 12, 12)") != std::string::npos &&
                            e.actual().find(", 2, 12, 12)") != std::string::npos,
                        "shapes: " + e.expected() + " vs " + e.actual());
        }
      },
      "wrong output shape");
  // A processor that fails on one rank only; the next call works.
  checks.no_throw(
      [&] {
        const int bad_rank = std::min(1, ctx.size() - 1);
        auto fail = std::make_shared<bool>(true);
        DistributedProcessing<T> f(
            ctx,
            [&ctx, bad_rank, fail](const Tensor<T>& in, const Tensor<T>& out) {
              if (*fail && ctx.rank() == bad_rank) throw std::runtime_error("denoiser diverged");
              Kokkos::deep_copy(out.view(), in.view());
            },
            o);
        for (int round = 0; round < 2; ++round) {  // in the agreement, then in the steady state
          try {
            f(x);
            checks.fail("processor error: no exception");
          } catch (const RemoteError& e) {
            checks.expect(e.rank() == bad_rank, std::string("names the rank: ") + e.what());
            checks.expect(std::string(e.what()).find("denoiser diverged") != std::string::npos,
                          std::string("carries the message: ") + e.what());
          }
          *fail = false;
          checks.expect(test::bitwise_equal(f(x), x), "works again after the error");
          *fail = true;
        }
      },
      "processor throws on one rank");
  // Input shapes that differ across ranks.
  if (ctx.size() > 1)
    checks.no_throw(
        [&] {
          DistributedProcessing<T> f(
              ctx, [](const Tensor<T>& in) { return in; }, o);
          (void)f(x);
          const auto y = test::random_tensor<T>({1, 1, 16, ctx.rank() == 0 ? 16 : 17}, 22);
          expect_on_every_rank<ShapeError>(
              checks, [&] { f(y); }, "shapes differ across ranks");
          checks.expect(test::bitwise_equal(f(x), x), "works again after the mismatch");
        },
        "shape mismatch");
  KINV_EXPECT_ALL_RANKS(checks);
}

// ---- ports of deepinv's processor tests (tests/test_distributed.py) ---------------------------

// test_distribute_processor: patch 8, overlap 2 on (1, 3, 16, 16); every rank has one result.
TEST(ProcessingDeepinv, DistributeProcessor) {
  auto& ctx = test::context();
  RankChecks checks;
  using T = float;
  ProcessingOptions<T> o;
  o.tiling.patch_size = {8};
  o.tiling.overlap = {2};
  DistributedProcessing<T> f(ctx, mean3x3<T>, o);
  const auto x = test::random_tensor<T>({1, 3, 16, 16}, 23);
  const auto y = f(x);
  checks.expect(y.shape() == x.shape(), "shape");
  checks.expect(same_on_every_rank(y), "same result on every rank");
  KINV_EXPECT_ALL_RANKS(checks);
}

// test_processor_different_patch_sizes: patches 4 and 8 work; deepinv rejects 16 == extent,
// kinv tiles it as one window and rejects 17.
TEST(ProcessingDeepinv, DifferentPatchSizes) {
  auto& ctx = test::context();
  RankChecks checks;
  using T = float;
  const auto x = test::random_tensor<T>({1, 3, 16, 16}, 24);
  for (std::int64_t p : {4, 8, 16, 17}) {
    ProcessingOptions<T> o;
    o.tiling.patch_size = {p};
    o.tiling.overlap = {2};
    DistributedProcessing<T> f(ctx, mean3x3<T>, o);
    if (p == 17) {
      checks.expect_throws<ValueError>([&] { f(x); }, "patch 17 > 16");
    } else {
      checks.no_throw([&] { checks.expect(f(x).shape() == x.shape(), "shape"); },
                      "patch " + std::to_string(p));
    }
  }
  KINV_EXPECT_ALL_RANKS(checks);
}

// test_processor_max_batch_size: None, 1 and 4 give the same result.
TEST(ProcessingDeepinv, MaxBatchSize) {
  auto& ctx = test::context();
  RankChecks checks;
  using T = float;
  const auto x = test::random_tensor<T>({1, 3, 16, 16}, 25);
  std::vector<Tensor<T>> results;
  for (std::int64_t mbs : {0, 1, 4}) {
    ProcessingOptions<T> o;
    o.tiling.patch_size = {8};
    o.tiling.overlap = {2};
    o.max_batch_size = mbs;
    DistributedProcessing<T> f(ctx, mean3x3<T>, o);
    results.push_back(f(x));
  }
  for (std::size_t i = 1; i < results.size(); ++i)
    checks.expect(test::max_abs_diff(results[0], results[i]) <= 1e-5, "batching changes it");
  KINV_EXPECT_ALL_RANKS(checks);
}

// test_processor_3d: (1, 1, 16, 16, 16) with patch 8, overlap 2.
TEST(ProcessingDeepinv, Volume3D) {
  auto& ctx = test::context();
  RankChecks checks;
  using T = float;
  ProcessingOptions<T> o;
  o.tiling.patch_size = {8};
  o.tiling.overlap = {2};
  DistributedProcessing<T> f(ctx, pointwise<T>, o);
  const auto x = test::random_tensor<T>({1, 1, 16, 16, 16}, 26);
  const auto y = f(x);
  checks.expect(y.shape() == x.shape(), "shape");
  checks.expect(f.num_patches() == 8, "8 tiles");
  checks.expect(test::bitwise_equal(y, apply<T>(pointwise<T>, x)), "pointwise result");
  KINV_EXPECT_ALL_RANKS(checks);
}

// test_gather_false_processor: gather = false gives this rank's contribution (zeros elsewhere).
TEST(ProcessingDeepinv, GatherFalse) {
  auto& ctx = test::context();
  RankChecks checks;
  using T = float;
  ProcessingOptions<T> o;
  o.tiling.patch_size = {8};
  o.tiling.overlap = {2};
  o.tiling.blend = Blend::Crop;  // deepinv's reduction
  DistributedProcessing<T> f(ctx, mean3x3<T>, o);
  const auto x = test::random_tensor<T>({1, 3, 16, 16}, 27);
  const auto global = f(x);
  const auto local = f(x, false);
  checks.expect(local.shape() == x.shape(), "shape");
  // With Crop each pixel comes from one tile: this rank's share is the gathered result on its
  // tiles' targets and zero elsewhere.
  const auto g = to_vector(global), l = to_vector(local);
  std::size_t nonzero = 0;
  bool ok = true;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (l[i] != 0) {
      ++nonzero;
      ok = ok && l[i] == g[i];
    }
  }
  checks.expect(ok, "shares equal the gathered values where nonzero");
  const std::size_t per_tile = 3 * 8 * 8;
  checks.expect(nonzero <= f.local_indices().size() * per_tile, "zeros outside this rank's tiles");
  KINV_EXPECT_ALL_RANKS(checks);
}

}  // namespace
}  // namespace kinv
