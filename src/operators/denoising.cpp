#include <kinv/operators/denoising.hpp>
#include <kinv/operators/impl/pointwise_functors.hpp>

namespace kinv {

template <class T>
Denoising<T>::Denoising(std::shared_ptr<const NoiseModel<T>> noise) {
  if (!noise) noise = std::make_shared<GaussianNoise<T>>(T(0.1));
  this->set_noise_model(std::move(noise));
}

template <class T>
Shape Denoising<T>::output_shape(const Shape& input) const {
  if (input.rank() < 1 || input.size() == 0)
    throw ShapeError(name() + ": input shape (a non-empty signal)", "a non-empty shape",
                     input.to_string(), this->index());
  return input;
}

template <class T>
void Denoising<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  Kokkos::parallel_for("kinv::Denoising::A", impl::range(this->execution_space(), x.size()),
                       impl::IdentityCopy<T, false>{x.view(), y.view()});
}

template <class T>
void Denoising<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const {
  const auto policy = impl::range(this->execution_space(), y.size());
  if (accumulate)
    Kokkos::parallel_for("kinv::Denoising::A_adjoint", policy,
                         impl::IdentityCopy<T, true>{y.view(), x.view()});
  else
    Kokkos::parallel_for("kinv::Denoising::A_adjoint", policy,
                         impl::IdentityCopy<T, false>{y.view(), x.view()});
}

template <class T>
Tensor<T> Denoising<T>::A_dagger(const Tensor<T>& y, const LeastSquaresOptions& o) const {
  auto x =
      Tensor<T>::uninitialized("kinv::Denoising::A_dagger", input_shape(output_shape(y.shape())));
  Kokkos::parallel_for("kinv::Denoising::A_dagger", impl::range(this->execution_space(), y.size()),
                       impl::IdentityCopy<T, false>{y.view(), x.view()});
  if (o.info) *o.info = SolverInfo{0, true, 0.0, {}};
  return x;
}

template class Denoising<float>;
template class Denoising<double>;

}  // namespace kinv
