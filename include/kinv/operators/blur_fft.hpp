// BlurFFT: deepinv.physics.BlurFFT, a circular convolution computed with FFTs (the filter is
// zero-padded to the image, centred by rolling by -(f // 2), and transformed once).
#pragma once

#include <kinv/fft/fft.hpp>
#include <kinv/operators/impl/blur_fft_engine.hpp>
#include <kinv/physics/physics.hpp>

namespace kinv {

/// y = k * x with periodic boundaries, x and y of shape (B, C, H, W): the same operator as
/// Blur(filter, Padding::Circular), y[i, j] = sum_{u, v} k[u, v] x[(i + h // 2 - u) mod H,
/// (j + w // 2 - v) mod W], computed through FFTs in O(H W log(H W)) per image whatever the
/// filter size.
///
/// As in deepinv, the image size is given at construction: `img_size` is (C, H, W) (deepinv's
/// order) or (H, W) (any channel count), and the filter, as Blur takes it, has shape
/// (b, c, h, w) with b in {1, B}, c in {1, C}, or (h, w), with h <= H and w <= W. The filter's
/// spectra are computed once, at construction. A_adjoint is the exact adjoint (a circular
/// correlation). The FFT plans and the work buffer belong to the execution space instance, not
/// to the operator: every FFT blur on one instance (the N blurs of a stack on a rank) shares
/// one set, so memory does not grow with N. Concurrent calls on blurs of one instance are
/// serialised by a mutex, so they are safe but do not overlap; blurs on different instances
/// (streams) run independently.
template <class T>
class BlurFFT : public LinearPhysics<T> {
 public:
  BlurFFT(const Shape& img_size, const Tensor<T>& filter);

  std::string name() const override { return "BlurFFT"; }
  double cost_estimate() const override;
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override { return output_shape(output); }

  /// The filter, of shape (b, c, h, w).
  const Tensor<T>& filter() const noexcept { return m_filter; }
  /// (C, H, W) or (H, W), as given.
  const Shape& img_size() const noexcept { return m_img_size; }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;

 private:
  Tensor<T> m_filter;
  Shape m_img_size;
  std::int64_t m_H = 0, m_W = 0;
  mutable impl::BlurFFTEngine<T> m_engine;
};

extern template class BlurFFT<float>;
extern template class BlurFFT<double>;

}  // namespace kinv
