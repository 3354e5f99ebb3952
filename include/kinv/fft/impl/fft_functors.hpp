// Small kernels of the FFT layer.
#pragma once

#include <kinv/core/types.hpp>

namespace kinv {
namespace fft {
namespace impl {

/// v *= s.
template <class T>
struct ScaleComplex {
  Kokkos::View<Kokkos::complex<T>*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> v;
  T s;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const { v(i) *= s; }
};

}  // namespace impl
}  // namespace fft
}  // namespace kinv
