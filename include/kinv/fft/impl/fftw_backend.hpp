// FFTW 3 plans for host execution spaces (fftw3 for double, fftw3f for float).
#pragma once

#include <kinv/fft/fft.hpp>

#include <fftw3.h>

#include <climits>
#include <mutex>

namespace kinv {
namespace fft {
namespace impl {

inline const char* backend_name() { return "FFTW"; }

// FFTW's planner is not thread safe; executing plans is.
inline std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

template <class T>
struct Fftw;

template <>
struct Fftw<double> {
  using plan = fftw_plan;
  using complex = fftw_complex;
  static plan plan_many(int rank, const int* n, int howmany, complex* in, complex* out, int sign) {
    const int dist = [&] {
      int p = 1;
      for (int i = 0; i < rank; ++i) p *= n[i];
      return p;
    }();
    return fftw_plan_many_dft(rank, n, howmany, in, nullptr, 1, dist, out, nullptr, 1, dist, sign,
                              FFTW_ESTIMATE);
  }
  static void execute(plan p, complex* in, complex* out) { fftw_execute_dft(p, in, out); }
  static void destroy(plan p) { fftw_destroy_plan(p); }
};

template <>
struct Fftw<float> {
  using plan = fftwf_plan;
  using complex = fftwf_complex;
  static plan plan_many(int rank, const int* n, int howmany, complex* in, complex* out, int sign) {
    const int dist = [&] {
      int p = 1;
      for (int i = 0; i < rank; ++i) p *= n[i];
      return p;
    }();
    return fftwf_plan_many_dft(rank, n, howmany, in, nullptr, 1, dist, out, nullptr, 1, dist, sign,
                               FFTW_ESTIMATE);
  }
  static void execute(plan p, complex* in, complex* out) { fftwf_execute_dft(p, in, out); }
  static void destroy(plan p) { fftwf_destroy_plan(p); }
};

}  // namespace impl

template <class T>
struct Plan<T>::Impl {
  using F = impl::Fftw<T>;
  typename F::plan plan = nullptr;

  Impl(const Geometry& g, Direction d, Kokkos::complex<T>* in, Kokkos::complex<T>* out) {
    if (g.points() > INT_MAX || g.batch > INT_MAX)
      throw ValueError("kinv::fft: FFTW plans take int extents; " + g.to_string() +
                       " is too large");
    int n[3];
    for (int i = 0; i < g.rank; ++i)
      n[i] = static_cast<int>(g.extents[static_cast<std::size_t>(i)]);
    std::lock_guard<std::mutex> lock(impl::fftw_planner_mutex());
    // FFTW_ESTIMATE leaves the arrays untouched while planning.
    plan = F::plan_many(g.rank, n, static_cast<int>(g.batch),
                        reinterpret_cast<typename F::complex*>(in),
                        reinterpret_cast<typename F::complex*>(out),
                        d == Direction::Forward ? FFTW_FORWARD : FFTW_BACKWARD);
    if (plan == nullptr) throw Error("kinv::fft: FFTW could not plan " + g.to_string());
  }
  ~Impl() {
    std::lock_guard<std::mutex> lock(impl::fftw_planner_mutex());
    F::destroy(plan);
  }
  void execute(const ExecutionSpace& space, Kokkos::complex<T>* in, Kokkos::complex<T>* out) const {
    space.fence();  // the kernels that wrote `in` must be done
    F::execute(plan, reinterpret_cast<typename F::complex*>(in),
               reinterpret_cast<typename F::complex*>(out));
  }
};

}  // namespace fft
}  // namespace kinv
