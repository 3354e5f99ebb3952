// Inpainting: A = diag(m), keeping a subset of entries (deepinv.physics.Inpainting).
#pragma once

#include <kinv/physics/physics.hpp>

#include <cstdint>

namespace kinv {

/// y = m * x with a mask m broadcast to x (numpy rules, right-aligned); A^T = A.
/// As in deepinv, noise is masked too: forward(x) = S(m * N(m * x)).
template <class T>
class Inpainting : public LinearPhysics<T> {
 public:
  /// A given mask, e.g. of shape (C, H, W), (1, H, W) or (H, W); kept by reference.
  explicit Inpainting(const Tensor<T>& mask);
  /// A random Bernoulli mask keeping each entry with probability `keep_ratio`, for signals of
  /// shape `img_size` (without the batch axis, e.g. (C, H, W)). With `pixelwise` all channels
  /// of a pixel share one draw (mask of shape (1, H, W)). The mask depends on `seed` only.
  Inpainting(const Shape& img_size, double keep_ratio, std::uint64_t seed = 0,
             bool pixelwise = true);

  std::string name() const override { return "Inpainting"; }
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override { return output_shape(output); }
  const Tensor<T>& mask() const noexcept { return m_mask; }
  /// Closed form, as deepinv's DecomposablePhysics: x = y / m where m > 1e-5, else 0 (the
  /// options are not used; o.info records 0 iterations, converged).
  Tensor<T> A_dagger(const Tensor<T>& y, const LeastSquaresOptions& o = {}) const override;

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;
  void apply_noise(const Tensor<T>& y, const RandomStream& stream) const override;

 private:
  void multiply(const char* label, const Tensor<T>& in, const Tensor<T>& out,
                bool accumulate) const;
  Tensor<T> m_mask;
};

extern template class Inpainting<float>;
extern template class Inpainting<double>;

}  // namespace kinv
