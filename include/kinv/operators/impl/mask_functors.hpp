// Kernels of masking operators (Inpainting): out = m * in, with the mask broadcast to the input.
#pragma once

#include <kinv/core/tensor.hpp>

namespace kinv {
namespace impl {

/// How a mask of rank <= R maps onto a row-major tensor: either the mask repeats with period
/// `period` (it covers the trailing axes exactly), or every axis has its own mask stride.
struct MaskBroadcast {
  static constexpr int max_rank = Shape::max_rank;
  bool periodic = true;
  std::int64_t period = 1;
  int rank = 0;
  std::int64_t extent[max_rank] = {};
  std::int64_t mask_stride[max_rank] = {};  // 0 on broadcast axes

  KOKKOS_INLINE_FUNCTION std::int64_t mask_index(std::int64_t i) const {
    if (periodic) return i % period;
    std::int64_t m = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const std::int64_t e = extent[d];
      m += (i % e) * mask_stride[d];
      i /= e;
    }
    return m;
  }
};

/// Whether `mask` broadcasts to `input` (numpy rules, right-aligned), and how.
inline bool make_mask_broadcast(const Shape& mask, const Shape& input, MaskBroadcast& b) {
  if (mask.rank() > input.rank()) return false;
  const int off = input.rank() - mask.rank();
  for (int d = 0; d < mask.rank(); ++d)
    if (mask[d] != 1 && mask[d] != input[off + d]) return false;
  // Periodic when, after dropping leading 1s, the mask equals the trailing input extents.
  int first = 0;
  while (first < mask.rank() && mask[first] == 1) ++first;
  b = MaskBroadcast{};
  b.periodic = true;
  for (int d = first; d < mask.rank(); ++d)
    if (mask[d] != input[off + d]) b.periodic = false;
  b.period = mask.size() > 0 ? mask.size() : 1;
  b.rank = input.rank();
  std::int64_t stride = 1;
  for (int d = input.rank() - 1; d >= 0; --d) {
    b.extent[d] = input[d] > 0 ? input[d] : 1;
    const int md = d - off;
    b.mask_stride[d] = (md >= 0 && mask[md] != 1) ? stride : 0;
    if (md >= 0) stride *= mask[md];
  }
  return true;
}

template <class T, bool Accumulate>
struct MaskMultiply {
  Kokkos::View<const T*, MemorySpace> in;
  Kokkos::View<const T*, MemorySpace> mask;
  Kokkos::View<T*, MemorySpace> out;
  MaskBroadcast b;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const T v = mask(b.mask_index(i)) * in(i);
    if (Accumulate)
      out(i) += v;
    else
      out(i) = v;
  }
};

}  // namespace impl
}  // namespace kinv
