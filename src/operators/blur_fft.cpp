#include <kinv/operators/blur_fft.hpp>
#include <kinv/operators/impl/blur_fft_functors.hpp>
#include <kinv/operators/impl/pointwise_functors.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace kinv {

namespace impl {

template <class T>
std::shared_ptr<FFTWorkspace<T>> FFTWorkspace<T>::of(const ExecutionSpace& space) {
  static std::mutex registry_mutex;
  static std::vector<std::weak_ptr<FFTWorkspace<T>>> registry;
  std::lock_guard<std::mutex> lock(registry_mutex);
  std::shared_ptr<FFTWorkspace<T>> found;
  for (std::size_t i = 0; i < registry.size();) {
    auto held = registry[i].lock();
    if (!held) {
      registry.erase(registry.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (compat::same_instance(held->space, space)) found = std::move(held);
    ++i;
  }
  if (!found) {
    found = std::make_shared<FFTWorkspace<T>>(space);
    registry.push_back(found);
  }
  return found;
}

template <class T>
FFTWorkspace<T>& BlurFFTEngine<T>::workspace(const ExecutionSpace& space) {
  if (!m_workspace || !compat::same_instance(m_workspace->space, space))
    m_workspace = FFTWorkspace<T>::of(space);
  return *m_workspace;
}

template <class T>
void BlurFFTEngine<T>::prepare(const ExecutionSpace& space, const Tensor<T>& filter, std::int64_t H,
                               std::int64_t W) {
  std::lock_guard<std::mutex> lock(m_mutex);
  FFTWorkspace<T>& ws = workspace(space);
  std::lock_guard<std::mutex> ws_lock(ws.mutex);
  prepare_locked(ws, filter, H, W);
}

template <class T>
void BlurFFTEngine<T>::prepare_locked(FFTWorkspace<T>& ws, const Tensor<T>& filter, std::int64_t H,
                                      std::int64_t W) {
  // Embed, roll, FFT, with 1 / (H W) (the inverse FFT's factor) folded in.
  const ExecutionSpace& space = ws.space;
  const Shape& f = filter.shape();
  const fft::Geometry g = fft::Geometry::make(Shape{H, W}, f[0] * f[1]);
  const std::int64_t P = H * W;
  Kokkos::View<T*, MemorySpace> embedded(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::BlurFFT::embedded_filter"),
      static_cast<std::size_t>(g.size()));
  Kokkos::parallel_for("kinv::BlurFFT::filter_spectra", range(space, g.size()),
                       BlurFFTEmbedFilter<T>{filter.view(), embedded, H, W, f[2], f[3],
                                             static_cast<T>(1.0 / double(P))});
  std::int64_t not_even = 0;
  Kokkos::parallel_reduce("kinv::BlurFFT::filter_symmetry", range(space, g.size()),
                          BlurFFTNotEven<T>{embedded, H, W}, not_even);
  const auto half_values = static_cast<std::size_t>(g.half_points() * g.batch);
  fft::ComplexView<T> spectra(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::BlurFFT::spectra"), half_values);
  // Through the workspace's plans: apply() finds this plan there when its chunks have as many
  // planes as the filter.
  ws.plans.transform_real(space, embedded.data(), spectra.data(), g, fft::Direction::Forward);
  if (not_even == 0) {
    m_real_spectra = Kokkos::View<T*, MemorySpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::BlurFFT::real_spectra"),
        half_values);
    Kokkos::parallel_for("kinv::BlurFFT::filter_spectra", range(space, std::int64_t(half_values)),
                         BlurFFTRealPart<T>{spectra, m_real_spectra});
    m_spectra = fft::ComplexView<T>();
  } else {
    m_spectra = spectra;
    m_real_spectra = Kokkos::View<T*, MemorySpace>();
  }
  space.fence();
  m_H = H;
  m_W = W;
}

namespace {
// cuFFT and hipFFT take real arrays only at the alignment of the complex type. A tensor that is a
// slice of a larger buffer (a result inside a gather's receive buffer: a double at an odd
// offset) may not have it; such tensors go through the engine's scratch buffer.
template <class T>
bool complex_aligned(const T* p) {
  return reinterpret_cast<std::uintptr_t>(p) % alignof(Kokkos::complex<T>) == 0;
}

// Spectrum entries per work item of the product: long runs on host spaces (few index
// divisions, vectorisable loops, still enough items to share among threads), one on GPUs.
constexpr std::int64_t kProductRun =
    std::is_same<ExecutionSpace::memory_space, Kokkos::HostSpace>::value ? 2048 : 1;
}  // namespace

template <class T>
void BlurFFTEngine<T>::apply(const char* label, const ExecutionSpace& space,
                             const Tensor<T>& filter, const Tensor<T>& in, const Tensor<T>& out,
                             bool adjoint, bool accumulate) {
  std::lock_guard<std::mutex> lock(m_mutex);
  FFTWorkspace<T>& ws = workspace(space);
  std::lock_guard<std::mutex> ws_lock(ws.mutex);
  const std::int64_t H = in.extent(2), W = in.extent(3);
  if (H != m_H || W != m_W) prepare_locked(ws, filter, H, W);
  const std::int64_t P = H * W, planes = in.size() / P;
  const std::int64_t half = fft::Geometry::make(Shape{H, W}, 1).half_points();
  const std::int64_t chunk = std::min(planes, std::max<std::int64_t>(1, kWorkPoints / half));
  if (static_cast<std::int64_t>(ws.work.size()) < chunk * half)
    ws.work =
        fft::ComplexView<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::BlurFFT::work"),
                            static_cast<std::size_t>(chunk * half));
  auto scratch = [&] {
    if (static_cast<std::int64_t>(ws.sum.size()) < chunk * P)
      ws.sum = Kokkos::View<T*, MemorySpace>(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::BlurFFT::sum"),
          static_cast<std::size_t>(chunk * P));
    return ws.sum;
  };
  const std::int64_t runs = (half + kProductRun - 1) / kProductRun;
  for (std::int64_t q0 = 0; q0 < planes; q0 += chunk) {
    const std::int64_t m = std::min(chunk, planes - q0), n = m * P;
    const auto part =
        std::make_pair(static_cast<std::size_t>(q0 * P), static_cast<std::size_t>(q0 * P + n));
    const fft::Geometry g = fft::Geometry::make(Shape{H, W}, m);
    T* source = in.data() + q0 * P;
    if (!complex_aligned(source)) {
      const auto s = scratch();
      Kokkos::parallel_for(label, range(space, n),
                           IdentityCopy<T, false>{Kokkos::subview(in.view(), part), s});
      source = s.data();
    }
    ws.plans.transform_real(space, source, ws.work.data(), g, fft::Direction::Forward);

    const BlurFFTProduct<T> product{
        ws.work,      m_spectra,        m_real_spectra,  half, kProductRun, runs, q0,
        in.extent(1), filter.extent(0), filter.extent(1)};
    if (m_real_spectra.size() > 0)
      Kokkos::parallel_for(label, range(space, m * runs), BlurFFTMultiplyReal<T>{product});
    else if (adjoint)
      Kokkos::parallel_for(label, range(space, m * runs), BlurFFTMultiply<T, true>{product});
    else
      Kokkos::parallel_for(label, range(space, m * runs), BlurFFTMultiply<T, false>{product});

    T* const target = out.data() + q0 * P;
    if (!accumulate && complex_aligned(target)) {
      ws.plans.transform_real(space, target, ws.work.data(), g, fft::Direction::Inverse);
      continue;
    }
    const auto s = scratch();
    ws.plans.transform_real(space, s.data(), ws.work.data(), g, fft::Direction::Inverse);
    const Kokkos::View<T*, MemorySpace> dst = Kokkos::subview(out.view(), part);
    if (accumulate)
      Kokkos::parallel_for(label, range(space, n), IdentityCopy<T, true>{s, dst});
    else
      Kokkos::parallel_for(label, range(space, n), IdentityCopy<T, false>{s, dst});
  }
}

template struct FFTWorkspace<float>;
template struct FFTWorkspace<double>;
template class BlurFFTEngine<float>;
template class BlurFFTEngine<double>;

}  // namespace impl

template <class T>
BlurFFT<T>::BlurFFT(const Shape& img_size, const Tensor<T>& filter)
    : m_filter(filter), m_img_size(img_size) {
  if (img_size.rank() != 2 && img_size.rank() != 3)
    this->value_error("img_size must be (C, H, W) or (H, W), got " + img_size.to_string());
  for (int i = 0; i < img_size.rank(); ++i)
    if (img_size[i] < 1)
      this->value_error("img_size extents must be positive, got " + img_size.to_string());
  if (filter.rank() != 2 && filter.rank() != 4)
    this->value_error("the filter must have shape (b, c, h, w) or (h, w), got " +
                      filter.shape().to_string());
  if (filter.size() == 0)
    this->value_error("the filter is empty (shape " + filter.shape().to_string() + ")");
  if (filter.rank() == 2)
    m_filter = filter.reshaped(Shape{1, 1, filter.extent(0), filter.extent(1)});
  const Shape& f = m_filter.shape();
  m_H = img_size[img_size.rank() - 2];
  m_W = img_size[img_size.rank() - 1];
  if (f[2] > m_H || f[3] > m_W)
    this->value_error("the filter " + f.to_string() + " is larger than the image " +
                      Shape{m_H, m_W}.to_string() + " (BlurFFT needs h <= H and w <= W)");
  if (img_size.rank() == 3 && f[1] != 1 && f[1] != img_size[0])
    this->value_error("the filter " + f.to_string() + " has " + std::to_string(f[1]) +
                      " channels but img_size " + img_size.to_string() + " has " +
                      std::to_string(img_size[0]) + " (expected 1 or " +
                      std::to_string(img_size[0]) + ")");

  // The spectra, once (the shape is fixed at construction).
  m_engine.prepare(this->execution_space(), m_filter, m_H, m_W);
}

template <class T>
Shape BlurFFT<T>::output_shape(const Shape& input) const {
  const Shape& f = m_filter.shape();
  const std::string C = m_img_size.rank() == 3 ? std::to_string(m_img_size[0]) : "C";
  const bool ok = input.rank() == 4 && input[0] >= 1 && input[2] == m_H && input[3] == m_W &&
                  (m_img_size.rank() == 2 || input[1] == m_img_size[0]) &&
                  (f[0] == 1 || f[0] == input[0]) && (f[1] == 1 || f[1] == input[1]);
  if (!ok)
    throw ShapeError(name() + ": input shape (the image size " + m_img_size.to_string() +
                         " given at construction; the filter " + f.to_string() +
                         " broadcasts over the batch and channel axes where its extent is 1)",
                     "(" + (f[0] == 1 ? std::string("B") : std::to_string(f[0])) + ", " +
                         (f[1] == 1 ? C : std::to_string(f[1])) + ", " + std::to_string(m_H) +
                         ", " + std::to_string(m_W) + ")",
                     input.to_string(), this->index());
  return input;
}

template <class T>
void BlurFFT<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  m_engine.apply("kinv::BlurFFT::A", this->execution_space(), m_filter, x, y, false, false);
}

template <class T>
void BlurFFT<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const {
  m_engine.apply("kinv::BlurFFT::A_adjoint", this->execution_space(), m_filter, y, x, true,
                 accumulate);
}

template <class T>
double BlurFFT<T>::cost_estimate() const {
  return 10.0 * std::log2(static_cast<double>(m_H * m_W)) + 1.0;  // two transforms, a product
}

template class BlurFFT<float>;
template class BlurFFT<double>;

}  // namespace kinv
