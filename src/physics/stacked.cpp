#include <kinv/core/profiling.hpp>
#include <kinv/optim/solvers.hpp>
#include <kinv/physics/stacked.hpp>

namespace kinv {

template <class T>
StackedPhysics<T>::StackedPhysics(std::vector<std::unique_ptr<Physics<T>>> operators) {
  for (auto& op : operators) push_back(std::move(op));
}

template <class T>
void StackedPhysics<T>::push_back(std::unique_ptr<Physics<T>> op) {
  if (!op)
    throw ValueError("StackedPhysics: operator " + std::to_string(m_ops.size()) + " is null");
  op->set_index(num_operators());
  m_ops.push_back(std::move(op));
}

template <class T>
TensorList<T> StackedPhysics<T>::A(const Tensor<T>& x) const {
  const ProfilingRegion region("kinv::StackedPhysics::A");
  TensorList<T> y;
  y.reserve(m_ops.size());
  for (const auto& op : m_ops) y.push_back(op->A(x));
  return y;
}

template <class T>
TensorList<T> StackedPhysics<T>::forward(const Tensor<T>& x) {
  const ProfilingRegion region("kinv::StackedPhysics::forward");
  TensorList<T> y;
  y.reserve(m_ops.size());
  for (auto& op : m_ops) y.push_back(op->forward(x));
  return y;
}

template <class T>
StackedLinearPhysics<T>::StackedLinearPhysics(
    std::vector<std::unique_ptr<LinearPhysics<T>>> operators) {
  for (auto& op : operators) push_back(std::move(op));
}

template <class T>
void StackedLinearPhysics<T>::push_back(std::unique_ptr<LinearPhysics<T>> op) {
  StackedPhysics<T>::push_back(std::move(op));
}

template <class T>
void StackedLinearPhysics<T>::check_length(const char* method, const TensorList<T>& y) const {
  if (static_cast<std::int64_t>(y.size()) != this->num_operators())
    throw ShapeError(std::string("StackedLinearPhysics::") + method + ": number of measurements",
                     std::to_string(this->num_operators()), std::to_string(y.size()));
}

template <class T>
Tensor<T> StackedLinearPhysics<T>::A_adjoint(const TensorList<T>& y) const {
  const ProfilingRegion region("kinv::StackedPhysics::A_adjoint");
  check_length("A_adjoint", y);
  if (this->num_operators() == 0)
    throw ValueError("StackedLinearPhysics::A_adjoint: the stack is empty");
  Tensor<T> x = (*this)[0].A_adjoint(y[0]);
  for (std::int64_t i = 1; i < this->num_operators(); ++i) (*this)[i].A_adjoint_add(y[i], x);
  return x;
}

template <class T>
Tensor<T> StackedLinearPhysics<T>::A_adjoint_A(const Tensor<T>& x) const {
  const ProfilingRegion region("kinv::StackedPhysics::A_adjoint_A");
  if (this->num_operators() == 0)
    throw ValueError("StackedLinearPhysics::A_adjoint_A: the stack is empty");
  Tensor<T> out = (*this)[0].A_adjoint_A(x);
  for (std::int64_t i = 1; i < this->num_operators(); ++i) (*this)[i].A_adjoint_A_add(x, out);
  return out;
}

template <class T>
TensorList<T> StackedLinearPhysics<T>::A_A_adjoint(const TensorList<T>& y) const {
  return this->A(A_adjoint(y));
}

template <class T>
Tensor<T> StackedLinearPhysics<T>::A_vjp(const Tensor<T>& x, const TensorList<T>& v) const {
  const ProfilingRegion region("kinv::StackedPhysics::A_vjp");
  check_length("A_vjp", v);
  for (std::int64_t i = 0; i < this->num_operators(); ++i) {
    const Shape ys = (*this)[i].output_shape(x.shape());
    if (v[i].shape() != ys)
      throw ShapeError("StackedLinearPhysics::A_vjp: cotangent shape", ys.to_string(),
                       v[i].shape().to_string(), i);
  }
  return A_adjoint(v);
}

template <class T>
Tensor<T> StackedLinearPhysics<T>::A_dagger(const TensorList<T>& y,
                                            const LeastSquaresOptions& o) const {
  const ProfilingRegion region("kinv::StackedPhysics::A_dagger");
  check_length("A_dagger", y);
  if (this->num_operators() == 0)
    throw ValueError("StackedLinearPhysics::A_dagger: the stack is empty");
  auto a = [this](const Tensor<T>& v) { return this->A(v); };
  auto at = [this](const TensorList<T>& v) { return this->A_adjoint(v); };
  auto ata = [this](const Tensor<T>& v) { return this->A_adjoint_A(v); };
  auto aat = [this](const TensorList<T>& v) { return this->A_A_adjoint(v); };
  return least_squares<Tensor<T>>(a, at, ata, aat, y, o);
}

template <class T>
T StackedLinearPhysics<T>::compute_sqnorm(const Tensor<T>& x0, const PowerOptions& o) const {
  const ProfilingRegion region("kinv::StackedPhysics::compute_sqnorm");
  if (this->num_operators() == 0)
    throw ValueError("StackedLinearPhysics::compute_sqnorm: the stack is empty");
  for (std::int64_t i = 0; i < this->num_operators(); ++i) {
    const LinearPhysics<T>& op = (*this)[i];
    const Shape xs = op.input_shape(op.output_shape(x0.shape()));
    if (xs != x0.shape())
      throw ShapeError("StackedLinearPhysics::compute_sqnorm: x0 shape", xs.to_string(),
                       x0.shape().to_string(), i);
  }
  auto ata = [this](const Tensor<T>& v) { return this->A_adjoint_A(v); };
  return power_method(ata, x0, o);
}

template class StackedPhysics<float>;
template class StackedPhysics<double>;
template class StackedLinearPhysics<float>;
template class StackedLinearPhysics<double>;

}  // namespace kinv
