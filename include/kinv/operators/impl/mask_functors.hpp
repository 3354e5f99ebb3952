// Kernels of masking operators (Inpainting): out = m * in, with the mask broadcast to the input.
#pragma once

#include <kinv/core/tensor.hpp>

#include <cstdint>
#include <type_traits>

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

/// Elements of the mask's period one task of MaskMultiplyBlocks covers.
constexpr std::int64_t mask_block = 2048;

/// The periodic case of MaskMultiply without a division per element: task t covers the
/// pixels [p0, p0 + mask_block) of the period (p0 = t mask_block) in every one of the `rows`
/// repetitions, unit-stride loops the compiler vectorises. The mask block is read from memory
/// once and reused from cache for every repetition (one task per (repetition, block) would
/// stream the whole mask once per repetition). For host backends; GPUs keep MaskMultiply (one
/// thread per element coalesces, the division is hidden behind memory there).
template <class T, bool Accumulate>
struct MaskMultiplyBlocks {
  Kokkos::View<const T*, MemorySpace> in;
  Kokkos::View<const T*, MemorySpace> mask;
  Kokkos::View<T*, MemorySpace> out;
  std::int64_t period, rows;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t t) const {
    const std::int64_t p0 = t * mask_block;
    const std::int64_t len = period - p0 < mask_block ? period - p0 : mask_block;
    const T* m = mask.data() + p0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* a = in.data() + r * period + p0;
      T* o = out.data() + r * period + p0;
      if (Accumulate)
        for (std::int64_t p = 0; p < len; ++p) o[p] += m[p] * a[p];
      else
        for (std::int64_t p = 0; p < len; ++p) o[p] = m[p] * a[p];
    }
  }
};

/// out (+)= mask * in with the broadcast b, on `space`, labelled `label`.
template <class T>
void mask_multiply(const char* label, const ExecutionSpace& space, const Tensor<T>& in,
                   const Tensor<T>& mask, const Tensor<T>& out, const MaskBroadcast& b,
                   bool accumulate) {
  const std::int64_t n = in.size();
  if constexpr (runs_on_host) {
    if (b.periodic && n > 0) {
      const std::int64_t blocks = (b.period + mask_block - 1) / mask_block;
      const std::int64_t rows = n / b.period;
      const auto policy = range(space, blocks);
      if (accumulate)
        Kokkos::parallel_for(
            label, policy,
            MaskMultiplyBlocks<T, true>{in.view(), mask.view(), out.view(), b.period, rows});
      else
        Kokkos::parallel_for(
            label, policy,
            MaskMultiplyBlocks<T, false>{in.view(), mask.view(), out.view(), b.period, rows});
      return;
    }
  }
  const auto policy = range(space, n);
  if (accumulate)
    Kokkos::parallel_for(label, policy,
                         MaskMultiply<T, true>{in.view(), mask.view(), out.view(), b});
  else
    Kokkos::parallel_for(label, policy,
                         MaskMultiply<T, false>{in.view(), mask.view(), out.view(), b});
}

}  // namespace impl
}  // namespace kinv
