// StackedPhysics / StackedLinearPhysics: A = [A_1; ...; A_N] in one process. They are the
// reference every distributed result is compared with, and a plain single-process tool.
#pragma once

#include <kinv/physics/physics.hpp>

#include <memory>
#include <vector>

namespace kinv {

/// N operators applied to the same input; A(x) returns their N measurements.
template <class T>
class StackedPhysics {
 public:
  StackedPhysics() = default;
  /// Takes ownership; operator i gets index i (which keys its noise).
  explicit StackedPhysics(std::vector<std::unique_ptr<Physics<T>>> operators);
  virtual ~StackedPhysics() = default;
  StackedPhysics(StackedPhysics&&) noexcept = default;
  StackedPhysics& operator=(StackedPhysics&&) noexcept = default;

  /// Appends an operator (its index becomes num_operators() - 1).
  void push_back(std::unique_ptr<Physics<T>> op);
  std::int64_t num_operators() const noexcept { return static_cast<std::int64_t>(m_ops.size()); }
  Physics<T>& operator[](std::int64_t i) const { return *m_ops.at(static_cast<std::size_t>(i)); }

  /// Hands the operators over (in index order) and leaves the stack empty.
  std::vector<std::unique_ptr<Physics<T>>> release() {
    auto out = std::move(m_ops);
    m_ops.clear();
    return out;
  }

  /// Every operator's A(x), in index order.
  TensorList<T> A(const Tensor<T>& x) const;
  /// Every operator's forward(x) = S(N(A x)), in index order.
  TensorList<T> forward(const Tensor<T>& x);

 protected:
  std::vector<std::unique_ptr<Physics<T>>> m_ops;
};

/// A stack of linear operators: the adjoint sums the operators' adjoints.
template <class T>
class StackedLinearPhysics : public StackedPhysics<T> {
 public:
  StackedLinearPhysics() = default;
  explicit StackedLinearPhysics(std::vector<std::unique_ptr<LinearPhysics<T>>> operators);
  void push_back(std::unique_ptr<LinearPhysics<T>> op);

  LinearPhysics<T>& operator[](std::int64_t i) const {
    return static_cast<LinearPhysics<T>&>(StackedPhysics<T>::operator[](i));
  }

  /// sum_i A_i^T y_i; y must hold num_operators() tensors.
  Tensor<T> A_adjoint(const TensorList<T>& y) const;
  /// sum_i A_i^T A_i x.
  Tensor<T> A_adjoint_A(const Tensor<T>& x) const;
  /// [A_i (sum_j A_j^T y_j)]_i.
  TensorList<T> A_A_adjoint(const TensorList<T>& y) const;
  /// sum_i A_i^T v_i (the vector-Jacobian product at x).
  Tensor<T> A_vjp(const Tensor<T>& x, const TensorList<T>& v) const;

  /// The pseudo-inverse of the whole stack: x minimising sum_i ||A_i x - y_i||^2 (+ ||x||^2 /
  /// gamma), by kinv::least_squares over (Tensor, TensorList); y holds num_operators() tensors.
  Tensor<T> A_dagger(const TensorList<T>& y, const LeastSquaresOptions& o = {}) const;
  /// ||A||_2^2 = the largest eigenvalue of sum_i A_i^T A_i, by the power method; x0 gives the
  /// input shape.
  T compute_sqnorm(const Tensor<T>& x0, const PowerOptions& o = {}) const;

 private:
  void check_length(const char* method, const TensorList<T>& y) const;
};

extern template class StackedPhysics<float>;
extern template class StackedPhysics<double>;
extern template class StackedLinearPhysics<float>;
extern template class StackedLinearPhysics<double>;

}  // namespace kinv
