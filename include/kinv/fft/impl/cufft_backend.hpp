// cuFFT plans for the CUDA execution space, stream-ordered on the space's stream, with their work
// areas given by PlanCache.
#pragma once

#include <kinv/fft/fft.hpp>

#include <cufft.h>

#include <climits>
#include <cstddef>
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

// A plan without its own work area (PlanCache gives its plans one shared area, a Kokkos
// allocation, so that it is counted and reused); `work` receives the bytes the plan needs.
inline cufftHandle cufft_make_plan(int rank, int* n, int idist, int odist, cufftType type,
                                   int batch, std::size_t& work, const Geometry& g) {
  cufftHandle plan = 0;
  cufft_check(cufftCreate(&plan), "cufftCreate", g);
  cufftResult r = cufftSetAutoAllocation(plan, 0);
  if (r == CUFFT_SUCCESS)
    r = cufftMakePlanMany(plan, rank, n, nullptr, 1, idist, nullptr, 1, odist, type, batch, &work);
  if (r != CUFFT_SUCCESS) {
    cufftDestroy(plan);
    cufft_check(r, "cufftMakePlanMany", g);
  }
  return plan;
}

}  // namespace impl

template <class T>
struct Plan<T>::Impl {
  static constexpr bool is_double = std::is_same<T, double>::value;
  cufftHandle plan = 0;
  int sign = CUFFT_FORWARD;
  Geometry geometry;
  std::size_t work = 0;

  Impl(const Geometry& g, Direction d, Kokkos::complex<T>*, Kokkos::complex<T>*) : geometry(g) {
    if (g.points() > INT_MAX || g.batch > INT_MAX)
      throw ValueError("kinv::fft: cuFFT plans take int extents; " + g.to_string() +
                       " is too large");
    int n[3];
    for (int i = 0; i < g.rank; ++i)
      n[i] = static_cast<int>(g.extents[static_cast<std::size_t>(i)]);
    const int dist = static_cast<int>(g.points());
    sign = d == Direction::Forward ? CUFFT_FORWARD : CUFFT_INVERSE;
    plan = impl::cufft_make_plan(g.rank, n, dist, dist, is_double ? CUFFT_Z2Z : CUFFT_C2C,
                                 static_cast<int>(g.batch), work, g);
  }
  ~Impl() { cufftDestroy(plan); }
  void set_work_area(void* area) {
    impl::cufft_check(cufftSetWorkArea(plan, area), "cufftSetWorkArea", geometry);
  }
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
  std::size_t work = 0;

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
    plan = impl::cufft_make_plan(g.rank, n, forward ? rdist : cdist, forward ? cdist : rdist, type,
                                 static_cast<int>(g.batch), work, g);
  }
  ~Impl() { cufftDestroy(plan); }
  void set_work_area(void* area) {
    impl::cufft_check(cufftSetWorkArea(plan, area), "cufftSetWorkArea", geometry);
  }
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
