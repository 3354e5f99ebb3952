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

template <class T>
struct RealPlan<T>::Impl {
  static constexpr bool is_double = std::is_same<T, double>::value;
  cufftHandle plan = 0;
  Direction direction;
  Geometry geometry;

  Impl(const Geometry& g, Direction d, T*, Kokkos::complex<T>*) : direction(d), geometry(g) {
    if (g.points() > INT_MAX || g.batch > INT_MAX)
      throw ValueError("kinv::fft: cuFFT plans take int extents; " + g.to_string() +
                       " is too large");
    int n[3];
    for (int i = 0; i < g.rank; ++i)
      n[i] = static_cast<int>(g.extents[static_cast<std::size_t>(i)]);
    const int rdist = static_cast<int>(g.points()), cdist = static_cast<int>(g.half_points());
    const bool forward = d == Direction::Forward;
    const auto type =
        forward ? (is_double ? CUFFT_D2Z : CUFFT_R2C) : (is_double ? CUFFT_Z2D : CUFFT_C2R);
    impl::cufft_check(cufftPlanMany(&plan, g.rank, n, nullptr, 1, forward ? rdist : cdist, nullptr,
                                    1, forward ? cdist : rdist, type, static_cast<int>(g.batch)),
                      "cufftPlanMany (real)", g);
  }
  ~Impl() { cufftDestroy(plan); }
  void execute(const ExecutionSpace& space, T* real, Kokkos::complex<T>* spectrum) const {
    impl::cufft_check(cufftSetStream(plan, space.cuda_stream()), "cufftSetStream", geometry);
    const bool forward = direction == Direction::Forward;
    if constexpr (is_double) {
      auto* r = reinterpret_cast<cufftDoubleReal*>(real);
      auto* c = reinterpret_cast<cufftDoubleComplex*>(spectrum);
      if (forward)
        impl::cufft_check(cufftExecD2Z(plan, r, c), "cufftExecD2Z", geometry);
      else
        impl::cufft_check(cufftExecZ2D(plan, c, r), "cufftExecZ2D", geometry);
    } else {
      auto* r = reinterpret_cast<cufftReal*>(real);
      auto* c = reinterpret_cast<cufftComplex*>(spectrum);
      if (forward)
        impl::cufft_check(cufftExecR2C(plan, r, c), "cufftExecR2C", geometry);
      else
        impl::cufft_check(cufftExecC2R(plan, c, r), "cufftExecC2R", geometry);
    }
  }
};

}  // namespace fft
}  // namespace kinv
