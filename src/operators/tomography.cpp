#include <kinv/operators/impl/tomography_functors.hpp>
#include <kinv/operators/tomography.hpp>

#include <cmath>
#include <limits>
#include <type_traits>

namespace kinv {

namespace {

TomographyOptions with_count(std::int64_t num_angles) {
  TomographyOptions o;
  o.num_angles = num_angles;
  return o;
}

TomographyOptions with_angles(const std::vector<double>& angles) {
  TomographyOptions o;
  o.angles = angles;
  return o;
}

// cos and sin of an angle in degrees, exact at multiples of 90 degrees (so that those
// projections sample pixel centres exactly).
void cos_sin_degrees(double degrees, double& c, double& s) {
  double r = std::fmod(degrees, 360.0);  // exact
  if (r < 0) r += 360.0;
  if (r == 0.0) {
    c = 1, s = 0;
  } else if (r == 90.0) {
    c = 0, s = 1;
  } else if (r == 180.0) {
    c = -1, s = 0;
  } else if (r == 270.0) {
    c = 0, s = -1;
  } else {
    const double rad = r * (3.141592653589793238462643383279502884 / 180.0);
    c = std::cos(rad);
    s = std::sin(rad);
  }
}

template <class T>
impl::TomographyGeometry<T> geometry(std::int64_t width, std::int64_t detectors,
                                     std::int64_t samples, std::int64_t angles) {
  impl::TomographyGeometry<T> g;
  g.width = width;
  g.detectors = detectors;
  g.samples = samples;
  g.angles = angles;
  g.centre = static_cast<T>(0.5 * static_cast<double>(width - 1));
  g.t_offset = static_cast<T>(0.5 * static_cast<double>(detectors - 1));
  g.s_offset = static_cast<T>(0.5 * static_cast<double>(samples - 1));
  // Sample points and the adjoint's rotated pixel offsets are rounded to a few ulps of their
  // magnitude (at most about W + D + S); this slack keeps every candidate in the search.
  g.margin = static_cast<T>(1e-3 + 16.0 * std::numeric_limits<T>::epsilon() *
                                       static_cast<double>(width + detectors + samples));
  return g;
}

}  // namespace

template <class T>
Tomography<T>::Tomography(std::int64_t img_width, std::int64_t num_angles)
    : Tomography(img_width, with_count(num_angles)) {}

template <class T>
Tomography<T>::Tomography(std::int64_t img_width, const std::vector<double>& angles_degrees)
    : Tomography(img_width, with_angles(angles_degrees)) {}

template <class T>
Tomography<T>::Tomography(std::int64_t img_width, const TomographyOptions& options)
    : m_width(img_width), m_circle(options.circle) {
  if (img_width < 1)
    this->value_error("img_width must be at least 1, got " + std::to_string(img_width));
  if (!options.angles.empty()) {
    if (options.num_angles > 0 &&
        options.num_angles != static_cast<std::int64_t>(options.angles.size()))
      this->value_error("num_angles (" + std::to_string(options.num_angles) +
                        ") disagrees with the " + std::to_string(options.angles.size()) +
                        " angles given");
    m_angles = options.angles;
    for (std::size_t a = 0; a < m_angles.size(); ++a)
      if (!std::isfinite(m_angles[a]))
        this->value_error("angle " + std::to_string(a) + " is not finite (" +
                          std::to_string(m_angles[a]) + ")");
  } else {
    if (options.num_angles <= 0)
      this->value_error("no angles: give a list of angles or num_angles > 0 (got " +
                        std::to_string(options.num_angles) + ")");
    m_angles.resize(static_cast<std::size_t>(options.num_angles));
    for (std::int64_t k = 0; k < options.num_angles; ++k)
      m_angles[static_cast<std::size_t>(k)] =
          180.0 * static_cast<double>(k) / static_cast<double>(options.num_angles);
  }
  if (options.detector_count == -1)
    m_detectors = img_width;
  else if (options.detector_count < 1)
    this->value_error("detector_count must be at least 1 (or -1 for the image width), got " +
                      std::to_string(options.detector_count));
  else
    m_detectors = options.detector_count;
  // Without the circle, lines must cross the whole diagonal (deepinv pads the image to
  // ceil(sqrt(2) W)); keeping the parity of W puts angle-0 samples on pixel centres.
  m_samples = m_circle ? img_width
                       : img_width + 2 * static_cast<std::int64_t>(
                                             std::ceil((std::sqrt(2.0) - 1.0) * img_width / 2.0));

  const auto g = geometry<T>(m_width, m_detectors, m_samples, num_angles());
  const std::size_t n = m_angles.size();
  constexpr int stride = impl::TomographyAngle<T>::kStride;
  m_table = Kokkos::View<T*, MemorySpace>("kinv::Tomography::angles", n * stride);
  auto h = Kokkos::create_mirror_view(m_table);
  for (std::size_t a = 0; a < n; ++a) {
    double c, s;
    cos_sin_degrees(m_angles[a], c, s);
    const auto row = impl::TomographyAngle<T>::make(static_cast<T>(c), static_cast<T>(s), g.margin);
    const T values[stride] = {row.cs,      row.sn,      row.half,   row.slope_x,
                              row.width_x, row.slope_y, row.width_y};
    for (int e = 0; e < stride; ++e) h(a * stride + e) = values[e];
  }
  Kokkos::deep_copy(m_table, h);
}

template <class T>
Shape Tomography<T>::output_shape(const Shape& input) const {
  const bool rank4 = input.rank() == 4;
  if (!rank4 || input[2] != m_width || input[3] != m_width)
    this->shape_error("input shape (B, C, W, W) with W = img_width = " + std::to_string(m_width),
                      Shape{rank4 ? input[0] : 1, rank4 ? input[1] : 1, m_width, m_width}, input);
  return Shape{input[0], input[1], m_detectors, num_angles()};
}

template <class T>
Shape Tomography<T>::input_shape(const Shape& output) const {
  const bool rank4 = output.rank() == 4;
  if (!rank4 || output[2] != m_detectors || output[3] != num_angles())
    this->shape_error(
        "measurement shape (B, C, detector_count, num_angles)",
        Shape{rank4 ? output[0] : 1, rank4 ? output[1] : 1, m_detectors, num_angles()}, output);
  return Shape{output[0], output[1], m_width, m_width};
}

template <class T>
void Tomography<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  const auto g = geometry<T>(m_width, m_detectors, m_samples, num_angles());
  const auto policy = impl::range(this->execution_space(), y.size());
  if (m_circle)
    Kokkos::parallel_for("kinv::Tomography::A", policy,
                         impl::TomographyForward<T, true>{x.view(), m_table, y.view(), g});
  else
    Kokkos::parallel_for("kinv::Tomography::A", policy,
                         impl::TomographyForward<T, false>{x.view(), m_table, y.view(), g});
}

namespace {
// Pixels per work item of A^T: on CPUs a run along a row, which it visits angle by angle, so that
// the candidate search's branches follow the same pattern from one pixel to the next; on GPUs one
// thread per pixel. Each pixel sums in the same order either way.
constexpr int kAdjointRun =
    std::is_same<ExecutionSpace::memory_space, Kokkos::HostSpace>::value ? 32 : 1;

template <class T, bool Circle>
void adjoint(const ExecutionSpace& space, const impl::TomographyGeometry<T>& g,
             const Kokkos::View<T*, MemorySpace>& table, const Tensor<T>& y, const Tensor<T>& x,
             bool accumulate) {
  using Add = impl::TomographyAdjoint<T, Circle, true, kAdjointRun>;
  using Set = impl::TomographyAdjoint<T, Circle, false, kAdjointRun>;
  const auto policy = impl::range(space, Set::work_items(x.size(), g.width));
  if (accumulate)
    Kokkos::parallel_for("kinv::Tomography::A_adjoint", policy, Add{y.view(), table, x.view(), g});
  else
    Kokkos::parallel_for("kinv::Tomography::A_adjoint", policy, Set{y.view(), table, x.view(), g});
}
}  // namespace

template <class T>
void Tomography<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const {
  const auto g = geometry<T>(m_width, m_detectors, m_samples, num_angles());
  if (m_circle)
    adjoint<T, true>(this->execution_space(), g, m_table, y, x, accumulate);
  else
    adjoint<T, false>(this->execution_space(), g, m_table, y, x, accumulate);
}

template class Tomography<float>;
template class Tomography<double>;

}  // namespace kinv
