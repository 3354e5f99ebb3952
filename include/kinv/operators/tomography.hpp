// Tomography: the 2-D parallel-beam Radon transform with bilinear interpolation
// (deepinv.physics.Tomography with normalize=False), and its exact adjoint.
#pragma once

#include <kinv/physics/physics.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kinv {

namespace impl {
template <class T>
struct TomographyGeometry;
}  // namespace impl

/// Keyword arguments of Tomography (deepinv's `angles`, `circle`; kinv adds the detector count).
struct TomographyOptions {
  /// Projection angles in degrees. If empty, `num_angles` angles 180 k / num_angles, k <
  /// num_angles, evenly spread over [0, 180) as deepinv does for an integer `angles`.
  std::vector<double> angles;
  std::int64_t num_angles = 0;
  /// Number of detector cells D (-1: the image width).
  std::int64_t detector_count = -1;
  /// Restrict the image (and the adjoint's output) to the disc inscribed in the square.
  bool circle = false;
};

/// y = A x: for each angle theta and detector cell k, the sum of bilinear samples of x along the
/// line at signed distance t_k = k - (D - 1) / 2 from the image centre c = (W - 1) / 2, at unit
/// steps s_j = j - (S - 1) / 2. The sample point is (row, column) =
/// (c - sin(theta) t_k + cos(theta) s_j, c + cos(theta) t_k + sin(theta) s_j), samples outside
/// the image read zeros. x has shape (B, C, W, W) and y has shape (B, C, D, A): detectors along
/// rows and angles along columns, as in deepinv. At angle 0, y[k] sums column k of x; at 90
/// degrees, y[k] sums row W - 1 - k.
///
/// This is deepinv's geometry: with `circle` and D = W it matches deepinv.physics.Tomography
/// (normalize=False) for every W. Without `circle`, deepinv uses D = ceil(sqrt(2) W) detectors
/// and a rotation centre that its padding moves by half a pixel when ceil(sqrt(2) W) - W is odd;
/// kinv with that D matches it when ceil(sqrt(2) W) - W is even.
///
/// A^T is the exact transpose of A, deterministic and without atomics: a gather over pixels on
/// GPUs, a scatter over bands of rows on CPUs (which sums in the gather's order, bitwise the
/// same), so the dot test <A x, y> = <x, A^T y> holds to rounding. On CPUs the operator keeps a
/// workspace of about the image batch's size between calls; a mutex serialises concurrent A^T
/// calls on one instance (and its copies, which share the workspace).
template <class T>
class Tomography : public LinearPhysics<T> {
 public:
  Tomography(std::int64_t img_width, const TomographyOptions& options);
  /// `num_angles` angles evenly spread over [0, 180) degrees, D = W, no circle.
  Tomography(std::int64_t img_width, std::int64_t num_angles);
  /// Given angles in degrees, D = W, no circle.
  Tomography(std::int64_t img_width, const std::vector<double>& angles_degrees);

  std::string name() const override { return "Tomography"; }
  double cost_estimate() const override { return static_cast<double>(m_angles.size()); }
  /// (B, C, W, W) -> (B, C, D, A).
  Shape output_shape(const Shape& input) const override;
  /// (B, C, D, A) -> (B, C, W, W).
  Shape input_shape(const Shape& output) const override;

  std::int64_t img_width() const noexcept { return m_width; }
  std::int64_t num_angles() const noexcept { return static_cast<std::int64_t>(m_angles.size()); }
  std::int64_t detector_count() const noexcept { return m_detectors; }
  /// Samples S along each line: W with `circle`, else W + 2 ceil((sqrt(2) - 1) W / 2), enough
  /// to cross the diagonal, with the parity of W so that angle 0 samples pixel centres.
  std::int64_t num_samples() const noexcept { return m_samples; }
  /// The angles in degrees.
  const std::vector<double>& angles() const noexcept { return m_angles; }
  bool circle() const noexcept { return m_circle; }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;

 private:
  impl::TomographyGeometry<T> geometry() const;

  std::int64_t m_width = 0;
  std::int64_t m_detectors = 0;
  std::int64_t m_samples = 0;
  bool m_circle = false;
  std::vector<double> m_angles;
  // Per-angle constants (impl::TomographyAngle rows): the cosine and sine of each angle,
  // computed once in double, and the adjoint's candidate-search bounds.
  Kokkos::View<T*, MemorySpace> m_table;
  // On CPUs, the steps sin(theta) s_j and cos(theta) s_j along the lines of every angle.
  Kokkos::View<T*, MemorySpace> m_steps;
  // A^T's band sums on CPUs, kept from call to call (grown when a batch needs more).
  mutable Kokkos::View<T*, MemorySpace> m_work;
  std::shared_ptr<std::mutex> m_work_mutex = std::make_shared<std::mutex>();
};

extern template class Tomography<float>;
extern template class Tomography<double>;

}  // namespace kinv
