// Kokkos Tools regions: every operator call and every stack call is a region named after the
// operator and the method, nested as the calls are, popped on errors too.
#include <kinv/core/profiling.hpp>
#include <kinv/operators/blur.hpp>
#include <kinv/operators/inpainting.hpp>
#include <kinv/physics/stacked.hpp>

#include <memory>
#include <string>
#include <vector>

#include "region_recorder.hpp"
#include "test_helpers.hpp"

namespace kinv {
namespace {

using Names = std::vector<std::string>;

TEST(Profiling, OperatorMethodsAreRegionsNamedAfterTheOperator) {
  using T = double;
  Blur<T> blur(gaussian_kernel<T>(1.0), Padding::Circular);
  const auto x = test::random_tensor<T>({1, 2, 9, 8}, 1);
  const auto y = blur.A(x);
  test::RegionRecorder rec;
  blur.A(x);
  blur.A(x, y);
  blur.A_adjoint(y);
  blur.A_adjoint_add(y, clone(x));
  blur.A_adjoint_A(x);
  blur.forward(x);
  EXPECT_EQ(rec.pushed(), (Names{"kinv::Blur::A", "kinv::Blur::A", "kinv::Blur::A_adjoint",
                                 "kinv::Blur::A_adjoint", "kinv::Blur::A_adjoint_A",
                                 "kinv::Blur::forward", "kinv::Blur::A"}));
  EXPECT_EQ(rec.open(), 0);
  EXPECT_EQ(rec.deepest(), 2);  // forward's A inside forward

  rec.clear();
  PowerOptions o;
  o.max_iter = 3;
  blur.compute_sqnorm(x, o);
  ASSERT_FALSE(rec.pushed().empty());
  EXPECT_EQ(rec.pushed().front(), "kinv::Blur::compute_sqnorm");
  EXPECT_TRUE(rec.saw("kinv::Blur::A_adjoint_A"));
  EXPECT_EQ(rec.open(), 0);
}

TEST(Profiling, StacksNestTheirOperatorsRegions) {
  using T = float;
  std::vector<std::unique_ptr<LinearPhysics<T>>> ops;
  ops.push_back(std::make_unique<Blur<T>>(gaussian_kernel<T>(0.8), Padding::Reflect));
  ops.push_back(std::make_unique<Inpainting<T>>(Shape{1, 6, 6}, 0.5, 7));
  StackedLinearPhysics<T> stack(std::move(ops));
  const auto x = test::random_tensor<T>({1, 1, 6, 6}, 2);
  const auto y = stack.A(x);
  test::RegionRecorder rec;
  stack.A(x);
  stack.A_adjoint(y);
  EXPECT_EQ(rec.pushed(), (Names{"kinv::StackedPhysics::A", "kinv::Blur::A", "kinv::Inpainting::A",
                                 "kinv::StackedPhysics::A_adjoint", "kinv::Blur::A_adjoint",
                                 "kinv::Inpainting::A_adjoint"}));
  EXPECT_EQ(rec.deepest(), 2);
  EXPECT_EQ(rec.open(), 0);
}

// A call that throws leaves no region open (a tool's stack would be corrupted otherwise).
TEST(Profiling, RegionsArePoppedWhenACallThrows) {
  using T = double;
  Blur<T> blur(gaussian_kernel<T>(1.0), Padding::Circular);
  test::RegionRecorder rec;
  EXPECT_THROW(blur.A(test::random_tensor<T>({2, 2}, 3)), ShapeError);
  EXPECT_EQ(rec.pushed(), (Names{"kinv::Blur::A"}));
  EXPECT_EQ(rec.open(), 0);
}

// Without a tool, no name is built: the callable that makes it is not called.
TEST(Profiling, NoToolNoName) {
  bool built = false;
  {
    const ProfilingRegion region([&] {
      built = true;
      return std::string("kinv::test");
    });
  }
  EXPECT_FALSE(built);
  test::RegionRecorder rec;
  {
    const ProfilingRegion region([&] {
      built = true;
      return std::string("kinv::test");
    });
  }
  EXPECT_TRUE(built);
  EXPECT_EQ(rec.pushed(), (Names{"kinv::test"}));
}

}  // namespace
}  // namespace kinv
