// CompressedSensing, SparseMatrixPhysics and the operator algebra (composition, sum, stack):
// exact adjoints, host references, determinism of the random matrix, its statistics, errors.
#include <kinv/operators/blur.hpp>
#include <kinv/operators/compressed_sensing.hpp>
#include <kinv/operators/inpainting.hpp>
#include <kinv/operators/sparse_matrix.hpp>
#include <kinv/physics/composition.hpp>

#include "test_helpers.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace kinv {
namespace {

template <class T>
class LinalgTest : public ::testing::Test {};
TYPED_TEST_SUITE(LinalgTest, test::ScalarTypes);

// Dense host reference: y[b, i] = sum_j A[i, j] x[b, j] (long double), and the bound on the
// rounding of each element: c * eps * sum_j |A[i, j] x[b, j]| with c the term count.
struct DenseResult {
  std::vector<long double> value, bound;
};

template <class T>
DenseResult dense_apply(const std::vector<T>& a, std::int64_t rows, std::int64_t cols,
                        const std::vector<T>& x, std::int64_t batch, bool transpose) {
  const std::int64_t out = transpose ? cols : rows, in = transpose ? rows : cols;
  DenseResult r;
  r.value.assign(static_cast<std::size_t>(batch * out), 0.0L);
  r.bound = r.value;
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < out; ++i) {
      long double s = 0, abs_s = 0;
      for (std::int64_t j = 0; j < in; ++j) {
        const long double aij = transpose ? a[static_cast<std::size_t>(j * cols + i)]
                                          : a[static_cast<std::size_t>(i * cols + j)];
        const long double t =
            aij * static_cast<long double>(x[static_cast<std::size_t>(b * in + j)]);
        s += t;
        abs_s += std::fabs(t);
      }
      r.value[static_cast<std::size_t>(b * out + i)] = s;
      r.bound[static_cast<std::size_t>(b * out + i)] =
          static_cast<long double>(in + 1) * std::numeric_limits<T>::epsilon() * abs_s;
    }
  return r;
}

// Largest |got - ref| / bound (<= 1 passes).
template <class T>
double worst_ratio(const Tensor<T>& got, const DenseResult& ref) {
  const auto g = to_vector(got);
  if (g.size() != ref.value.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const long double err = std::fabs(static_cast<long double>(g[i]) - ref.value[i]);
    const long double bound = ref.bound[i] + std::numeric_limits<T>::min();
    worst = std::max(worst, static_cast<double>(err / bound));
  }
  return worst;
}

template <class T>
Tensor<T> nan_tensor(const Shape& s) {
  auto t = Tensor<T>::uninitialized("nan", s);
  fill(t, std::numeric_limits<T>::quiet_NaN());
  return t;
}

template <class T>
bool all_finite(const Tensor<T>& t) {
  for (T v : to_vector(t))
    if (!std::isfinite(v)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// CompressedSensing

TYPED_TEST(LinalgTest, CompressedSensingAdjointDotTest) {
  using T = TypeParam;
  // Dense products of up to n = 60 terms: the dot test's rounding grows like sqrt(n) ulps.
  CompressedSensing<T> cs(17, {3, 4, 5}, 11);
  EXPECT_LT(test::adjoint_mismatch_ulps(cs, {1, 3, 4, 5}), 16.0);  // gemv
  EXPECT_LT(test::adjoint_mismatch_ulps(cs, {4, 3, 4, 5}), 16.0);  // gemm
  CompressedSensing<T> ch(7, {2, 5, 5}, 12, true);
  EXPECT_EQ(ch.output_shape({3, 2, 5, 5}), (Shape{3, 2, 7}));
  EXPECT_LT(test::adjoint_mismatch_ulps(ch, {3, 2, 5, 5}), 16.0);
  CompressedSensing<T> wide(200, {1, 3, 3}, 13);  // more measurements than unknowns
  EXPECT_LT(test::adjoint_mismatch_ulps(wide, {2, 1, 3, 3}), 16.0);
}

TYPED_TEST(LinalgTest, CompressedSensingMatchesTheDenseHostProduct) {
  using T = TypeParam;
  const std::int64_t m = 13;
  for (bool channelwise : {false, true}) {
    CompressedSensing<T> cs(m, {2, 3, 4}, 5, channelwise);
    const std::int64_t n = channelwise ? 12 : 24;
    ASSERT_EQ(cs.matrix().shape(), (Shape{m, n}));
    const auto a = to_vector(cs.matrix());
    for (std::int64_t B : {1, 3}) {
      const Tensor<T> x = test::random_tensor<T>({B, 2, 3, 4}, 7 + B);
      const std::int64_t cols = channelwise ? 2 * B : B;
      const Tensor<T> y = cs.A(x);
      EXPECT_EQ(y.shape(), (channelwise ? Shape{B, 2, m} : Shape{B, m}));
      EXPECT_LE(worst_ratio(y, dense_apply(a, m, n, to_vector(x), cols, false)), 1.0)
          << "A, B=" << B << " channelwise=" << channelwise;
      const Tensor<T> yy = test::random_tensor<T>(y.shape(), 9 + B);
      const Tensor<T> xt = cs.A_adjoint(yy);
      EXPECT_EQ(xt.shape(), x.shape());
      EXPECT_LE(worst_ratio(xt, dense_apply(a, m, n, to_vector(yy), cols, true)), 1.0)
          << "A_adjoint, B=" << B << " channelwise=" << channelwise;
    }
  }
}

TYPED_TEST(LinalgTest, CompressedSensingOverwritesAndAccumulates) {
  using T = TypeParam;
  CompressedSensing<T> cs(9, {1, 4, 4}, 3);
  for (std::int64_t B : {1, 2}) {
    const Tensor<T> x = test::random_tensor<T>({B, 1, 4, 4}, 1);
    const Tensor<T> y = test::random_tensor<T>({B, 9}, 2);
    // beta = 0 must not read the output (a NaN there would survive 0 * NaN).
    const Tensor<T> yn = nan_tensor<T>({B, 9}), xn = nan_tensor<T>({B, 1, 4, 4});
    cs.A(x, yn);
    cs.A_adjoint(y, xn);
    EXPECT_TRUE(all_finite(yn) && all_finite(xn)) << "B=" << B;
    EXPECT_TRUE(test::bitwise_equal(yn, cs.A(x)));
    // Accumulate: x0 + A^T y.
    const Tensor<T> x0 = test::random_tensor<T>({B, 1, 4, 4}, 3);
    const Tensor<T> acc = clone(x0);
    cs.A_adjoint_add(y, acc);
    const auto a = to_vector(acc), b = to_vector(x0), c = to_vector(cs.A_adjoint(y));
    double err = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      err =
          std::max(err, std::fabs(static_cast<double>(a[i]) - (static_cast<double>(b[i]) + c[i])));
    EXPECT_LE(err, 8 * std::numeric_limits<T>::epsilon()) << "B=" << B;
  }
}

TYPED_TEST(LinalgTest, CompressedSensingMatrixDependsOnTheSeedOnly) {
  using T = TypeParam;
  CompressedSensing<T> a(20, {2, 6, 6}, 42), b(20, {2, 6, 6}, 42), c(20, {2, 6, 6}, 43);
  EXPECT_TRUE(test::bitwise_equal(a.matrix(), b.matrix()));
  const Tensor<T> x = test::random_tensor<T>({3, 2, 6, 6}, 8);
  EXPECT_TRUE(test::bitwise_equal(a.A(x), b.A(x)));
  const Tensor<T> y = test::random_tensor<T>({3, 20}, 9);
  EXPECT_TRUE(test::bitwise_equal(a.A_adjoint(y), b.A_adjoint(y)));
  // A different seed: (almost) every entry differs.
  const auto va = to_vector(a.matrix()), vc = to_vector(c.matrix());
  std::size_t same = 0;
  for (std::size_t i = 0; i < va.size(); ++i) same += va[i] == vc[i];
  EXPECT_LT(same, va.size() / 100);
  // Entry (i, j) is keyed by i * n + j: a larger m keeps the first rows' draws, rescaled.
  CompressedSensing<T> d(25, {2, 6, 6}, 42);
  const auto vd = to_vector(d.matrix());
  const T scale = std::sqrt(T(20) / T(25));
  for (std::size_t i = 0; i < va.size(); i += 37)
    EXPECT_NEAR(vd[i], va[i] * scale,
                4 * std::numeric_limits<T>::epsilon() * (1 + std::fabs(va[i])));
}

TYPED_TEST(LinalgTest, CompressedSensingEntriesAreStandardNormalOverSqrtM) {
  using T = TypeParam;
  const std::int64_t m = 64;
  CompressedSensing<T> cs(m, {2, 16, 16}, 2024);
  const auto a = to_vector(cs.matrix());
  const double N = static_cast<double>(a.size());  // 32768 samples
  double sum = 0, sum2 = 0, within = 0;
  for (T v : a) {
    const double z = static_cast<double>(v) * std::sqrt(static_cast<double>(m));
    sum += z;
    sum2 += z * z;
    within += std::fabs(z) < 1.0;
  }
  const double mean = sum / N, var = sum2 / N - mean * mean;
  // Five standard errors of each statistic for N i.i.d. N(0, 1) samples: mean 1/sqrt(N),
  // variance sqrt(2/N), P(|z| < 1) = 0.6827 with sqrt(p(1-p)/N). A scale of 1/m instead of
  // 1/sqrt(m), or a biased or uniform generator, fails these.
  EXPECT_LT(std::fabs(mean), 5.0 / std::sqrt(N));
  EXPECT_LT(std::fabs(var - 1.0), 5.0 * std::sqrt(2.0 / N));
  EXPECT_LT(std::fabs(within / N - 0.682689), 5.0 * std::sqrt(0.682689 * 0.317311 / N));
}

TYPED_TEST(LinalgTest, CompressedSensingBadInput) {
  using T = TypeParam;
  EXPECT_THROW(CompressedSensing<T>(0, {1, 4, 4}), ValueError);
  EXPECT_THROW(CompressedSensing<T>(-3, {1, 4, 4}), ValueError);
  EXPECT_THROW(CompressedSensing<T>(4, Shape{}), ValueError);
  EXPECT_THROW(CompressedSensing<T>(4, {1, 0, 4}), ValueError);
  EXPECT_THROW(CompressedSensing<T>(4, {16}, 0, true), ValueError);  // no channel axis
  EXPECT_THROW(CompressedSensing<T>(Tensor<T>("a", {4, 15}), {1, 4, 4}), ShapeError);
  EXPECT_THROW(CompressedSensing<T>(Tensor<T>("a", {16}), {1, 4, 4}), ShapeError);
  CompressedSensing<T> cs(5, {1, 4, 4}, 1);
  EXPECT_THROW(cs.A(Tensor<T>("x", {2, 1, 4, 5})), ShapeError);
  EXPECT_THROW(cs.A(Tensor<T>("x", {1, 4, 4})), ShapeError);
  EXPECT_THROW(cs.A_adjoint(Tensor<T>("y", {2, 6})), ShapeError);
  EXPECT_THROW(cs.A_adjoint(Tensor<T>("y", {2, 1, 5})), ShapeError);
  EXPECT_THROW(cs.A(Tensor<T>("x", {2, 1, 4, 4}), Tensor<T>("y", {3, 5})), ShapeError);
  try {
    cs.A(Tensor<T>("x", {2, 1, 4, 5}));
  } catch (const ShapeError& e) {
    EXPECT_EQ(e.expected(), "(2, 1, 4, 4)");
    EXPECT_EQ(e.actual(), "(2, 1, 4, 5)");
  }
}

// deepinv's own matrix (CompressedSensing(m=10, img_size=(1, 3, 3)) with a seeded generator),
// passed to the matrix constructor, gives deepinv's A(x) and A_adjoint(y).
TYPED_TEST(LinalgTest, CompressedSensingMatchesDeepinvWithItsMatrix) {
  using T = TypeParam;
  std::ifstream in(std::string(KINV_TEST_DATA_DIR) + "/compressed_sensing_reference.txt");
  ASSERT_TRUE(in.good()) << "missing tests/data/compressed_sensing_reference.txt";
  std::map<std::string, std::pair<Shape, std::vector<double>>> arrays;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name;
    int rank;
    ls >> name >> rank;
    std::vector<std::int64_t> ext(static_cast<std::size_t>(rank));
    for (auto& e : ext) ls >> e;
    std::string values;
    std::getline(in, values);
    std::istringstream vs(values);
    std::vector<double> v;
    double d;
    while (vs >> d) v.push_back(d);
    arrays[name] = {Shape(ext), v};
  }
  auto tensor = [&](const std::string& name) {
    const auto& p = arrays.at(name);
    return from_vector<T>(name, p.first, std::vector<T>(p.second.begin(), p.second.end()));
  };
  for (const std::string cw : {"", "cw_"}) {
    const Tensor<T> a = tensor(cw + "matrix");
    const auto& img = arrays.at(cw + "x").first;
    CompressedSensing<T> cs(a, Shape{img[1], img[2], img[3]}, !cw.empty());
    const Tensor<T> y = cs.A(tensor(cw + "x"));
    const Tensor<T> yref = tensor(cw + "y");
    ASSERT_EQ(y.shape(), yref.shape()) << cw;
    const double tol = 64 * std::numeric_limits<T>::epsilon();
    EXPECT_LE(test::max_abs_diff(y, yref), tol * (1 + test::norm(yref))) << cw;
    const Tensor<T> xt = cs.A_adjoint(tensor(cw + "v"));
    const Tensor<T> xtref = tensor(cw + "adjoint");
    ASSERT_EQ(xt.shape(), xtref.shape()) << cw;
    EXPECT_LE(test::max_abs_diff(xt, xtref), tol * (1 + test::norm(xtref))) << cw;
  }
}

// ---------------------------------------------------------------------------------------------
// SparseMatrixPhysics

// A random COO matrix with about `density` of its entries set, plus duplicates of some of them.
template <class T>
CooArrays<T> random_coo(std::int64_t rows, std::int64_t cols, double density, std::uint64_t seed,
                        bool duplicates) {
  const auto u = to_vector(test::random_tensor<double>({rows * cols, 3}, seed, 0.0, 1.0));
  CooArrays<T> coo;
  for (std::int64_t k = rows * cols - 1; k >= 0; --k) {  // reversed: not in CRS order
    const std::size_t r = static_cast<std::size_t>(3 * k);
    if (u[r] >= density) continue;
    coo.rows.push_back(k / cols);
    coo.cols.push_back(k % cols);
    coo.values.push_back(static_cast<T>(2 * u[r + 1] - 1));
    if (duplicates && u[r + 2] < 0.3) {
      coo.rows.push_back(k / cols);
      coo.cols.push_back(k % cols);
      coo.values.push_back(static_cast<T>(u[r + 2] - 0.15));
    }
  }
  return coo;
}

template <class T>
std::vector<T> dense_from_coo(const CooArrays<T>& coo, std::int64_t rows, std::int64_t cols) {
  std::vector<long double> d(static_cast<std::size_t>(rows * cols), 0.0L);
  for (std::size_t k = 0; k < coo.values.size(); ++k)
    d[static_cast<std::size_t>(coo.rows[k] * cols + coo.cols[k])] += coo.values[k];
  return std::vector<T>(d.begin(), d.end());
}

template <class T>
CrsArrays<T> crs_from_dense(const std::vector<T>& d, std::int64_t rows, std::int64_t cols) {
  CrsArrays<T> crs;
  crs.row_map.push_back(0);
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j)
      if (d[static_cast<std::size_t>(i * cols + j)] != T(0)) {
        crs.entries.push_back(j);
        crs.values.push_back(d[static_cast<std::size_t>(i * cols + j)]);
      }
    crs.row_map.push_back(static_cast<std::int64_t>(crs.values.size()));
  }
  return crs;
}

TYPED_TEST(LinalgTest, SparseMatrixMatchesTheDenseHostProduct) {
  using T = TypeParam;
  const Shape in{2, 5, 4}, out{3, 7};  // 21 x 40
  const std::int64_t rows = out.size(), cols = in.size();
  for (bool dup : {false, true}) {
    const CooArrays<T> coo = random_coo<T>(rows, cols, 0.2, dup ? 31 : 30, dup);
    const std::vector<T> dense = dense_from_coo(coo, rows, cols);
    SparseMatrixPhysics<T> from_coo(coo, in, out);
    SparseMatrixPhysics<T> from_crs(crs_from_dense(dense, rows, cols), in, out);
    for (std::int64_t B : {1, 3}) {
      const Tensor<T> x = test::random_tensor<T>({B, 2, 5, 4}, 40 + B);
      const Tensor<T> y = test::random_tensor<T>({B, 3, 7}, 50 + B);
      const DenseResult ax = dense_apply(dense, rows, cols, to_vector(x), B, false);
      const DenseResult aty = dense_apply(dense, rows, cols, to_vector(y), B, true);
      for (const SparseMatrixPhysics<T>* op : {&from_coo, &from_crs}) {
        const Tensor<T> got = op->A(x);
        EXPECT_EQ(got.shape(), (Shape{B, 3, 7}));
        EXPECT_LE(worst_ratio(got, ax), 1.0) << "dup=" << dup << " B=" << B;
        const Tensor<T> gt = op->A_adjoint(y);
        EXPECT_EQ(gt.shape(), x.shape());
        EXPECT_LE(worst_ratio(gt, aty), 1.0) << "dup=" << dup << " B=" << B;
      }
      EXPECT_TRUE(test::bitwise_equal(from_coo.A(x), from_crs.A(x)) || dup);
    }
  }
}

TYPED_TEST(LinalgTest, SparseMatrixAdjointDotTestAndAccumulate) {
  using T = TypeParam;
  const Shape in{1, 9, 8}, out{50};
  const auto coo = random_coo<T>(50, 72, 0.1, 60, true);
  SparseMatrixPhysics<T> op(coo, in, out);
  EXPECT_LT(test::adjoint_mismatch_ulps(op, {1, 1, 9, 8}), 8.0);
  EXPECT_LT(test::adjoint_mismatch_ulps(op, {4, 1, 9, 8}), 8.0);
  const Tensor<T> y = test::random_tensor<T>({2, 50}, 61);
  const Tensor<T> x0 = test::random_tensor<T>({2, 1, 9, 8}, 62);
  const Tensor<T> acc = clone(x0);
  op.A_adjoint_add(y, acc);
  const auto a = to_vector(acc), b = to_vector(x0), c = to_vector(op.A_adjoint(y));
  double err = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    err = std::max(err, std::fabs(static_cast<double>(a[i]) - (static_cast<double>(b[i]) + c[i])));
  EXPECT_LE(err, 8 * std::numeric_limits<T>::epsilon());
  const Tensor<T> xn = nan_tensor<T>({2, 1, 9, 8}), yn = nan_tensor<T>({2, 50});
  op.A_adjoint(y, xn);
  op.A(x0, yn);
  EXPECT_TRUE(all_finite(xn) && all_finite(yn));
}

// A^T y sums each column's entries in row order, one thread per column and no atomics, so its
// bits are fixed on every backend and thread count. Values k 2^e and y = m / 1024 make every
// product exact (so a fused multiply-add rounds as a product then a sum does), while exponents
// far apart make the sums round, so that another order would give other bits.
TYPED_TEST(LinalgTest, SparseMatrixAdjointSumsEachColumnInRowOrder) {
  using T = TypeParam;
  const std::int64_t rows = 300, cols = 7, B = 2;
  const int spread = std::is_same<T, float>::value ? 12 : 30;
  const auto u = to_vector(test::random_tensor<double>({rows * cols, 3}, 71, 0.0, 1.0));
  CrsArrays<T> crs;
  crs.row_map.push_back(0);
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      const std::size_t r = static_cast<std::size_t>(3 * (i * cols + j));
      if (u[r] >= 0.6) continue;
      const int k = static_cast<int>(2048 * u[r + 1]) - 1024;
      const int e = static_cast<int>((2 * spread + 1) * u[r + 2]) - spread;
      crs.entries.push_back(j);
      crs.values.push_back(std::ldexp(static_cast<T>(k), e));
    }
    crs.row_map.push_back(static_cast<std::int64_t>(crs.values.size()));
  }
  const SparseMatrixPhysics<T> op(crs, Shape{cols}, Shape{rows});
  const auto uy = to_vector(test::random_tensor<double>({B * rows}, 72, 0.0, 1.0));
  std::vector<T> yv(uy.size());
  for (std::size_t i = 0; i < uy.size(); ++i)
    yv[i] = static_cast<T>(static_cast<int>(2048 * uy[i]) - 1024) / T(1024);
  std::vector<T> want(static_cast<std::size_t>(B * cols), T(0));
  for (std::int64_t c = 0; c < B; ++c)
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t k = crs.row_map[i]; k < crs.row_map[i + 1]; ++k) {
        T& w = want[static_cast<std::size_t>(c * cols + crs.entries[k])];
        w = w + crs.values[k] * yv[static_cast<std::size_t>(c * rows + i)];
      }
  const Tensor<T> got = op.A_adjoint(from_vector<T>("y", {B, rows}, yv));
  EXPECT_TRUE(test::bitwise_equal(got, from_vector<T>("want", {B, cols}, want)));
  // The same sums in reverse row order differ somewhere: the test can tell orders apart.
  std::vector<T> reversed(want.size(), T(0));
  for (std::int64_t c = 0; c < B; ++c)
    for (std::int64_t i = rows - 1; i >= 0; --i)
      for (std::int64_t k = crs.row_map[i]; k < crs.row_map[i + 1]; ++k) {
        T& w = reversed[static_cast<std::size_t>(c * cols + crs.entries[k])];
        w = w + crs.values[k] * yv[static_cast<std::size_t>(c * rows + i)];
      }
  EXPECT_NE(reversed, want);
}

TYPED_TEST(LinalgTest, SparseMatrixFromADeviceMatrix) {
  using T = TypeParam;
  using Op = SparseMatrixPhysics<T>;
  // The 3 x 4 matrix [[1, 0, 2, 0], [0, 0, 0, 0], [0, -1, 0, 3]].
  typename Op::matrix_type::row_map_type::non_const_type rm("rm", 4);
  typename Op::matrix_type::index_type::non_const_type ent("ent", 4);
  typename Op::matrix_type::values_type val("val", 4);
  auto hrm = Kokkos::create_mirror_view(rm);
  auto hent = Kokkos::create_mirror_view(ent);
  auto hval = Kokkos::create_mirror_view(val);
  const int r[] = {0, 2, 2, 4}, c[] = {0, 2, 1, 3};
  const T v[] = {1, 2, -1, 3};
  for (int i = 0; i < 4; ++i) {
    hrm(i) = r[i];
    hent(i) = c[i];
    hval(i) = v[i];
  }
  Kokkos::deep_copy(rm, hrm);
  Kokkos::deep_copy(ent, hent);
  Kokkos::deep_copy(val, hval);
  typename Op::matrix_type a("a", 3, 4, 4, val, rm, ent);
  Op op(a, {1, 2, 2}, {3});
  const Tensor<T> x = from_vector<T>("x", {2, 1, 2, 2}, {1, 2, 3, 4, -1, 0, 5, 1});
  EXPECT_EQ(to_vector(op.A(x)), (std::vector<T>{7, 0, 10, 9, 0, 3}));
  const Tensor<T> y = from_vector<T>("y", {1, 3}, {1, 5, 2});
  EXPECT_EQ(to_vector(op.A_adjoint(y)), (std::vector<T>{1, -2, 2, 6}));
  // The matrix is kept by reference: new values are seen by A and by A^T.
  hval(2) = 4;
  Kokkos::deep_copy(val, hval);
  EXPECT_EQ(to_vector(op.A(x)), (std::vector<T>{7, 0, 20, 9, 0, 3}));
  EXPECT_EQ(to_vector(op.A_adjoint(y)), (std::vector<T>{1, 8, 2, 6}));
  // The same arrays with the wrong shapes, or an entry out of range.
  EXPECT_THROW(Op(a, {1, 2, 3}, {3}), ValueError);
  EXPECT_THROW(Op(a, {1, 2, 2}, {4}), ValueError);
  hent(3) = 4;
  Kokkos::deep_copy(ent, hent);
  EXPECT_THROW(Op(a, {1, 2, 2}, {3}), ValueError);
}

TYPED_TEST(LinalgTest, SparseMatrixBadInput) {
  using T = TypeParam;
  using Op = SparseMatrixPhysics<T>;
  const Shape in{1, 2, 2}, out{3};
  const CrsArrays<T> good{{0, 2, 2, 4}, {0, 2, 1, 3}, {1, 2, -1, 3}};
  EXPECT_NO_THROW(Op(good, in, out));
  auto bad = [&](auto edit) {
    CrsArrays<T> c = good;
    edit(c);
    return c;
  };
  EXPECT_THROW(Op(bad([](auto& c) { c.row_map.pop_back(); }), in, out), ValueError);
  EXPECT_THROW(Op(bad([](auto& c) { c.row_map[0] = 1; }), in, out), ValueError);
  EXPECT_THROW(Op(bad([](auto& c) { c.row_map = {0, 3, 2, 4}; }), in, out), ValueError);
  EXPECT_THROW(Op(bad([](auto& c) { c.row_map[3] = 3; }), in, out), ValueError);  // nnz
  EXPECT_THROW(Op(bad([](auto& c) { c.values.pop_back(); }), in, out), ValueError);
  EXPECT_THROW(Op(bad([](auto& c) { c.entries[1] = 4; }), in, out), ValueError);
  EXPECT_THROW(Op(bad([](auto& c) { c.entries[1] = -1; }), in, out), ValueError);
  EXPECT_THROW(Op(good, Shape{}, out), ValueError);
  EXPECT_THROW(Op(good, in, {0}), ValueError);
  EXPECT_THROW(Op(CooArrays<T>{{0, 1}, {0}, {1, 2}}, in, out), ValueError);
  EXPECT_THROW(Op(CooArrays<T>{{0, 3}, {0, 1}, {1, 2}}, in, out), ValueError);
  EXPECT_THROW(Op(CooArrays<T>{{0, 2}, {0, 4}, {1, 2}}, in, out), ValueError);
  Op op(good, in, out);
  EXPECT_THROW(op.A(Tensor<T>("x", {2, 4})), ShapeError);
  EXPECT_THROW(op.A(Tensor<T>("x", {2, 1, 2, 3})), ShapeError);
  EXPECT_THROW(op.A_adjoint(Tensor<T>("y", {2, 4})), ShapeError);
}

// ---------------------------------------------------------------------------------------------
// Composition, sum, stack

TYPED_TEST(LinalgTest, CompositionAppliesInnerThenOuter) {
  using T = TypeParam;
  auto blur = std::make_shared<Blur<T>>(gaussian_kernel<T>(1.0), Padding::Circular);
  auto cs = std::make_shared<CompressedSensing<T>>(30, Shape{2, 8, 8}, 3);
  auto csb = cs * blur;
  EXPECT_EQ(csb->name(), "Composed(CompressedSensing * Blur)");
  const Tensor<T> x = test::random_tensor<T>({2, 2, 8, 8}, 1);
  EXPECT_TRUE(test::bitwise_equal(csb->A(x), cs->A(blur->A(x))));
  const Tensor<T> y = test::random_tensor<T>({2, 30}, 2);
  EXPECT_TRUE(test::bitwise_equal(csb->A_adjoint(y), blur->A_adjoint(cs->A_adjoint(y))));
  // Steady state and a second shape through the cached intermediate.
  EXPECT_TRUE(test::bitwise_equal(csb->A(x), cs->A(blur->A(x))));
  const Tensor<T> x1 = test::random_tensor<T>({1, 2, 8, 8}, 3);
  EXPECT_TRUE(test::bitwise_equal(csb->A(x1), cs->A(blur->A(x1))));
  // deepinv's compose lists operators in the order they are applied.
  auto same = compose(blur, cs);
  EXPECT_TRUE(test::bitwise_equal(same->A(x), csb->A(x)));
  // Three factors.
  auto mask = std::make_shared<Inpainting<T>>(Shape{2, 8, 8}, 0.6, 9);
  auto three = cs * blur * mask;
  EXPECT_TRUE(test::bitwise_equal(three->A(x), cs->A(blur->A(mask->A(x)))));
  auto three_c = compose(mask, blur, cs);
  EXPECT_TRUE(test::bitwise_equal(three_c->A(x), three->A(x)));
}

TYPED_TEST(LinalgTest, CompositionAdjointDotTests) {
  using T = TypeParam;
  auto blur = std::make_shared<Blur<T>>(gaussian_kernel<T>(1.3), Padding::Reflect);
  auto valid = std::make_shared<Blur<T>>(test::random_tensor<T>({1, 1, 3, 3}, 5), Padding::Valid);
  auto cs = std::make_shared<CompressedSensing<T>>(25, Shape{3, 7, 6}, 4);
  auto mask = std::make_shared<Inpainting<T>>(Shape{3, 9, 8}, 0.5, 2);
  auto cs_blur = std::make_shared<CompressedSensing<T>>(25, Shape{3, 9, 8}, 4) * blur;
  EXPECT_LT(test::adjoint_mismatch_ulps(*cs_blur, {2, 3, 9, 8}), 16.0);
  EXPECT_LT(test::adjoint_mismatch_ulps(*(mask * blur), {2, 3, 9, 8}), 8.0);
  EXPECT_LT(test::adjoint_mismatch_ulps(*(cs * valid), {2, 3, 9, 8}), 16.0);  // shape-changing
  EXPECT_LT(test::adjoint_mismatch_ulps(*(cs * valid), {1, 3, 9, 8}), 16.0);
  // Accumulate: x0 + (A B)^T y.
  auto op = cs * valid;
  const Tensor<T> y = test::random_tensor<T>({2, 25}, 7);
  const Tensor<T> x0 = test::random_tensor<T>({2, 3, 9, 8}, 8);
  const Tensor<T> acc = clone(x0);
  op->A_adjoint_add(y, acc);
  const auto a = to_vector(acc), b = to_vector(x0), c = to_vector(op->A_adjoint(y));
  double err = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    err = std::max(err, std::fabs(static_cast<double>(a[i]) - (static_cast<double>(b[i]) + c[i])));
  EXPECT_LE(err, 8 * std::numeric_limits<T>::epsilon());
}

TYPED_TEST(LinalgTest, CompositionKeepsTheOuterNoiseModel) {
  using T = TypeParam;
  auto inner = std::make_shared<Blur<T>>(gaussian_kernel<T>(1.0), Padding::Circular);
  auto outer = std::make_shared<CompressedSensing<T>>(10, Shape{1, 6, 6}, 1);
  auto noise = std::make_shared<GaussianNoise<T>>(T(0.1), 7);
  auto other = std::make_shared<GaussianNoise<T>>(T(0.5), 8);
  outer->set_noise_model(noise);
  inner->set_noise_model(other);
  auto c = outer * inner;
  EXPECT_EQ(c->noise_model().get(), noise.get());
  EXPECT_EQ((inner * outer)->noise_model().get(), other.get());
  // forward = A x + noise drawn by the composition's own stream.
  const Tensor<T> x = test::random_tensor<T>({2, 1, 6, 6}, 3);
  const Tensor<T> y = c->forward(x);
  EXPECT_FALSE(test::bitwise_equal(y, c->A(x)));
  EXPECT_LT(test::max_abs_diff(y, c->A(x)), 1.0);
}

TYPED_TEST(LinalgTest, CompositionShapeErrors) {
  using T = TypeParam;
  auto cs = std::make_shared<CompressedSensing<T>>(10, Shape{1, 6, 6}, 1);
  auto valid = std::make_shared<Blur<T>>(gaussian_kernel<T>(1.0), Padding::Valid);
  auto bad = cs * valid;  // the valid blur shrinks (1, 1, 6, 6): cs cannot take its output
  EXPECT_THROW(bad->A(Tensor<T>("x", {1, 1, 6, 6})), ShapeError);
  EXPECT_THROW(bad->output_shape({1, 1, 6, 6}), ShapeError);
  auto cs2 = std::make_shared<CompressedSensing<T>>(8, Shape{10}, 2);
  auto mismatch = cs2 * cs;  // (B, 10) measurements into an operator of img_size (10): fits
  EXPECT_EQ(mismatch->output_shape({3, 1, 6, 6}), (Shape{3, 8}));
  auto wrong = cs * cs2;  // (B, 8) into img_size (1, 6, 6)
  EXPECT_THROW(wrong->A(Tensor<T>("x", {1, 10})), ShapeError);
  EXPECT_THROW(wrong->A_adjoint(Tensor<T>("y", {1, 10})), ShapeError);
  EXPECT_THROW(ComposedLinearPhysics<T>(nullptr, cs), ValueError);
}

TYPED_TEST(LinalgTest, SumAddsOperatorsAndTheirAdjoints) {
  using T = TypeParam;
  auto b1 = std::make_shared<Blur<T>>(gaussian_kernel<T>(1.0), Padding::Circular);
  auto b2 = std::make_shared<Blur<T>>(test::random_tensor<T>({1, 1, 3, 3}, 9), Padding::Reflect);
  auto s = sum(b1, b2);
  EXPECT_EQ(s->name(), "Sum(Blur + Blur)");
  const Tensor<T> x = test::random_tensor<T>({2, 3, 8, 7}, 1);
  const auto got = to_vector(s->A(x)), a = to_vector(b1->A(x)), b = to_vector(b2->A(x));
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], a[i] + b[i]) << i;
  EXPECT_LT(test::adjoint_mismatch_ulps(*s, {2, 3, 8, 7}), 8.0);
  auto c1 = std::make_shared<CompressedSensing<T>>(12, Shape{1, 5, 5}, 1);
  auto c2 = std::make_shared<CompressedSensing<T>>(12, Shape{1, 5, 5}, 2);
  auto cs_sum = sum(c1, c2);
  EXPECT_LT(test::adjoint_mismatch_ulps(*cs_sum, {3, 1, 5, 5}), 16.0);
  // The adjoint is A1^T y + A2^T y, and accumulates onto x0.
  const Tensor<T> y = test::random_tensor<T>({3, 12}, 4);
  const Tensor<T> x0 = test::random_tensor<T>({3, 1, 5, 5}, 5);
  const Tensor<T> acc = clone(x0);
  cs_sum->A_adjoint_add(y, acc);
  const auto va = to_vector(acc), v0 = to_vector(x0), v1 = to_vector(c1->A_adjoint(y)),
             v2 = to_vector(c2->A_adjoint(y));
  double err = 0;
  for (std::size_t i = 0; i < va.size(); ++i)
    err = std::max(
        err, std::fabs(static_cast<double>(va[i]) - (static_cast<double>(v0[i]) + v1[i] + v2[i])));
  EXPECT_LE(err, 16 * std::numeric_limits<T>::epsilon());
  // Different output shapes cannot be summed.
  auto c3 = std::make_shared<CompressedSensing<T>>(13, Shape{1, 5, 5}, 3);
  EXPECT_THROW(sum(c1, c3)->A(Tensor<T>("x", {1, 1, 5, 5})), ShapeError);
}

TYPED_TEST(LinalgTest, StackGivesAStackedLinearPhysics) {
  using T = TypeParam;
  auto s = stack(std::make_unique<CompressedSensing<T>>(6, Shape{1, 4, 4}, 1),
                 std::make_unique<Blur<T>>(gaussian_kernel<T>(1.0), Padding::Circular),
                 compose(std::make_shared<Blur<T>>(gaussian_kernel<T>(0.7), Padding::Circular),
                         std::make_shared<CompressedSensing<T>>(5, Shape{1, 4, 4}, 2)));
  ASSERT_EQ(s.num_operators(), 3);
  EXPECT_EQ(s[2].index(), 2);
  const Tensor<T> x = test::random_tensor<T>({2, 1, 4, 4}, 1);
  const TensorList<T> y = s.A(x);
  CompressedSensing<T> cs(6, Shape{1, 4, 4}, 1);
  EXPECT_TRUE(test::bitwise_equal(y[0], cs.A(x)));
  EXPECT_EQ(y[2].shape(), (Shape{2, 5}));
}

}  // namespace
}  // namespace kinv
