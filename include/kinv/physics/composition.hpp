// Operator algebra on linear physics: composition A * B (deepinv's LinearPhysics.__mul__ and
// compose), the sum A + B as a named class, and stack(A, B, ...) (deepinv's stack).
#pragma once

#include <kinv/physics/physics.hpp>
#include <kinv/physics/stacked.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace kinv {

/// (outer * inner)(x) = outer(inner(x)); the adjoint is inner^T(outer^T(y)).
///
/// As in deepinv, the composition takes the outer (last applied) operator's noise and sensor
/// models when it is built (plain noise: an outer Inpainting's masking of its own noise is not
/// carried over, as deepinv's ComposedPhysics applies the noise model alone). The operands are
/// shared, not copied; the intermediate inner(x) lives in a workspace kept between calls of the
/// same shape. Shapes are checked at each call: inner's output shape must fit outer's input.
template <class T>
class ComposedLinearPhysics : public LinearPhysics<T> {
 public:
  ComposedLinearPhysics(std::shared_ptr<const LinearPhysics<T>> outer,
                        std::shared_ptr<const LinearPhysics<T>> inner);

  std::string name() const override;
  double cost_estimate() const override;
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override;

  const LinearPhysics<T>& outer() const noexcept { return *m_outer; }
  const LinearPhysics<T>& inner() const noexcept { return *m_inner; }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;

 private:
  const Tensor<T>& intermediate(const Shape& shape) const;
  std::shared_ptr<const LinearPhysics<T>> m_outer, m_inner;
  mutable Tensor<T> m_mid;
};

/// (first + second)(x) = first(x) + second(x), for operators with the same input and output
/// shapes; the adjoint is first^T(y) + second^T(y) (the second through the accumulating adjoint).
/// deepinv has no sum of physics (its `+` is not defined on physics); this one has no noise or
/// sensor model unless one is set.
template <class T>
class SumLinearPhysics : public LinearPhysics<T> {
 public:
  SumLinearPhysics(std::shared_ptr<const LinearPhysics<T>> first,
                   std::shared_ptr<const LinearPhysics<T>> second);

  std::string name() const override;
  double cost_estimate() const override;
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override;

  const LinearPhysics<T>& first() const noexcept { return *m_first; }
  const LinearPhysics<T>& second() const noexcept { return *m_second; }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;

 private:
  std::shared_ptr<const LinearPhysics<T>> m_first, m_second;
  mutable Tensor<T> m_term;
};

namespace impl {
template <class P>
using linear_value_t =
    std::enable_if_t<std::is_base_of<LinearPhysics<typename P::value_type>, P>::value,
                     typename P::value_type>;
}  // namespace impl

/// A * B = A o B (deepinv's `A * B`): B is applied first. Also takes unique_ptrs (converted).
template <class A, class B, class T = impl::linear_value_t<A>,
          class = std::enable_if_t<std::is_same<T, impl::linear_value_t<B>>::value>>
std::shared_ptr<ComposedLinearPhysics<T>> operator*(std::shared_ptr<A> a, std::shared_ptr<B> b) {
  return std::make_shared<ComposedLinearPhysics<T>>(std::move(a), std::move(b));
}

/// deepinv's compose(p_1, ..., p_k): applies p_1 first and p_k last, i.e. p_k * ... * p_1
/// (note the order: the reverse of the product notation). Returns a unique_ptr, as factories do.
template <class P1, class P2, class T = impl::linear_value_t<P1>>
std::unique_ptr<ComposedLinearPhysics<T>> compose(std::shared_ptr<P1> first,
                                                  std::shared_ptr<P2> second) {
  static_assert(std::is_same<T, impl::linear_value_t<P2>>::value, "one scalar type");
  return std::make_unique<ComposedLinearPhysics<T>>(std::move(second), std::move(first));
}
template <class P1, class P2, class P3, class... Rest, class T = impl::linear_value_t<P1>>
std::unique_ptr<ComposedLinearPhysics<T>> compose(std::shared_ptr<P1> first,
                                                  std::shared_ptr<P2> second,
                                                  std::shared_ptr<P3> third, Rest... rest) {
  return compose(std::shared_ptr<ComposedLinearPhysics<T>>(compose(first, second)),
                 std::move(third), std::move(rest)...);
}

/// first + second as a SumLinearPhysics (a named function: deepinv gives `+` no meaning).
template <class P1, class P2, class T = impl::linear_value_t<P1>>
std::unique_ptr<SumLinearPhysics<T>> sum(std::shared_ptr<P1> first, std::shared_ptr<P2> second) {
  static_assert(std::is_same<T, impl::linear_value_t<P2>>::value, "one scalar type");
  return std::make_unique<SumLinearPhysics<T>>(std::move(first), std::move(second));
}

/// deepinv's stack(p_1, ..., p_k) of linear operators: a StackedLinearPhysics owning them, in
/// order (operator i gets index i).
template <class P1, class... Rest, class T = impl::linear_value_t<P1>>
StackedLinearPhysics<T> stack(std::unique_ptr<P1> first, std::unique_ptr<Rest>... rest) {
  StackedLinearPhysics<T> s;
  s.push_back(std::unique_ptr<LinearPhysics<T>>(std::move(first)));
  using expand = int[];
  (void)expand{0, (s.push_back(std::unique_ptr<LinearPhysics<T>>(std::move(rest))), 0)...};
  return s;
}

extern template class ComposedLinearPhysics<float>;
extern template class ComposedLinearPhysics<double>;
extern template class SumLinearPhysics<float>;
extern template class SumLinearPhysics<double>;

}  // namespace kinv
