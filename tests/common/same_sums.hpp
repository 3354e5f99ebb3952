// Comparing two kernels that sum the same terms in the same order. Host compilers (no FMA
// contraction at kinv's flags) give the same bits; device compilers may fuse a multiply and an
// add in one kernel and not in the other, so on GPUs the two agree to a few rounding errors.
#pragma once

#include "test_helpers.hpp"

#include <Kokkos_Core.hpp>

#include <limits>
#include <type_traits>

namespace kinv {
namespace test {

constexpr bool sums_are_bitwise =
    std::is_same<ExecutionSpace::memory_space, Kokkos::HostSpace>::value;

/// a and b hold the same sums: bitwise on host spaces, within 8 ulps of the largest value (and
/// of the number of terms folded into it, at most `terms`) on devices.
template <class T>
bool same_sums(const Tensor<T>& a, const Tensor<T>& b, double terms = 64) {
  if (sums_are_bitwise) return bitwise_equal(a, b);
  if (a.shape() != b.shape()) return false;
  double peak = 0;
  for (T v : to_vector(b)) peak = std::max(peak, static_cast<double>(std::abs(v)));
  return max_abs_diff(a, b) <= 8 * terms * std::numeric_limits<T>::epsilon() * peak;
}

/// The scalar form: a and b are the same sum of a few terms.
template <class T>
bool same_sum(T a, T b) {
  if (sums_are_bitwise) return a == b;
  return std::abs(static_cast<double>(a) - static_cast<double>(b)) <=
         8 * std::numeric_limits<T>::epsilon() * std::max(std::abs(double(a)), std::abs(double(b)));
}

}  // namespace test
}  // namespace kinv
