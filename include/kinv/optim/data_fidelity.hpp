// Distances d(u, y) and data-fidelity terms f(x) = d(A x, y) (deepinv.optim.distance and
// deepinv.optim.data_fidelity): the L2 distance 1/(2 sigma^2) ||u - y||^2 and the L1 distance
// ||u - y||_1, each with its gradient in u. Values are per batch element, as deepinv's are: a
// tensor of shape {B} for inputs of shape (B, ...).
#pragma once

#include <kinv/physics/physics.hpp>

#include <memory>
#include <string>

namespace kinv {

/// A distance d(u, y) between a measurement-shaped u and the measurement y.
template <class T>
class Distance {
 public:
  virtual ~Distance() = default;
  virtual std::string name() const = 0;
  /// d(u, y) per batch element: shape {B} for u, y of shape (B, ...).
  Tensor<T> fn(const Tensor<T>& u, const Tensor<T>& y) const;
  /// out(b) += d(u_b, y_b) (out of shape {B}).
  void fn_add(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const;
  /// The gradient of d in u, allocated.
  Tensor<T> grad(const Tensor<T>& u, const Tensor<T>& y) const;
  /// The gradient of d in u, written into out (which may be u itself).
  void grad(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const;

 protected:
  Distance() = default;
  /// Shapes are checked; out(b) += d(u_b, y_b).
  virtual void apply_fn_add(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const = 0;
  /// Shapes are checked; out may alias u.
  virtual void apply_grad(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const = 0;

 private:
  void check(const char* method, const Tensor<T>& u, const Tensor<T>& y) const;
};

/// d(u, y) = 1 / (2 sigma^2) ||u - y||^2, gradient (u - y) / sigma^2.
template <class T>
class L2Distance : public Distance<T> {
 public:
  explicit L2Distance(double sigma = 1.0);
  std::string name() const override { return "L2Distance"; }
  double sigma() const noexcept { return m_sigma; }

 protected:
  void apply_fn_add(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const override;
  void apply_grad(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const override;

 private:
  double m_sigma;
};

/// d(u, y) = ||u - y||_1, (sub)gradient sign(u - y) (0 where u == y).
template <class T>
class L1Distance : public Distance<T> {
 public:
  std::string name() const override { return "L1Distance"; }

 protected:
  void apply_fn_add(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const override;
  void apply_grad(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const override;
};

/// f(x) = d(A x, y) for a physics A and a distance d; grad f(x) = A^T grad d(A x, y).
template <class T>
class DataFidelity {
 public:
  using value_type = T;

  explicit DataFidelity(std::shared_ptr<const Distance<T>> distance);
  virtual ~DataFidelity() = default;

  const Distance<T>& d() const noexcept { return *m_distance; }
  std::string name() const { return "DataFidelity(" + m_distance->name() + ")"; }

  /// d(A x, y), shape {B}.
  Tensor<T> fn(const Tensor<T>& x, const Tensor<T>& y, const Physics<T>& physics) const;
  /// A^T grad d(A x, y) (the vector-Jacobian product of A at x), shape of x.
  Tensor<T> grad(const Tensor<T>& x, const Tensor<T>& y, const LinearPhysics<T>& physics) const;

 private:
  std::shared_ptr<const Distance<T>> m_distance;
};

/// deepinv's L2 data fidelity: d = L2Distance(sigma).
template <class T>
class L2 : public DataFidelity<T> {
 public:
  explicit L2(double sigma = 1.0) : DataFidelity<T>(std::make_shared<L2Distance<T>>(sigma)) {}
};

/// deepinv's L1 data fidelity: d = L1Distance.
template <class T>
class L1 : public DataFidelity<T> {
 public:
  L1() : DataFidelity<T>(std::make_shared<L1Distance<T>>()) {}
};

extern template class Distance<float>;
extern template class Distance<double>;
extern template class L2Distance<float>;
extern template class L2Distance<double>;
extern template class L1Distance<float>;
extern template class L1Distance<double>;
extern template class DataFidelity<float>;
extern template class DataFidelity<double>;

}  // namespace kinv
