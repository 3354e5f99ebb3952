// cuFFT plans for the CUDA execution space, stream-ordered on the space's stream.
#pragma once

#include <kinv/fft/fft.hpp>

#include <cufft.h>

#include <climits>
#include <type_traits>

namespace kinv {
namespace fft {
namespace impl {

inline const char* backend_name() { return "cuFFT"; }

inline void cufft_check(cufftResult r, const char* what, const Geometry& g) {
  if (r != CUFFT_SUCCESS)
    throw Error(std::string("kinv::fft: ") + what + " failed with cufftResult " +
                std::to_string(static_cast<int>(r)) + " for " + g.to_string());
}

}  // namespace impl

template <class T>
struct Plan<T>::Impl {
  static constexpr bool is_double = std::is_same<T, double>::value;
  cufftHandle plan = 0;
  int sign = CUFFT_FORWARD;
  Geometry geometry;

  Impl(const Geometry& g, Direction d, Kokkos::complex<T>*, Kokkos::complex<T>*) : geometry(g) {
    if (g.points() > INT_MAX || g.batch > INT_MAX)
      throw ValueError("kinv::fft: cuFFT plans take int extents; " + g.to_string() +
                       " is too large");
    int n[3];
    for (int i = 0; i < g.rank; ++i)
      n[i] = static_cast<int>(g.extents[static_cast<std::size_t>(i)]);
    const int dist = static_cast<int>(g.points());
    sign = d == Direction::Forward ? CUFFT_FORWARD : CUFFT_INVERSE;
    impl::cufft_check(cufftPlanMany(&plan, g.rank, n, nullptr, 1, dist, nullptr, 1, dist,
                                    is_double ? CUFFT_Z2Z : CUFFT_C2C, static_cast<int>(g.batch)),
                      "cufftPlanMany", g);
  }
  ~Impl() { cufftDestroy(plan); }
  void execute(const ExecutionSpace& space, Kokkos::complex<T>* in, Kokkos::complex<T>* out) const {
    impl::cufft_check(cufftSetStream(plan, space.cuda_stream()), "cufftSetStream", geometry);
    if constexpr (is_double)
      impl::cufft_check(cufftExecZ2Z(plan, reinterpret_cast<cufftDoubleComplex*>(in),
                                     reinterpret_cast<cufftDoubleComplex*>(out), sign),
                        "cufftExecZ2Z", geometry);
    else
      impl::cufft_check(cufftExecC2C(plan, reinterpret_cast<cufftComplex*>(in),
                                     reinterpret_cast<cufftComplex*>(out), sign),
                        "cufftExecC2C", geometry);
  }
};

}  // namespace fft
}  // namespace kinv
