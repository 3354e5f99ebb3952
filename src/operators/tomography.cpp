#include <kinv/operators/impl/tomography_functors.hpp>
#include <kinv/operators/tomography.hpp>

#include <cmath>
#include <type_traits>

namespace kinv {

namespace {

// CPU memory: A and A^T run the CPU kernels (see tomography_functors.hpp).
constexpr bool kHostMemory = std::is_same<ExecutionSpace::memory_space, Kokkos::HostSpace>::value;

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

  m_table = impl::tomography_angle_table<T>(m_angles, geometry().margin);
  if (kHostMemory) m_steps = impl::tomography_step_table<T>(m_table, geometry());
}

template <class T>
impl::TomographyGeometry<T> Tomography<T>::geometry() const {
  return impl::tomography_geometry<T>(m_width, m_detectors, m_samples, num_angles());
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

namespace {
// Lines that a work item of A runs in lockstep on CPUs.
constexpr int kForwardLines = 4;

template <class T, bool Circle>
void run_forward(const ExecutionSpace& space, const impl::TomographyGeometry<T>& g,
                 const Kokkos::View<T*, MemorySpace>& table,
                 const Kokkos::View<T*, MemorySpace>& steps, const Tensor<T>& x,
                 const Tensor<T>& y) {
  const impl::TomographyForward<T, Circle> f{x.view(), table, y.view(), g};
  if constexpr (kHostMemory) {
    using Lines = impl::TomographyForwardLines<T, Circle, kForwardLines>;
    const std::int64_t images = x.size() / (g.width * g.width);
    Kokkos::parallel_for("kinv::Tomography::A",
                         impl::range(space, Lines::work_items(images, g.detectors, g.angles)),
                         Lines{f, steps});
  } else {
    (void)steps;
    Kokkos::parallel_for("kinv::Tomography::A", impl::range(space, y.size()), f);
  }
}
}  // namespace

template <class T>
void Tomography<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  const auto g = geometry();
  if (m_circle)
    run_forward<T, true>(this->execution_space(), g, m_table, m_steps, x, y);
  else
    run_forward<T, false>(this->execution_space(), g, m_table, m_steps, x, y);
}

namespace {
// Pixels per work item of A^T's gather (GPUs): one thread per pixel.
constexpr int kAdjointRun = 1;

// Rows per band of A^T's scatter (CPUs): 16, fewer while that leaves under 8 work items per
// thread. The result does not depend on it.
[[maybe_unused]] std::int64_t band_rows(std::int64_t images, std::int64_t width) {
  const std::int64_t want = 8 * static_cast<std::int64_t>(compat::host_concurrency());
  std::int64_t h = 16;
  while (h > 2 && images * ((width + h - 1) / h) < want) h /= 2;
  return h;
}

template <class T, bool Circle>
void run_adjoint_gather(const ExecutionSpace& space, const impl::TomographyGeometry<T>& g,
                        const Kokkos::View<T*, MemorySpace>& table, const Tensor<T>& y,
                        const Tensor<T>& x, bool accumulate) {
  using Add = impl::TomographyAdjoint<T, Circle, true, kAdjointRun>;
  using Set = impl::TomographyAdjoint<T, Circle, false, kAdjointRun>;
  const auto policy = impl::range(space, Set::work_items(x.size(), g.width));
  if (accumulate)
    Kokkos::parallel_for("kinv::Tomography::A_adjoint", policy, Add{y.view(), table, x.view(), g});
  else
    Kokkos::parallel_for("kinv::Tomography::A_adjoint", policy, Set{y.view(), table, x.view(), g});
}

template <class T, bool Circle>
void run_adjoint(const ExecutionSpace& space, const impl::TomographyGeometry<T>& g,
                 const Kokkos::View<T*, MemorySpace>& table,
                 const Kokkos::View<T*, MemorySpace>& steps, const Tensor<T>& y, const Tensor<T>& x,
                 bool accumulate, Kokkos::View<T*, MemorySpace>& work) {
  if constexpr (kHostMemory) {
    using Add = impl::TomographyAdjointBands<T, Circle, true>;
    using Set = impl::TomographyAdjointBands<T, Circle, false>;
    const std::int64_t images = x.size() / (g.width * g.width);
    const std::int64_t h = band_rows(images, g.width);
    const std::int64_t items = Set::work_items(images, g.width, h);
    const std::int64_t need = items * Set::slice_size(g.width, h);
    if (static_cast<std::int64_t>(work.extent(0)) < need)
      work = Kokkos::View<T*, MemorySpace>(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::Tomography::adjoint_work"), need);
    const auto policy = impl::range(space, items);
    if (accumulate)
      Kokkos::parallel_for("kinv::Tomography::A_adjoint", policy,
                           Add{y.view(), table, x.view(), work, steps, g, h});
    else
      Kokkos::parallel_for("kinv::Tomography::A_adjoint", policy,
                           Set{y.view(), table, x.view(), work, steps, g, h});
  } else {
    (void)work;
    (void)steps;
    run_adjoint_gather<T, Circle>(space, g, table, y, x, accumulate);
  }
}
}  // namespace

template <class T>
void Tomography<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const {
  const std::lock_guard<std::mutex> lock(*m_work_mutex);
  const auto g = geometry();
  if (m_circle)
    run_adjoint<T, true>(this->execution_space(), g, m_table, m_steps, y, x, accumulate, m_work);
  else
    run_adjoint<T, false>(this->execution_space(), g, m_table, m_steps, y, x, accumulate, m_work);
}

template class Tomography<float>;
template class Tomography<double>;

}  // namespace kinv
