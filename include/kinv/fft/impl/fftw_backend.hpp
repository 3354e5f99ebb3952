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

/// Whether plans are measured or estimated (the default). FFTW_ESTIMATE picks the same plan in
/// every process, so FFT-based operators give bitwise the same results on every rank and in
/// every run, and a distributed stack equals the single-process stack bitwise.
/// KINV_FFTW_PLANNER=measure times candidate plans once per geometry (about a second each on a
/// first call): faster transforms (MRI at 1024² about 5x, FFT blurs at 1024² about 1.5x on the
/// development machine), but two processes may pick different plans, whose results are equal
/// only to rounding.
inline bool fftw_measure_plans() {
  static const bool measure = [] {
    const char* v = std::getenv("KINV_FFTW_PLANNER");
    if (v == nullptr || std::string(v).empty() || std::string(v) == "estimate") return false;
    if (std::string(v) == "measure") return true;
    throw ValueError(std::string("KINV_FFTW_PLANNER='") + v +
                     "': valid values are 'estimate' (the default) and 'measure'");
  }();
  return measure;
}

/// Values in one real grid of extents n[0..rank), and in its half spectrum.
inline int real_dist(int rank, const int* n) {
  int p = 1;
  for (int i = 0; i < rank; ++i) p *= n[i];
  return p;
}
inline int half_dist(int rank, const int* n) {
  return real_dist(rank, n) / n[rank - 1] * (n[rank - 1] / 2 + 1);
}

/// Threads for FFTW's own loops: the host execution space's concurrency when kinv links FFTW's
/// OpenMP library (KINV_FFTW_THREADS, on OpenMP builds), else 1.
inline int fftw_threads() {
#if KINV_FFTW_THREADS
  return ExecutionSpace().concurrency();
#else
  return 1;
#endif
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
  using real = double;
  static plan plan_many_r2c(int rank, const int* n, int howmany, real* in, complex* out,
                            unsigned flags) {
    return fftw_plan_many_dft_r2c(rank, n, howmany, in, nullptr, 1, real_dist(rank, n), out,
                                  nullptr, 1, half_dist(rank, n), flags);
  }
  static plan plan_many_c2r(int rank, const int* n, int howmany, complex* in, real* out,
                            unsigned flags) {
    return fftw_plan_many_dft_c2r(rank, n, howmany, in, nullptr, 1, half_dist(rank, n), out,
                                  nullptr, 1, real_dist(rank, n), flags);
  }
  static void execute_r2c(plan p, real* in, complex* out) { fftw_execute_dft_r2c(p, in, out); }
  static void execute_c2r(plan p, complex* in, real* out) { fftw_execute_dft_c2r(p, in, out); }
  static int alignment_of(real* p) { return fftw_alignment_of(p); }
  static void plan_with_threads(int n) {
#if KINV_FFTW_THREADS
    static const bool ready = fftw_init_threads() != 0;
    if (ready) fftw_plan_with_nthreads(n);
#else
    (void)n;
#endif
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
  using real = float;
  static plan plan_many_r2c(int rank, const int* n, int howmany, real* in, complex* out,
                            unsigned flags) {
    return fftwf_plan_many_dft_r2c(rank, n, howmany, in, nullptr, 1, real_dist(rank, n), out,
                                   nullptr, 1, half_dist(rank, n), flags);
  }
  static plan plan_many_c2r(int rank, const int* n, int howmany, complex* in, real* out,
                            unsigned flags) {
    return fftwf_plan_many_dft_c2r(rank, n, howmany, in, nullptr, 1, half_dist(rank, n), out,
                                   nullptr, 1, real_dist(rank, n), flags);
  }
  static void execute_r2c(plan p, real* in, complex* out) { fftwf_execute_dft_r2c(p, in, out); }
  static void execute_c2r(plan p, complex* in, real* out) { fftwf_execute_dft_c2r(p, in, out); }
  static int alignment_of(real* p) { return fftwf_alignment_of(p); }
  static void plan_with_threads(int n) {
#if KINV_FFTW_THREADS
    static const bool ready = fftwf_init_threads() != 0;
    if (ready) fftwf_plan_with_nthreads(n);
#else
    (void)n;
#endif
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
  // FFTW needs no work area from the caller.
  std::size_t work = 0;
  void set_work_area(void*) {}
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
    F::plan_with_threads(impl::fftw_threads());
    using C = typename F::complex;
    C* ci = reinterpret_cast<C*>(in);
    C* co = reinterpret_cast<C*>(out);
    const int sign = d == Direction::Forward ? FFTW_FORWARD : FFTW_BACKWARD;
    // With KINV_FFTW_PLANNER=measure, plans are measured once per geometry on scratch arrays
    // (measuring overwrites them) with the SIMD alignment of the caller's (Kokkos allocations
    // have it). Otherwise FFTW_ESTIMATE on the caller's arrays, which it leaves untouched.
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

template <class T>
struct RealPlan<T>::Impl {
  // FFTW needs no work area from the caller.
  std::size_t work = 0;
  void set_work_area(void*) {}
  using F = impl::Fftw<T>;
  using R = typename F::real;
  using C = typename F::complex;
  typename F::plan plan = nullptr;
  Direction direction;

  Impl(const Geometry& g, Direction d, T* real, Kokkos::complex<T>* spectrum) : direction(d) {
    if (g.points() > INT_MAX || g.batch > INT_MAX)
      throw ValueError("kinv::fft: FFTW plans take int extents; " + g.to_string() +
                       " is too large");
    int n[3];
    for (int i = 0; i < g.rank; ++i)
      n[i] = static_cast<int>(g.extents[static_cast<std::size_t>(i)]);
    const int howmany = static_cast<int>(g.batch);
    std::lock_guard<std::mutex> lock(impl::fftw_planner_mutex());
    F::plan_with_threads(impl::fftw_threads());
    R* r = real;
    C* c = reinterpret_cast<C*>(spectrum);
    // As for complex plans: measured on scratch arrays of the caller's (SIMD) alignment, else
    // estimated on the caller's arrays, which FFTW_ESTIMATE leaves untouched.
    const bool aligned =
        impl::fftw_measure_plans() && F::alignment_of(r) == 0 && F::alignment_of(c) == 0;
    R* sr = nullptr;
    C* sc = nullptr;
    if (aligned) {
      sr = static_cast<R*>(F::malloc(sizeof(R) * static_cast<std::size_t>(g.size())));
      sc = static_cast<C*>(
          F::malloc(sizeof(C) * static_cast<std::size_t>(g.half_points() * g.batch)));
    }
    unsigned flags = FFTW_ESTIMATE;
    if (sr != nullptr && sc != nullptr) {
      r = sr;
      c = sc;
      flags = FFTW_MEASURE;
    }
    plan = d == Direction::Forward
               ? F::plan_many_r2c(g.rank, n, howmany, r, c, flags | FFTW_PRESERVE_INPUT)
               : F::plan_many_c2r(g.rank, n, howmany, c, r, flags | FFTW_DESTROY_INPUT);
    if (sr != nullptr) F::free(sr);
    if (sc != nullptr) F::free(sc);
    if (plan == nullptr) throw Error("kinv::fft: FFTW could not plan real " + g.to_string());
  }
  ~Impl() {
    std::lock_guard<std::mutex> lock(impl::fftw_planner_mutex());
    F::destroy(plan);
  }
  void execute(const ExecutionSpace& space, T* real, Kokkos::complex<T>* spectrum) const {
    space.fence();  // the kernels that wrote the input must be done
    if (direction == Direction::Forward)
      F::execute_r2c(plan, real, reinterpret_cast<C*>(spectrum));
    else
      F::execute_c2r(plan, reinterpret_cast<C*>(spectrum), real);
  }
};

}  // namespace fft
}  // namespace kinv
