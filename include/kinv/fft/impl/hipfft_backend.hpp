// hipFFT plans for the HIP execution space, stream-ordered on the space's stream.
#pragma once

#include <kinv/fft/fft.hpp>

#include <hipfft/hipfft.h>

#include <climits>
#include <cstddef>
#include <type_traits>

namespace kinv {
namespace fft {
namespace impl {

inline const char* backend_name() { return "hipFFT"; }

inline void hipfft_check(hipfftResult r, const char* what, const Geometry& g) {
  if (r != HIPFFT_SUCCESS)
    throw Error(std::string("kinv::fft: ") + what + " failed with hipfftResult " +
                std::to_string(static_cast<int>(r)) + " for " + g.to_string());
}

}  // namespace impl

template <class T>
struct Plan<T>::Impl {
  // hipFFT plans keep their own work areas (auto allocation).
  std::size_t work = 0;
  void set_work_area(void*) {}
  static constexpr bool is_double = std::is_same<T, double>::value;
  hipfftHandle plan = nullptr;
  int sign = HIPFFT_FORWARD;
  Geometry geometry;

  Impl(const Geometry& g, Direction d, Kokkos::complex<T>*, Kokkos::complex<T>*) : geometry(g) {
    if (g.points() > INT_MAX || g.batch > INT_MAX)
      throw ValueError("kinv::fft: hipFFT plans take int extents; " + g.to_string() +
                       " is too large");
    int n[3];
    for (int i = 0; i < g.rank; ++i)
      n[i] = static_cast<int>(g.extents[static_cast<std::size_t>(i)]);
    const int dist = static_cast<int>(g.points());
    sign = d == Direction::Forward ? HIPFFT_FORWARD : HIPFFT_BACKWARD;
    impl::hipfft_check(
        hipfftPlanMany(&plan, g.rank, n, nullptr, 1, dist, nullptr, 1, dist,
                       is_double ? HIPFFT_Z2Z : HIPFFT_C2C, static_cast<int>(g.batch)),
        "hipfftPlanMany", g);
  }
  ~Impl() { hipfftDestroy(plan); }
  void execute(const ExecutionSpace& space, Kokkos::complex<T>* in, Kokkos::complex<T>* out) const {
    impl::hipfft_check(hipfftSetStream(plan, space.hip_stream()), "hipfftSetStream", geometry);
    if constexpr (is_double)
      impl::hipfft_check(hipfftExecZ2Z(plan, reinterpret_cast<hipfftDoubleComplex*>(in),
                                       reinterpret_cast<hipfftDoubleComplex*>(out), sign),
                         "hipfftExecZ2Z", geometry);
    else
      impl::hipfft_check(hipfftExecC2C(plan, reinterpret_cast<hipfftComplex*>(in),
                                       reinterpret_cast<hipfftComplex*>(out), sign),
                         "hipfftExecC2C", geometry);
  }
};

template <class T>
struct RealPlan<T>::Impl {
  // hipFFT plans keep their own work areas (auto allocation).
  std::size_t work = 0;
  void set_work_area(void*) {}
  static constexpr bool is_double = std::is_same<T, double>::value;
  hipfftHandle plan = nullptr;
  Direction direction;
  Geometry geometry;

  Impl(const Geometry& g, Direction d, T*, Kokkos::complex<T>*) : direction(d), geometry(g) {
    if (g.points() > INT_MAX || g.batch > INT_MAX)
      throw ValueError("kinv::fft: hipFFT plans take int extents; " + g.to_string() +
                       " is too large");
    int n[3];
    for (int i = 0; i < g.rank; ++i)
      n[i] = static_cast<int>(g.extents[static_cast<std::size_t>(i)]);
    const int rdist = static_cast<int>(g.points()), cdist = static_cast<int>(g.half_points());
    const bool forward = d == Direction::Forward;
    const auto type =
        forward ? (is_double ? HIPFFT_D2Z : HIPFFT_R2C) : (is_double ? HIPFFT_Z2D : HIPFFT_C2R);
    impl::hipfft_check(
        hipfftPlanMany(&plan, g.rank, n, nullptr, 1, forward ? rdist : cdist, nullptr, 1,
                       forward ? cdist : rdist, type, static_cast<int>(g.batch)),
        "hipfftPlanMany (real)", g);
  }
  ~Impl() { hipfftDestroy(plan); }
  void execute(const ExecutionSpace& space, T* real, Kokkos::complex<T>* spectrum) const {
    impl::hipfft_check(hipfftSetStream(plan, space.hip_stream()), "hipfftSetStream", geometry);
    const bool forward = direction == Direction::Forward;
    if constexpr (is_double) {
      auto* r = reinterpret_cast<hipfftDoubleReal*>(real);
      auto* c = reinterpret_cast<hipfftDoubleComplex*>(spectrum);
      if (forward)
        impl::hipfft_check(hipfftExecD2Z(plan, r, c), "hipfftExecD2Z", geometry);
      else
        impl::hipfft_check(hipfftExecZ2D(plan, c, r), "hipfftExecZ2D", geometry);
    } else {
      auto* r = reinterpret_cast<hipfftReal*>(real);
      auto* c = reinterpret_cast<hipfftComplex*>(spectrum);
      if (forward)
        impl::hipfft_check(hipfftExecR2C(plan, r, c), "hipfftExecR2C", geometry);
      else
        impl::hipfft_check(hipfftExecC2R(plan, c, r), "hipfftExecC2R", geometry);
    }
  }
};

}  // namespace fft
}  // namespace kinv
