// kinv::fft: batched 2-D and 3-D complex-to-complex and real <-> complex (half-spectrum) FFTs on
// device-resident data, with plans cached per geometry so that a steady state plans and allocates
// nothing. The backend (FFTW on
// host spaces, cuFFT on CUDA, hipFFT on HIP) is chosen once, in fft/impl/backend.hpp.
#pragma once

#include <kinv/core/tensor.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

namespace kinv {
namespace fft {

/// Sign of the exponent: Forward is exp(-2 pi i k n / N), Inverse exp(+2 pi i k n / N).
enum class Direction { Forward, Inverse };

/// Scaling applied after the transform: None (raw sums) or Ortho (1 / sqrt(N) both ways, the
/// unitary transform of torch.fft's norm="ortho").
enum class Normalization { None, Ortho };

/// `batch` transforms of a row-major grid of 2 or 3 extents, stored one after another.
struct Geometry {
  int rank = 2;
  std::array<std::int64_t, 3> extents{{1, 1, 1}};
  std::int64_t batch = 1;

  /// A batch of 2-D (h, w) or 3-D (d, h, w) grids; throws ValueError for other ranks or
  /// non-positive extents.
  static Geometry make(const Shape& grid, std::int64_t batch);
  /// Points of one grid.
  std::int64_t points() const noexcept {
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= extents[static_cast<std::size_t>(i)];
    return n;
  }
  /// Complex values in the whole batch.
  std::int64_t size() const noexcept { return points() * batch; }
  /// Points of one half spectrum (the last extent n becomes n / 2 + 1), as real-to-complex
  /// transforms store it: the other half follows by Hermitian symmetry.
  std::int64_t half_points() const noexcept {
    return points() / extents[static_cast<std::size_t>(rank - 1)] *
           (extents[static_cast<std::size_t>(rank - 1)] / 2 + 1);
  }
  std::string to_string() const;
};

template <class T>
using ComplexView = Kokkos::View<Kokkos::complex<T>*, MemorySpace>;

/// One backend plan for a geometry, direction, in-place-ness and alignment (FFTW plans depend
/// on the last two). Not copyable; made by PlanCache.
template <class T>
class Plan {
 public:
  Plan(const Geometry& g, Direction d, Kokkos::complex<T>* in, Kokkos::complex<T>* out);
  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  /// Runs the transform on `space` (stream-ordered on GPUs; host backends fence first).
  void execute(const ExecutionSpace& space, Kokkos::complex<T>* in, Kokkos::complex<T>* out) const;
  /// Bytes of device work area the plan needs from its owner (cuFFT; 0 for backends whose plans
  /// keep their own), and where it is: set it before the first execute.
  std::size_t work_bytes() const noexcept;
  void set_work_area(void* area);

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

/// One backend plan of real transforms: Forward is real-to-complex (`batch` real grids of
/// g.points() values to half spectra of g.half_points()), Inverse complex-to-real (which may
/// overwrite its complex input). Unnormalised. Not copyable; made by PlanCache.
template <class T>
class RealPlan {
 public:
  RealPlan(const Geometry& g, Direction d, T* real, Kokkos::complex<T>* spectrum);
  ~RealPlan();
  RealPlan(const RealPlan&) = delete;
  RealPlan& operator=(const RealPlan&) = delete;
  /// Runs the transform on `space`, real -> spectrum (Forward) or spectrum -> real (Inverse).
  void execute(const ExecutionSpace& space, T* real, Kokkos::complex<T>* spectrum) const;
  /// As for Plan.
  std::size_t work_bytes() const noexcept;
  void set_work_area(void* area);

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

/// Plans by (geometry, direction, in-place, alignment): the first call with a key plans, later
/// calls reuse the plan. The plans share one work area (a Kokkos allocation, grown to the
/// largest plan's need), so they run one at a time: when a call comes on another execution
/// space instance than the last, the last is fenced first. Not thread safe (like the operators
/// that own one).
template <class T>
class PlanCache {
 public:
  PlanCache() = default;
  PlanCache(const PlanCache&) = delete;
  PlanCache& operator=(const PlanCache&) = delete;
  PlanCache(PlanCache&&) = default;
  PlanCache& operator=(PlanCache&&) = default;

  /// out = F(in) (Forward) or F^H(in) (Inverse) for every grid of the batch; `in` and `out`
  /// hold g.size() values and may be the same View (in place) but must not overlap otherwise.
  void transform(const ExecutionSpace& space, const ComplexView<T>& in, const ComplexView<T>& out,
                 const Geometry& g, Direction d, Normalization norm = Normalization::Ortho);
  /// The same on interleaved (real, imaginary) pairs: 2 g.size() values of T.
  void transform(const ExecutionSpace& space, const Kokkos::View<T*, MemorySpace>& in,
                 const Kokkos::View<T*, MemorySpace>& out, const Geometry& g, Direction d,
                 Normalization norm = Normalization::Ortho);
  /// Raw pointers (device pointers on GPUs), for callers that manage their own buffers.
  void transform(const ExecutionSpace& space, Kokkos::complex<T>* in, Kokkos::complex<T>* out,
                 const Geometry& g, Direction d, Normalization norm);

  /// Real transforms, unnormalised: spectrum = F(real) for every grid of the batch (Forward;
  /// `real` is left unchanged), or real = F^H(spectrum) (Inverse; `spectrum` may be
  /// overwritten). `real` holds g.size() values of T and `spectrum` g.half_points() g.batch
  /// complex values, in the memory space; they must not overlap.
  void transform_real(const ExecutionSpace& space, T* real, Kokkos::complex<T>* spectrum,
                      const Geometry& g, Direction d);

  /// Number of plans made so far.
  std::size_t num_plans() const noexcept { return m_plans.size() + m_real_plans.size(); }

 private:
  using Key =
      std::tuple<int, std::int64_t, std::int64_t, std::int64_t, std::int64_t, int, bool, int>;
  /// Makes `space` the one the plans run on (fencing the previous instance when it differs).
  void use(const ExecutionSpace& space);
  /// Gives a new plan the shared work area, growing it (for every plan) when it needs more.
  template <class P>
  void attach_work(P& plan);

  // Declared before the plans, so that they are destroyed first.
  Kokkos::View<char*, MemorySpace> m_work_area;
  std::optional<ExecutionSpace> m_last;
  std::map<Key, std::unique_ptr<Plan<T>>> m_plans;
  std::map<Key, std::unique_ptr<RealPlan<T>>> m_real_plans;
};

/// The name of the FFT backend kinv was built with ("FFTW", "cuFFT" or "hipFFT").
std::string backend_name();

extern template class Plan<float>;
extern template class Plan<double>;
extern template class RealPlan<float>;
extern template class RealPlan<double>;
extern template class PlanCache<float>;
extern template class PlanCache<double>;

}  // namespace fft
}  // namespace kinv
