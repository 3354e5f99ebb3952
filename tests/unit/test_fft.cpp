// The FFT layer against a naive DFT (2-D and 3-D, odd and even, batched), round trips,
// unitarity of the "ortho" transform, plan caching and bad input.
#include <kinv/fft/fft.hpp>

#include "test_helpers.hpp"

#include <cmath>
#include <complex>
#include <limits>
#include <vector>

namespace kinv {
namespace {

template <class T>
class FFT : public ::testing::Test {};
TYPED_TEST_SUITE(FFT, test::ScalarTypes);

using cld = std::complex<long double>;

// The DFT of every grid of the batch, in long double, straight from the definition.
std::vector<cld> naive_dft(const std::vector<cld>& in, const fft::Geometry& g, fft::Direction d,
                           fft::Normalization norm) {
  const std::int64_t n0 = g.rank == 3 ? g.extents[0] : 1;
  const std::int64_t n1 = g.extents[static_cast<std::size_t>(g.rank - 2)];
  const std::int64_t n2 = g.extents[static_cast<std::size_t>(g.rank - 1)];
  const std::int64_t P = n0 * n1 * n2;
  const long double sign = d == fft::Direction::Forward ? -1.0L : 1.0L;
  const long double two_pi = 2.0L * 3.141592653589793238462643383279502884L;
  const long double scale =
      norm == fft::Normalization::Ortho ? 1.0L / std::sqrt((long double)P) : 1.0L;
  std::vector<cld> out(in.size());
  for (std::int64_t b = 0; b < g.batch; ++b)
    for (std::int64_t k0 = 0; k0 < n0; ++k0)
      for (std::int64_t k1 = 0; k1 < n1; ++k1)
        for (std::int64_t k2 = 0; k2 < n2; ++k2) {
          cld s = 0;
          for (std::int64_t j0 = 0; j0 < n0; ++j0)
            for (std::int64_t j1 = 0; j1 < n1; ++j1)
              for (std::int64_t j2 = 0; j2 < n2; ++j2) {
                const long double ph =
                    sign * two_pi *
                    ((long double)(k0 * j0 % n0) / n0 + (long double)(k1 * j1 % n1) / n1 +
                     (long double)(k2 * j2 % n2) / n2);
                s += in[static_cast<std::size_t>(b * P + (j0 * n1 + j1) * n2 + j2)] *
                     cld(std::cos(ph), std::sin(ph));
              }
          out[static_cast<std::size_t>(b * P + (k0 * n1 + k1) * n2 + k2)] = s * scale;
        }
  return out;
}

template <class T>
fft::ComplexView<T> to_device(const std::vector<cld>& v) {
  fft::ComplexView<T> d("test::complex", v.size());
  auto h = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < v.size(); ++i)
    h(i) = Kokkos::complex<T>(static_cast<T>(v[i].real()), static_cast<T>(v[i].imag()));
  Kokkos::deep_copy(d, h);
  return d;
}

template <class T>
std::vector<cld> to_host(const fft::ComplexView<T>& d) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
  std::vector<cld> v(d.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = cld(h(i).real(), h(i).imag());
  return v;
}

std::vector<cld> random_complex(std::size_t n, std::uint64_t seed) {
  std::vector<cld> v(n);
  for (auto& z : v) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    const double a = double(seed >> 11) / double(1ULL << 53);
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    const double b = double(seed >> 11) / double(1ULL << 53);
    z = cld(2 * a - 1, 2 * b - 1);
  }
  return v;
}

long double norm2(const std::vector<cld>& v) {
  long double s = 0;
  for (const auto& z : v) s += std::norm(z);
  return std::sqrt(s);
}

// max |a - b| / ||b|| in units of epsilon of T.
template <class T>
double error_in_eps(const std::vector<cld>& a, const std::vector<cld>& b) {
  long double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return static_cast<double>(m / std::max(norm2(b), 1e-30L) / std::numeric_limits<T>::epsilon());
}

const std::vector<std::pair<Shape, std::int64_t>> geometries = {
    {Shape{4, 6}, 3},    {Shape{5, 5}, 1},    {Shape{3, 7}, 2},   {Shape{1, 8}, 2},
    {Shape{2, 3, 4}, 2}, {Shape{3, 3, 5}, 1}, {Shape{4, 1, 2}, 3}};

TYPED_TEST(FFT, MatchesTheNaiveDFT) {
  using T = TypeParam;
  fft::PlanCache<T> plans;
  std::uint64_t seed = 1;
  for (const auto& gb : geometries) {
    const fft::Geometry g = fft::Geometry::make(gb.first, gb.second);
    for (auto d : {fft::Direction::Forward, fft::Direction::Inverse})
      for (auto norm : {fft::Normalization::None, fft::Normalization::Ortho})
        for (bool in_place : {false, true}) {
          SCOPED_TRACE(g.to_string() + (d == fft::Direction::Forward ? " forward" : " inverse") +
                       (norm == fft::Normalization::Ortho ? " ortho" : " none") +
                       (in_place ? " in place" : " out of place"));
          const auto x = random_complex(static_cast<std::size_t>(g.size()), seed++);
          const auto in = to_device<T>(x);
          const fft::ComplexView<T> out =
              in_place ? in : fft::ComplexView<T>("out", static_cast<std::size_t>(g.size()));
          plans.transform(ExecutionSpace(), in, out, g, d, norm);
          Kokkos::fence();
          EXPECT_LE(error_in_eps<T>(to_host(out), naive_dft(x, g, d, norm)), 8.0);
        }
  }
}

// Real transforms: the half spectrum is the first n / 2 + 1 entries along the last axis of the
// DFT of the real grid, the input is left as it was, and complex-to-real of the full Hermitian
// DFT's half gives N times the grid back.
TYPED_TEST(FFT, RealTransformsMatchTheNaiveDFT) {
  using T = TypeParam;
  fft::PlanCache<T> plans;
  std::uint64_t seed = 50;
  for (const auto& gb : geometries) {
    const fft::Geometry g = fft::Geometry::make(gb.first, gb.second);
    SCOPED_TRACE(g.to_string());
    auto x = random_complex(static_cast<std::size_t>(g.size()), seed++);
    for (auto& z : x) z = cld(z.real(), 0);
    const std::vector<cld> X = naive_dft(x, g, fft::Direction::Forward, fft::Normalization::None);
    const std::int64_t n = g.extents[static_cast<std::size_t>(g.rank - 1)], m = n / 2 + 1;
    const std::int64_t rows = g.size() / n, half = g.half_points() * g.batch;
    ASSERT_EQ(half, rows * m);
    std::vector<cld> expected(static_cast<std::size_t>(half));
    std::vector<T> xr(x.size());
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t k = 0; k < m; ++k)
        expected[static_cast<std::size_t>(r * m + k)] = X[static_cast<std::size_t>(r * n + k)];
    for (std::size_t i = 0; i < x.size(); ++i) xr[i] = static_cast<T>(x[i].real());

    const Tensor<T> real = from_vector<T>("real", Shape{g.size()}, xr);
    const fft::ComplexView<T> spectrum("spectrum", static_cast<std::size_t>(half));
    plans.transform_real(ExecutionSpace(), real.data(), spectrum.data(), g,
                         fft::Direction::Forward);
    Kokkos::fence();
    EXPECT_LE(error_in_eps<T>(to_host(spectrum), expected), 8.0);
    EXPECT_EQ(to_vector(real), xr);  // real-to-complex leaves its input alone

    const Tensor<T> back("back", Shape{g.size()});
    plans.transform_real(ExecutionSpace(), back.data(), spectrum.data(), g,
                         fft::Direction::Inverse);
    Kokkos::fence();
    const std::vector<T> b = to_vector(back);
    std::vector<cld> scaled(b.size()), reference(x.size());
    for (std::size_t i = 0; i < b.size(); ++i) {
      scaled[i] = cld(b[i], 0);
      reference[i] = x[i] * static_cast<long double>(g.points());
    }
    EXPECT_LE(error_in_eps<T>(scaled, reference), 16.0);
  }
  EXPECT_EQ(plans.num_plans(), 2 * geometries.size());
}

TYPED_TEST(FFT, RoundTripAndParseval) {
  using T = TypeParam;
  fft::PlanCache<T> plans;
  std::uint64_t seed = 100;
  for (const auto& gb : geometries) {
    const fft::Geometry g = fft::Geometry::make(gb.first, gb.second);
    SCOPED_TRACE(g.to_string());
    const auto x = random_complex(static_cast<std::size_t>(g.size()), seed++);
    const auto v = to_device<T>(x);
    const auto x_T = to_host(v);  // x rounded to T
    plans.transform(ExecutionSpace(), v, v, g, fft::Direction::Forward);
    Kokkos::fence();
    const auto fx = to_host(v);
    // Unitary per grid, so on the whole batch.
    EXPECT_LE(std::fabs(static_cast<double>(norm2(fx) - norm2(x_T))) /
                  static_cast<double>(norm2(x_T)) / std::numeric_limits<T>::epsilon(),
              8.0);
    plans.transform(ExecutionSpace(), v, v, g, fft::Direction::Inverse);
    Kokkos::fence();
    EXPECT_LE(error_in_eps<T>(to_host(v), x_T), 8.0);
  }
}

TYPED_TEST(FFT, InterleavedPairsGiveTheSameBits) {
  using T = TypeParam;
  fft::PlanCache<T> plans;
  const fft::Geometry g = fft::Geometry::make(Shape{5, 6}, 2);
  const auto x = random_complex(static_cast<std::size_t>(g.size()), 7);
  const auto a = to_device<T>(x);
  const auto b = to_device<T>(x);
  plans.transform(ExecutionSpace(), a, a, g, fft::Direction::Forward);
  Kokkos::View<T*, MemorySpace> pairs(reinterpret_cast<T*>(b.data()),
                                      static_cast<std::size_t>(2 * g.size()));
  plans.transform(ExecutionSpace(), pairs, pairs, g, fft::Direction::Forward);
  Kokkos::fence();
  const auto ha = to_host(a), hb = to_host(b);
  for (std::size_t i = 0; i < ha.size(); ++i) ASSERT_EQ(ha[i], hb[i]) << i;
}

TYPED_TEST(FFT, PlansAreCachedPerGeometryDirectionAndPlacement) {
  using T = TypeParam;
  fft::PlanCache<T> plans;
  const fft::Geometry g = fft::Geometry::make(Shape{8, 8}, 2);
  fft::ComplexView<T> v("v", static_cast<std::size_t>(g.size()));
  fft::ComplexView<T> w("w", static_cast<std::size_t>(g.size()));
  for (int rep = 0; rep < 3; ++rep)
    plans.transform(ExecutionSpace(), v, v, g, fft::Direction::Forward);
  EXPECT_EQ(plans.num_plans(), 1u);
  plans.transform(ExecutionSpace(), v, v, g, fft::Direction::Inverse);
  EXPECT_EQ(plans.num_plans(), 2u);
  plans.transform(ExecutionSpace(), v, w, g, fft::Direction::Forward);
  EXPECT_EQ(plans.num_plans(), 3u);
  const fft::Geometry g1 = fft::Geometry::make(Shape{8, 8}, 1);
  plans.transform(ExecutionSpace(), v.data(), v.data(), g1, fft::Direction::Forward,
                  fft::Normalization::Ortho);
  EXPECT_EQ(plans.num_plans(), 4u);
  plans.transform(ExecutionSpace(), v, v, g, fft::Direction::Forward);
  EXPECT_EQ(plans.num_plans(), 4u);
  EXPECT_FALSE(fft::backend_name().empty());
}

TYPED_TEST(FFT, BadInput) {
  using T = TypeParam;
  fft::PlanCache<T> plans;
  EXPECT_THROW(fft::Geometry::make(Shape{4}, 1), ValueError);
  EXPECT_THROW(fft::Geometry::make(Shape{2, 2, 2, 2}, 1), ValueError);
  EXPECT_THROW(fft::Geometry::make(Shape{0, 4}, 1), ValueError);
  EXPECT_THROW(fft::Geometry::make(Shape{4, 4}, 0), ValueError);
  const fft::Geometry g = fft::Geometry::make(Shape{4, 4}, 2);
  fft::ComplexView<T> small("small", 16), right("right", 32);
  EXPECT_THROW(plans.transform(ExecutionSpace(), small, right, g, fft::Direction::Forward),
               ShapeError);
  Kokkos::View<T*, MemorySpace> pairs("pairs", 32);  // 16 complex values, 32 needed
  EXPECT_THROW(plans.transform(ExecutionSpace(), pairs, pairs, g, fft::Direction::Forward),
               ShapeError);
  EXPECT_EQ(plans.num_plans(), 0u);
}

}  // namespace
}  // namespace kinv
