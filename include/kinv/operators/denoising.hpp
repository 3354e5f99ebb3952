// Denoising: the identity operator whose forward adds noise (deepinv.physics.Denoising).
#pragma once

#include <kinv/physics/physics.hpp>

#include <memory>

namespace kinv {

/// A = A^T = I on signals of any non-empty shape; forward(x) = S(N(x)). As in deepinv, the
/// noise model defaults to GaussianNoise(sigma = 0.1) (pass one to change it, or call
/// set_noise_model(nullptr) afterwards for none).
template <class T>
class Denoising : public LinearPhysics<T> {
 public:
  /// With GaussianNoise(0.1) (deepinv's default) when `noise` is null.
  explicit Denoising(std::shared_ptr<const NoiseModel<T>> noise = nullptr);

  std::string name() const override { return "Denoising"; }
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override { return output_shape(output); }
  /// A^+ = I: a copy of y (the options are not used; o.info records 0 iterations, converged).
  Tensor<T> A_dagger(const Tensor<T>& y, const LeastSquaresOptions& o = {}) const override;

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;
};

extern template class Denoising<float>;
extern template class Denoising<double>;

}  // namespace kinv
