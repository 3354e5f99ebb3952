// Shape, Tensor (allocating and wrapping), errors and the counter-based RNG.
#include <kinv/core/rng.hpp>
#include <kinv/core/tensor.hpp>

#include "test_helpers.hpp"

#include <set>

namespace kinv {
namespace {

TEST(Shape, ExtentsSizeAndPrinting) {
  const Shape s{1, 3, 512, 256};
  EXPECT_EQ(s.rank(), 4);
  EXPECT_EQ(s[2], 512);
  EXPECT_EQ(s.back(), 256);
  EXPECT_EQ(s.size(), 3 * 512 * 256);
  EXPECT_EQ(s.to_string(), "(1, 3, 512, 256)");
  EXPECT_EQ(Shape{}.size(), 1);
  EXPECT_EQ(Shape{}.to_string(), "()");
  EXPECT_EQ(s.with(1, 1), (Shape{1, 1, 512, 256}));
  EXPECT_NE(s, s.with(0, 2));
  EXPECT_THROW(s[4], ValueError);
  EXPECT_THROW((Shape{2, -1}), ValueError);
  EXPECT_THROW((Shape{1, 1, 1, 1, 1, 1, 1, 1, 1}), ValueError);
}

TEST(Errors, MessagesNameRankOperatorAndShapes) {
  impl::set_process_rank(3);
  try {
    throw_shape_error("Blur::A input", Shape{1, 3, 8, 8}, Shape{1, 3, 8, 9}, 5);
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("rank 3"), std::string::npos) << m;
    EXPECT_NE(m.find("operator 5"), std::string::npos) << m;
    EXPECT_NE(m.find("expected (1, 3, 8, 8), got (1, 3, 8, 9)"), std::string::npos) << m;
    EXPECT_EQ(e.rank(), 3);
    EXPECT_EQ(e.operator_index(), 5);
    EXPECT_EQ(e.kind(), "kinv::ShapeError");
  }
  impl::set_process_rank(-1);
  const ValueError v("bad value");
  EXPECT_EQ(std::string(v.what()), "kinv::ValueError: bad value");
  const RemoteError r("kinv::ShapeError", "kinv::ShapeError [rank 2]: oops", 4, 2);
  EXPECT_EQ(r.rank(), 2);
  EXPECT_EQ(r.origin_kind(), "kinv::ShapeError");
  EXPECT_EQ(std::string(r.what()), "kinv::RemoteError: kinv::ShapeError [rank 2]: oops");
}

template <class T>
class TensorTest : public ::testing::Test {};
TYPED_TEST_SUITE(TensorTest, test::ScalarTypes);

TYPED_TEST(TensorTest, AllocatesZeroedAndRoundTrips) {
  using T = TypeParam;
  Tensor<T> x("x", {2, 3, 4});
  EXPECT_EQ(x.size(), 24);
  EXPECT_EQ(x.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(x.label(), "x");
  for (T v : to_vector(x)) EXPECT_EQ(v, T(0));
  std::vector<T> vals(24);
  for (int i = 0; i < 24; ++i) vals[i] = T(i) / 3;
  const auto y = from_vector<T>("y", {2, 3, 4}, vals);
  EXPECT_EQ(to_vector(y), vals);
  const auto z = clone(y);
  EXPECT_NE(z.data(), y.data());
  EXPECT_TRUE(test::bitwise_equal(z, y));
  const auto r = y.reshaped({6, 4});
  EXPECT_EQ(r.data(), y.data());
  EXPECT_THROW(y.reshaped({5, 5}), ShapeError);
  EXPECT_THROW(from_vector<T>("bad", {2, 2}, vals), ShapeError);
  EXPECT_THROW(deep_copy(x, r), ShapeError);
}

TYPED_TEST(TensorTest, WrapsAUserViewWithoutCopying) {
  using T = TypeParam;
  Tensor<T> t;
  T* data = nullptr;
  {
    Kokkos::View<T****, Kokkos::LayoutRight, MemorySpace> v("user", 1, 3, 4, 5);
    data = v.data();
    t = Tensor<T>(v);  // shape from the extents
    EXPECT_EQ(t.shape(), (Shape{1, 3, 4, 5}));
    EXPECT_EQ(t.data(), data);
    Kokkos::deep_copy(v, T(2));
  }
  // The user's View went out of scope; the Tensor keeps its allocation alive.
  EXPECT_EQ(t.data(), data);
  for (T v : to_vector(t)) EXPECT_EQ(v, T(2));
  Kokkos::View<T**, Kokkos::LayoutRight, MemorySpace> m("m", 6, 4);
  const Tensor<T> as4(m, Shape{2, 3, 2, 2});
  EXPECT_EQ(as4.data(), m.data());
  EXPECT_THROW((Tensor<T>(m, Shape{5, 5})), ShapeError);
}

TYPED_TEST(TensorTest, RejectsNonContiguousOrColumnMajorViews) {
  using T = TypeParam;
  Kokkos::View<T**, Kokkos::LayoutLeft, MemorySpace> left("left", 4, 5);
  EXPECT_THROW((Tensor<T>(left)), ValueError);
  Kokkos::View<T**, Kokkos::LayoutRight, MemorySpace> big("big", 6, 8);
  auto sub = Kokkos::subview(big, Kokkos::make_pair(0, 6), Kokkos::make_pair(0, 4));
  EXPECT_THROW((Tensor<T>(sub)), ValueError);
  // A column vector of a LayoutLeft matrix is contiguous: fine.
  Kokkos::View<T*, Kokkos::LayoutLeft, MemorySpace> vec("vec", 7);
  EXPECT_NO_THROW((Tensor<T>(vec)));
}

TEST(Random, CounterBasedStreamsAreReproducibleAndDistinct) {
  RandomStream a{42, 3, 0}, b{42, 3, 1}, c{42, 4, 0}, d{43, 3, 0};
  std::set<double> seen;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(uniform(a, i), uniform(a, i));
    seen.insert(uniform(a, i));
    seen.insert(uniform(b, i));
    seen.insert(uniform(c, i));
    seen.insert(uniform(d, i));
  }
  EXPECT_EQ(seen.size(), 4000u);  // no collisions between streams or elements
  // Uniform and normal moments.
  const int n = 200000;
  double su = 0, su2 = 0, sn = 0, sn2 = 0, sn4 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = uniform(a, static_cast<std::uint64_t>(i));
    const double z = standard_normal(a, static_cast<std::uint64_t>(i));
    EXPECT_GT(u, 0.0);
    EXPECT_LT(u, 1.0);
    su += u;
    su2 += u * u;
    sn += z;
    sn2 += z * z;
    sn4 += z * z * z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(su2 / n - 0.25, 1.0 / 12, 0.002);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.01);
  EXPECT_NEAR(sn4 / n, 3.0, 0.06);
}

}  // namespace
}  // namespace kinv
