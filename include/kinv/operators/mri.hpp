// MRI and MultiCoilMRI: deepinv.physics.MRI and deepinv.physics.MultiCoilMRI, Cartesian k-space
// sampling y = M F (S_c x) with deepinv's centred unitary FFT, fftshift(fftn(ifftshift(.))),
// norm="ortho", on complex data stored as (real, imaginary) in a channel axis of size 2.
#pragma once

#include <kinv/fft/fft.hpp>
#include <kinv/physics/physics.hpp>

namespace kinv {

namespace impl {
/// What MRI and MultiCoilMRI share: the mask, the FFT plans and the complex workspace.
template <class T>
class MRIBase : public LinearPhysics<T> {
 public:
  /// The mask as given, (H, W), (C, H, W), (B, C, H, W) (2-D) or up to (B, C, D, H, W) (3-D).
  const Tensor<T>& mask() const noexcept { return m_mask; }
  bool three_d() const noexcept { return m_three_d; }
  /// Spatial extents (H, W) or (D, H, W): the mask's trailing ones.
  const Shape& img_size() const noexcept { return m_img; }

 protected:
  MRIBase(const Tensor<T>& mask, bool three_d);
  /// Ones of shape `img_size` (H, W) or (D, H, W), deepinv's default mask.
  static Tensor<T> ones_mask(const Shape& img_size, bool three_d);

  /// Checks x = (B, 2, [D,] H, W) against the mask; returns B.
  std::int64_t check_image(const char* what, const Shape& x) const;
  /// Complex workspace of at least n values, kept between calls.
  const fft::ComplexView<T>& workspace(std::int64_t n) const;
  fft::Geometry geometry(std::int64_t batch) const { return fft::Geometry::make(m_img, batch); }

  Tensor<T> m_mask;
  bool m_three_d;
  Shape m_img;
  // The mask viewed as (Bm, Cm, P) with P = prod(img_size), Bm in {1, B}, Cm in {1, 2}.
  std::int64_t m_mask_batch = 1, m_mask_channels = 1;
  mutable fft::PlanCache<T> m_plans;
  mutable fft::ComplexView<T> m_work;
};
}  // namespace impl

/// Single-coil MRI, deepinv.physics.MRI: y = M F x with F = fftshift(fftn(ifftshift(x))) over
/// (H, W) (or (D, H, W) when three_d), unitary ("ortho"). x and y have shape (B, 2, H, W) (or
/// (B, 2, D, H, W)), channel 0 the real part, channel 1 the imaginary part.
///
/// The mask broadcasts as in deepinv: it is viewed as (Bm, Cm, [D,] H, W) by adding leading
/// axes, with Bm in {1, B} and Cm in {1, 2} (Cm = 1 masks both parts alike); its trailing
/// extents are the image size. A_adjoint = F^H M (M real). The mask is kept by reference.
template <class T>
class MRI : public impl::MRIBase<T> {
 public:
  explicit MRI(const Tensor<T>& mask, bool three_d = false);
  /// A mask of ones of shape `img_size` ((H, W) or, with three_d, (D, H, W)): no acceleration.
  explicit MRI(const Shape& img_size, bool three_d = false);

  std::string name() const override { return "MRI"; }
  double cost_estimate() const override;
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override;

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;
  void apply_noise(const Tensor<T>& y, const RandomStream& stream) const override;
};

/// Multi-coil MRI, deepinv.physics.MultiCoilMRI: y_c = M F (S_c x) for coils c = 1..N, and
/// A^T y = sum_c conj(S_c) F^H M y_c.
///
/// x has shape (B, 2, [D,] H, W), y has shape (B, 2, N, [D,] H, W) (deepinv's layout). The coil
/// sensitivity maps are deepinv's complex (Bs, N, [D,] H, W) maps stored as real pairs like y:
/// shape (Bs, 2, N, [D,] H, W) or (2, N, [D,] H, W), Bs in {1, B}. The mask broadcasts over the
/// coils as in deepinv (mask[:, :, None]). Mask and maps are kept by reference.
///
/// One MultiCoilMRI per coil (or coil group) is an operator of a stack: stacked, they give the
/// same measurements as one MultiCoilMRI with all the coils, and the sum of their adjoints is
/// its adjoint.
template <class T>
class MultiCoilMRI : public impl::MRIBase<T> {
 public:
  MultiCoilMRI(const Tensor<T>& mask, const Tensor<T>& coil_maps, bool three_d = false);
  /// Maps of ones for one coil (deepinv's default): single-coil MRI with a coil axis.
  explicit MultiCoilMRI(const Tensor<T>& mask, bool three_d = false);

  std::string name() const override { return "MultiCoilMRI"; }
  double cost_estimate() const override;
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override;

  /// The maps, of shape (Bs, 2, N, [D,] H, W).
  const Tensor<T>& coil_maps() const noexcept { return m_maps; }
  std::int64_t num_coils() const noexcept { return m_maps.extent(2); }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;
  void apply_noise(const Tensor<T>& y, const RandomStream& stream) const override;

 private:
  void check_batch(const char* what, const Shape& s, std::int64_t batch) const;
  Tensor<T> m_maps;
};

extern template class impl::MRIBase<float>;
extern template class impl::MRIBase<double>;
extern template class MRI<float>;
extern template class MRI<double>;
extern template class MultiCoilMRI<float>;
extern template class MultiCoilMRI<double>;

}  // namespace kinv
