// Helpers shared by kinv's tests: deterministic random tensors, host-side dot products and
// the adjoint dot test.
#pragma once

#include <kinv/core/rng.hpp>
#include <kinv/core/tensor.hpp>
#include <kinv/physics/physics.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace kinv {
namespace test {

using ScalarTypes = ::testing::Types<float, double>;

template <class T>
struct UniformFill {
  Kokkos::View<T*, MemorySpace> v;
  RandomStream s;
  T lo, hi;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    v(i) = lo + (hi - lo) * static_cast<T>(uniform(s, static_cast<std::uint64_t>(i)));
  }
};

/// A tensor of uniform values in [lo, hi), a pure function of (shape, seed).
template <class T>
Tensor<T> random_tensor(const Shape& shape, std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
  auto t = Tensor<T>::uninitialized("test::random", shape);
  RandomStream s;
  s.seed = seed;
  s.operator_index = 977;
  Kokkos::parallel_for("kinv::test::random_tensor", impl::range(ExecutionSpace(), t.size()),
                       UniformFill<T>{t.view(), s, lo, hi});
  Kokkos::fence();
  return t;
}

/// <a, b> accumulated in long double on the host.
template <class T>
long double dot(const Tensor<T>& a, const Tensor<T>& b) {
  const auto va = to_vector(a);
  const auto vb = to_vector(b);
  long double s = 0;
  for (std::size_t i = 0; i < va.size(); ++i)
    s += static_cast<long double>(va[i]) * static_cast<long double>(vb[i]);
  return s;
}

template <class T>
long double norm(const Tensor<T>& a) {
  return std::sqrt(test::dot(a, a));
}

/// |<A x, y> - <x, A^T y>| / (||A x|| ||y||), in units of the scalar type's epsilon. An exact
/// adjoint gives a few units (the operators' own rounding); a wrong one gives ~1/eps.
template <class T>
double adjoint_mismatch_ulps(const LinearPhysics<T>& op, const Shape& x_shape,
                             std::uint64_t seed = 1) {
  const Tensor<T> x = random_tensor<T>(x_shape, seed);
  const Tensor<T> y = random_tensor<T>(op.output_shape(x_shape), seed + 1);
  const Tensor<T> Ax = op.A(x);
  const Tensor<T> ATy = op.A_adjoint(y);
  Kokkos::fence();
  const long double lhs = test::dot(Ax, y);
  const long double rhs = test::dot(x, ATy);
  const long double scale = std::max(norm(Ax) * norm(y), norm(x) * norm(ATy));
  if (scale == 0) return 0.0;
  return static_cast<double>(std::fabs(lhs - rhs) / scale / std::numeric_limits<T>::epsilon());
}

/// Largest |a_i - b_i|.
template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  const auto va = to_vector(a);
  const auto vb = to_vector(b);
  if (va.size() != vb.size()) return std::numeric_limits<double>::infinity();
  double m = 0;
  for (std::size_t i = 0; i < va.size(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(va[i]) - static_cast<double>(vb[i])));
  return m;
}

/// max |a_i - b_i| / max |b_i|, in units of T's epsilon.
template <class T>
double relative_diff_in_eps(const Tensor<T>& a, const Tensor<T>& b) {
  const auto va = to_vector(a), vb = to_vector(b);
  EXPECT_EQ(va.size(), vb.size());
  double diff = 0, scale = std::numeric_limits<double>::min();
  for (std::size_t i = 0; i < va.size() && i < vb.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(va[i]) - static_cast<double>(vb[i])));
    scale = std::max(scale, std::fabs(static_cast<double>(vb[i])));
  }
  return diff / scale / std::numeric_limits<T>::epsilon();
}

/// Whether a and b hold the same bits (and shapes).
template <class T>
bool bitwise_equal(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.shape() != b.shape()) return false;
  const auto va = to_vector(a);
  const auto vb = to_vector(b);
  return std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0;
}

/// Whether two lists hold as many tensors, each bitwise equal to its counterpart.
template <class T>
bool bitwise_equal(const std::vector<Tensor<T>>& a, const std::vector<Tensor<T>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!bitwise_equal(a[i], b[i])) return false;
  return true;
}

/// max |a - b| <= tol (1 + ||b||): equal to rounding, for sums computed in another order.
template <class T>
bool close_to(const Tensor<T>& a, const Tensor<T>& b, double tol) {
  return a.shape() == b.shape() && max_abs_diff(a, b) <= tol * (1.0 + static_cast<double>(norm(b)));
}

}  // namespace test
}  // namespace kinv
