// FFTW 3 plans for host execution spaces (fftw3 for double, fftw3f for float).
#pragma once

#include <kinv/fft/fft.hpp>

#include <fftw3.h>

#include <climits>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <string>

namespace kinv {
namespace fft {
namespace impl {

inline const char* backend_name() { return "FFTW"; }

// FFTW's planner is not thread safe; executing plans is.
inline std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

/// Whether plans are measured (the default) or estimated. KINV_FFTW_PLANNER=estimate picks
/// FFTW_ESTIMATE: several times slower transforms, but the same plan in every process, so that
/// FFT-based operators give bitwise the same results on every rank and in every run (measured
/// plans are timed, and two processes may pick different ones, equal only to rounding).
inline bool fftw_measure_plans() {
  static const bool measure = [] {
    const char* v = std::getenv("KINV_FFTW_PLANNER");
    if (v == nullptr || std::string(v).empty() || std::string(v) == "measure") return true;
    if (std::string(v) == "estimate") return false;
    throw ValueError(std::string("KINV_FFTW_PLANNER='") + v +
                     "': valid values are 'measure' and 'estimate'");
  }();
  return measure;
}

template <class T>
struct Fftw;

template <>
struct Fftw<double> {
  using plan = fftw_plan;
  using complex = fftw_complex;
  static plan plan_many(int rank, const int* n, int howmany, complex* in, complex* out, int sign,
                        unsigned flags) {
    const int dist = [&] {
      int p = 1;
      for (int i = 0; i < rank; ++i) p *= n[i];
      return p;
    }();
    return fftw_plan_many_dft(rank, n, howmany, in, nullptr, 1, dist, out, nullptr, 1, dist, sign,
                              flags);
  }
  static void* malloc(std::size_t bytes) { return fftw_malloc(bytes); }
  static void free(void* p) { fftw_free(p); }
  static int alignment_of(complex* p) { return fftw_alignment_of(reinterpret_cast<double*>(p)); }
  static void execute(plan p, complex* in, complex* out) { fftw_execute_dft(p, in, out); }
  static void destroy(plan p) { fftw_destroy_plan(p); }
};

template <>
struct Fftw<float> {
  using plan = fftwf_plan;
  using complex = fftwf_complex;
  static plan plan_many(int rank, const int* n, int howmany, complex* in, complex* out, int sign,
                        unsigned flags) {
    const int dist = [&] {
      int p = 1;
      for (int i = 0; i < rank; ++i) p *= n[i];
      return p;
    }();
    return fftwf_plan_many_dft(rank, n, howmany, in, nullptr, 1, dist, out, nullptr, 1, dist, sign,
                               flags);
  }
  static void* malloc(std::size_t bytes) { return fftwf_malloc(bytes); }
  static void free(void* p) { fftwf_free(p); }
  static int alignment_of(complex* p) { return fftwf_alignment_of(reinterpret_cast<float*>(p)); }
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
    using C = typename F::complex;
    C* ci = reinterpret_cast<C*>(in);
    C* co = reinterpret_cast<C*>(out);
    const int sign = d == Direction::Forward ? FFTW_FORWARD : FFTW_BACKWARD;
    // FFTW_ESTIMATE plans can be an order of magnitude slower than measured ones (2 x 512^2
    // complex floats: 210 ms against 17 ms on the development machine), so plans are measured,
    // once per geometry, on scratch arrays (measuring overwrites them) with the SIMD alignment
    // of the caller's (Kokkos allocations have it). Otherwise FFTW_ESTIMATE on the caller's
    // arrays, which it leaves untouched.
    const bool aligned =
        impl::fftw_measure_plans() && F::alignment_of(ci) == 0 && F::alignment_of(co) == 0;
    C* scratch = nullptr;
    if (aligned) {
      const std::size_t bytes =
          sizeof(C) * static_cast<std::size_t>(g.points()) * static_cast<std::size_t>(g.batch);
      scratch = static_cast<C*>(F::malloc(in == out ? bytes : 2 * bytes));
    }
    if (scratch != nullptr) {
      C* si = scratch;
      C* so = in == out ? scratch : scratch + g.points() * g.batch;
      plan = F::plan_many(g.rank, n, static_cast<int>(g.batch), si, so, sign, FFTW_MEASURE);
      F::free(scratch);
    } else {
      plan = F::plan_many(g.rank, n, static_cast<int>(g.batch), ci, co, sign, FFTW_ESTIMATE);
    }
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
