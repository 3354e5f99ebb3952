#include <kinv/operators/impl/mri_functors.hpp>
#include <kinv/operators/mri.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

namespace kinv {

namespace {

// `s` with leading axes of extent 1 added up to rank r.
Shape pad_front(const Shape& s, int r) {
  std::vector<std::int64_t> e(static_cast<std::size_t>(r - s.rank()), 1);
  for (int i = 0; i < s.rank(); ++i) e.push_back(s[i]);
  return Shape(e);
}

Shape trailing(const Shape& s, int n) {
  std::vector<std::int64_t> e;
  for (int i = s.rank() - n; i < s.rank(); ++i) e.push_back(s[i]);
  return Shape(e);
}

// (B, 2, [N,] spatial...) as a string for messages.
std::string image_pattern(const std::string& batch, const std::string& coils, const Shape& img) {
  std::string s = "(" + batch + ", 2" + (coils.empty() ? "" : ", " + coils);
  for (int i = 0; i < img.rank(); ++i) s += ", " + std::to_string(img[i]);
  return s + ")";
}

}  // namespace

namespace impl {

template <class T>
Tensor<T> MRIBase<T>::ones_mask(const Shape& img_size, bool three_d) {
  const int r = three_d ? 3 : 2;
  if (img_size.rank() < r)
    throw ValueError(std::string(three_d ? "MRI (3-D)" : "MRI") + ": img_size " +
                     img_size.to_string() + " needs at least " + std::to_string(r) + " extents");
  Tensor<T> m("kinv::MRI::mask", img_size);
  fill(m, T(1));
  return m;
}

template <class T>
MRIBase<T>::MRIBase(const Tensor<T>& mask, bool three_d) : m_mask(mask), m_three_d(three_d) {
  const int spatial = three_d ? 3 : 2;
  const int full = spatial + 2;
  const Shape& ms = mask.shape();
  const std::string kind = three_d ? "(3-D) " : "";
  if (ms.rank() < spatial || ms.rank() > full)
    throw ValueError("MRI " + kind + "mask: expected a shape " +
                     std::string(three_d ? "(D, H, W) up to (B, C, D, H, W)"
                                         : "(H, W), (C, H, W) or (B, C, H, W)") +
                     ", got " + ms.to_string());
  if (mask.size() == 0) throw ValueError("MRI mask: the mask is empty (" + ms.to_string() + ")");
  const Shape full_shape = pad_front(ms, full);
  if (full_shape[1] != 1 && full_shape[1] != 2)
    throw ValueError("MRI mask: the channel axis of the mask viewed as " +
                     std::string(three_d ? "(B, C, D, H, W)" : "(B, C, H, W)") +
                     " must be 1 or 2 (real, imaginary), got shape " + ms.to_string());
  m_mask_batch = full_shape[0];
  m_mask_channels = full_shape[1];
  m_img = trailing(ms, spatial);
  (void)fft::Geometry::make(m_img, 1);  // validates the extents
}

template <class T>
std::int64_t MRIBase<T>::check_image(const char* what, const Shape& x) const {
  const int full = m_img.rank() + 2;
  const std::string expected =
      image_pattern(m_mask_batch == 1 ? "B" : std::to_string(m_mask_batch), "", m_img);
  const std::string why = std::string(what) +
                          " shape (complex data as (real, imaginary) channels, the image size "
                          "being the mask's " +
                          m_img.to_string() + ")";
  if (x.rank() != full || x[1] != 2 || trailing(x, m_img.rank()) != m_img ||
      (m_mask_batch != 1 && x[0] != m_mask_batch) || x[0] < 1)
    throw ShapeError(this->name() + ": " + why, expected, x.to_string(), this->index());
  return x[0];
}

template <class T>
const fft::ComplexView<T>& MRIBase<T>::workspace(std::int64_t n) const {
  if (static_cast<std::int64_t>(m_work.size()) < n)
    m_work = fft::ComplexView<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::MRI::work"),
                                 static_cast<std::size_t>(n));
  return m_work;
}

template class MRIBase<float>;
template class MRIBase<double>;

}  // namespace impl

namespace {

template <class T>
impl::MRIGeometry<T> make_geometry(const Shape& img, std::int64_t B, std::int64_t N,
                                   std::int64_t mask_batch, std::int64_t mask_channels,
                                   std::int64_t maps_batch) {
  impl::MRIGeometry<T> g;
  g.B = B;
  g.N = N;
  const int off = 3 - img.rank();
  for (int i = 0; i < img.rank(); ++i) g.ext[off + i] = img[i];
  g.P = g.ext[0] * g.ext[1] * g.ext[2];
  for (int i = 0; i < 3; ++i) {
    g.ifft_shift[i] = g.ext[i] / 2;
    g.fft_shift[i] = (g.ext[i] + 1) / 2;
  }
  g.mask_c = mask_channels == 1 ? 0 : g.P;
  g.mask_b = mask_batch == 1 ? 0 : mask_channels * g.P;
  g.maps_b = maps_batch == 1 ? 0 : 2 * N * g.P;
  g.scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(g.P)));
  return g;
}

// The three steps of A (and of A^T): pack into the workspace, FFT in place, unpack.
template <class T, class Pack, class Unpack>
void run(const ExecutionSpace& space, fft::PlanCache<T>& plans, const fft::ComplexView<T>& w,
         const fft::Geometry& fg, fft::Direction d, const char* label, std::int64_t pack_n,
         const Pack& pack, std::int64_t unpack_n, const Unpack& unpack) {
  // Host backends: one task per grid row (impl::MRIRows); GPUs: one thread per element.
  const std::int64_t W = pack.g.ext[2], rows = pack.g.P / W;
  if constexpr (runs_on_host)
    Kokkos::parallel_for(label, impl::range(space, pack_n / W), impl::MRIRows<T, Pack>{pack, rows});
  else
    Kokkos::parallel_for(label, impl::range(space, pack_n), pack);
  plans.transform(space, w.data(), w.data(), fg, d, fft::Normalization::None);
  if constexpr (runs_on_host)
    Kokkos::parallel_for(label, impl::range(space, unpack_n / W),
                         impl::MRIRows<T, Unpack>{unpack, rows});
  else
    Kokkos::parallel_for(label, impl::range(space, unpack_n), unpack);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MRI

template <class T>
MRI<T>::MRI(const Tensor<T>& mask, bool three_d) : impl::MRIBase<T>(mask, three_d) {}

template <class T>
MRI<T>::MRI(const Shape& img_size, bool three_d)
    : impl::MRIBase<T>(impl::MRIBase<T>::ones_mask(img_size, three_d), three_d) {}

template <class T>
Shape MRI<T>::output_shape(const Shape& input) const {
  this->check_image("input", input);
  return input;
}

template <class T>
Shape MRI<T>::input_shape(const Shape& output) const {
  this->check_image("measurement", output);
  return output;
}

template <class T>
void MRI<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  const std::int64_t B = x.extent(0);
  const auto g = make_geometry<T>(this->m_img, B, 1, this->m_mask_batch, this->m_mask_channels, 1);
  const auto& w = this->workspace(B * g.P);
  run(this->execution_space(), this->m_plans, w, this->geometry(B), fft::Direction::Forward,
      "kinv::MRI::A", B * g.P, impl::MRIForwardPack<T, false>{x.view(), {}, w, g}, B * g.P,
      impl::MRIForwardUnpack<T>{w, this->m_mask.view(), y.view(), g});
}

template <class T>
void MRI<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const {
  const std::int64_t B = y.extent(0);
  const auto g = make_geometry<T>(this->m_img, B, 1, this->m_mask_batch, this->m_mask_channels, 1);
  const auto& w = this->workspace(B * g.P);
  const impl::MRIAdjointPack<T> pack{y.view(), this->m_mask.view(), w, g};
  if (accumulate)
    run(this->execution_space(), this->m_plans, w, this->geometry(B), fft::Direction::Inverse,
        "kinv::MRI::A_adjoint", B * g.P, pack, B * g.P,
        impl::MRIAdjointUnpack<T, false, true>{w, {}, x.view(), g});
  else
    run(this->execution_space(), this->m_plans, w, this->geometry(B), fft::Direction::Inverse,
        "kinv::MRI::A_adjoint", B * g.P, pack, B * g.P,
        impl::MRIAdjointUnpack<T, false, false>{w, {}, x.view(), g});
}

template <class T>
void MRI<T>::apply_noise(const Tensor<T>& y, const RandomStream& stream) const {
  LinearPhysics<T>::apply_noise(y, stream);
  const auto g =
      make_geometry<T>(this->m_img, y.extent(0), 1, this->m_mask_batch, this->m_mask_channels, 1);
  Kokkos::parallel_for("kinv::MRI::mask_noise", impl::range(this->execution_space(), y.size()),
                       impl::MRIMaskInPlace<T>{this->m_mask.view(), y.view(), g});
}

// ---------------------------------------------------------------------------------------------
// MultiCoilMRI

namespace {
// The mask's image size, or the whole shape when it is too short (the base then reports it).
Shape spatial_of(const Shape& mask, bool three_d) {
  const int n = three_d ? 3 : 2;
  return mask.rank() >= n ? trailing(mask, n) : mask;
}

template <class T>
Tensor<T> one_coil_of_ones(const Shape& img) {
  std::vector<std::int64_t> e{1, 2, 1};
  for (int i = 0; i < img.rank(); ++i) e.push_back(img[i]);
  const Shape s(e);
  // Real part 1, imaginary part 0.
  std::vector<T> v(static_cast<std::size_t>(s.size()), T(0));
  for (std::int64_t i = 0; i < s.size() / 2; ++i) v[static_cast<std::size_t>(i)] = T(1);
  return from_vector<T>("kinv::MultiCoilMRI::coil_maps", s, v);
}
}  // namespace

template <class T>
MultiCoilMRI<T>::MultiCoilMRI(const Tensor<T>& mask, const Tensor<T>& coil_maps, bool three_d)
    : impl::MRIBase<T>(mask, three_d), m_maps(coil_maps) {
  const int full = this->m_img.rank() + 3;  // (Bs, 2, N, spatial...)
  const Shape& s = coil_maps.shape();
  std::string expected = image_pattern("Bs", "N", this->m_img) + " or (2, N";
  for (int i = 0; i < this->m_img.rank(); ++i) expected += ", " + std::to_string(this->m_img[i]);
  expected += ")";
  if (s.rank() == full - 1) m_maps = coil_maps.reshaped(pad_front(s, full));
  const Shape& m = m_maps.shape();
  if (m.rank() != full || m[1] != 2 || m[2] < 1 || m[0] < 1 ||
      trailing(m, this->m_img.rank()) != this->m_img)
    throw ShapeError(name() +
                         ": coil_maps shape (complex maps as (real, imaginary) channels, the image "
                         "size being the mask's " +
                         this->m_img.to_string() + ")",
                     expected, s.to_string(), this->index());
  if (this->m_mask_batch != 1 && m[0] != 1 && m[0] != this->m_mask_batch)
    throw ShapeError(name() + ": coil_maps batch (the mask has batch " +
                         std::to_string(this->m_mask_batch) + ")",
                     "1 or " + std::to_string(this->m_mask_batch), std::to_string(m[0]),
                     this->index());
}

template <class T>
MultiCoilMRI<T>::MultiCoilMRI(const Tensor<T>& mask, bool three_d)
    : MultiCoilMRI(mask, one_coil_of_ones<T>(spatial_of(mask.shape(), three_d)), three_d) {}

template <class T>
void MultiCoilMRI<T>::check_batch(const char* what, const Shape& s, std::int64_t batch) const {
  if (m_maps.extent(0) != 1 && m_maps.extent(0) != batch)
    throw ShapeError(name() + ": " + what + " batch (the coil maps have batch " +
                         std::to_string(m_maps.extent(0)) + ")",
                     "1 or " + std::to_string(m_maps.extent(0)), s.to_string(), this->index());
}

template <class T>
Shape MultiCoilMRI<T>::output_shape(const Shape& input) const {
  const std::int64_t B = this->check_image("input", input);
  check_batch("input", input, B);
  std::vector<std::int64_t> e{B, 2, num_coils()};
  for (int i = 0; i < this->m_img.rank(); ++i) e.push_back(this->m_img[i]);
  return Shape(e);
}

template <class T>
Shape MultiCoilMRI<T>::input_shape(const Shape& output) const {
  const Shape& img = this->m_img;
  const std::int64_t N = num_coils();
  const std::string batch = this->m_mask_batch == 1 ? "B" : std::to_string(this->m_mask_batch);
  if (output.rank() != img.rank() + 3 || output[1] != 2 || output[2] != N ||
      trailing(output, img.rank()) != img || output[0] < 1 ||
      (this->m_mask_batch != 1 && output[0] != this->m_mask_batch))
    throw ShapeError(name() +
                         ": measurement shape ((real, imaginary), coils, the mask's image "
                         "size)",
                     image_pattern(batch, std::to_string(N), img), output.to_string(),
                     this->index());
  check_batch("measurement", output, output[0]);
  std::vector<std::int64_t> e{output[0], 2};
  for (int i = 0; i < img.rank(); ++i) e.push_back(img[i]);
  return Shape(e);
}

template <class T>
void MultiCoilMRI<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  const std::int64_t B = x.extent(0), N = num_coils();
  const auto g = make_geometry<T>(this->m_img, B, N, this->m_mask_batch, this->m_mask_channels,
                                  m_maps.extent(0));
  const auto& w = this->workspace(B * N * g.P);
  run(this->execution_space(), this->m_plans, w, this->geometry(B * N), fft::Direction::Forward,
      "kinv::MultiCoilMRI::A", B * N * g.P,
      impl::MRIForwardPack<T, true>{x.view(), m_maps.view(), w, g}, B * N * g.P,
      impl::MRIForwardUnpack<T>{w, this->m_mask.view(), y.view(), g});
}

template <class T>
void MultiCoilMRI<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x,
                                      bool accumulate) const {
  const std::int64_t B = y.extent(0), N = num_coils();
  const auto g = make_geometry<T>(this->m_img, B, N, this->m_mask_batch, this->m_mask_channels,
                                  m_maps.extent(0));
  const auto& w = this->workspace(B * N * g.P);
  const impl::MRIAdjointPack<T> pack{y.view(), this->m_mask.view(), w, g};
  if (accumulate)
    run(this->execution_space(), this->m_plans, w, this->geometry(B * N), fft::Direction::Inverse,
        "kinv::MultiCoilMRI::A_adjoint", B * N * g.P, pack, B * g.P,
        impl::MRIAdjointUnpack<T, true, true>{w, m_maps.view(), x.view(), g});
  else
    run(this->execution_space(), this->m_plans, w, this->geometry(B * N), fft::Direction::Inverse,
        "kinv::MultiCoilMRI::A_adjoint", B * N * g.P, pack, B * g.P,
        impl::MRIAdjointUnpack<T, true, false>{w, m_maps.view(), x.view(), g});
}

template <class T>
void MultiCoilMRI<T>::apply_noise(const Tensor<T>& y, const RandomStream& stream) const {
  LinearPhysics<T>::apply_noise(y, stream);
  const auto g = make_geometry<T>(this->m_img, y.extent(0), num_coils(), this->m_mask_batch,
                                  this->m_mask_channels, m_maps.extent(0));
  Kokkos::parallel_for("kinv::MultiCoilMRI::mask_noise",
                       impl::range(this->execution_space(), y.size()),
                       impl::MRIMaskInPlace<T>{this->m_mask.view(), y.view(), g});
}

template <class T>
double MRI<T>::cost_estimate() const {
  const Shape& img = this->img_size();
  // An FFT of the image planes, about 5 log2(points), and a mask product.
  const double points = static_cast<double>(img[img.rank() - 1] * img[img.rank() - 2] *
                                            (this->three_d() ? img[img.rank() - 3] : 1));
  return 5.0 * std::log2(std::max(points, 2.0)) + 1.0;
}

template <class T>
double MultiCoilMRI<T>::cost_estimate() const {
  const Shape& img = this->img_size();
  const double points = static_cast<double>(img[img.rank() - 1] * img[img.rank() - 2] *
                                            (this->three_d() ? img[img.rank() - 3] : 1));
  return static_cast<double>(num_coils()) * (5.0 * std::log2(std::max(points, 2.0)) + 2.0);
}

template class MRI<float>;
template class MRI<double>;
template class MultiCoilMRI<float>;
template class MultiCoilMRI<double>;

}  // namespace kinv
