#include <kinv/physics/composition.hpp>

namespace kinv {

namespace impl {
/// y += t, elementwise.
template <class T>
struct AddInPlace {
  Kokkos::View<T*, MemorySpace> y;
  Kokkos::View<const T*, MemorySpace> t;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const { y(i) += t(i); }
};
}  // namespace impl

namespace {
template <class P>
std::shared_ptr<P> not_null(std::shared_ptr<P> p, const char* who, const char* what) {
  if (!p) throw ValueError(std::string(who) + ": the " + what + " operator is null");
  return p;
}
}  // namespace

// ---------------------------------------------------------------------------------------------

template <class T>
ComposedLinearPhysics<T>::ComposedLinearPhysics(std::shared_ptr<const LinearPhysics<T>> outer,
                                                std::shared_ptr<const LinearPhysics<T>> inner)
    : m_outer(not_null(std::move(outer), "ComposedLinearPhysics", "outer")),
      m_inner(not_null(std::move(inner), "ComposedLinearPhysics", "inner")) {
  this->set_noise_model(m_outer->noise_model());
  this->set_sensor_model(m_outer->sensor_model());
}

template <class T>
std::string ComposedLinearPhysics<T>::name() const {
  return "Composed(" + m_outer->name() + " * " + m_inner->name() + ")";
}

template <class T>
Shape ComposedLinearPhysics<T>::output_shape(const Shape& input) const {
  const Shape mid = m_inner->output_shape(input);
  try {
    return m_outer->output_shape(mid);
  } catch (const ShapeError& e) {
    throw ShapeError(name() + ": the inner operator's output " + mid.to_string() + " (for input " +
                         input.to_string() + ") does not fit the outer operator (" + e.message() +
                         ")",
                     e.expected(), e.actual(), this->index());
  }
}

template <class T>
Shape ComposedLinearPhysics<T>::input_shape(const Shape& output) const {
  const Shape mid = m_outer->input_shape(output);
  try {
    return m_inner->input_shape(mid);
  } catch (const ShapeError& e) {
    throw ShapeError(name() + ": the outer operator's adjoint output " + mid.to_string() +
                         " (for measurement " + output.to_string() +
                         ") does not fit the inner operator (" + e.message() + ")",
                     e.expected(), e.actual(), this->index());
  }
}

template <class T>
const Tensor<T>& ComposedLinearPhysics<T>::intermediate(const Shape& shape) const {
  if (m_mid.shape() != shape || m_mid.data() == nullptr)
    m_mid = Tensor<T>::uninitialized("kinv::ComposedLinearPhysics::intermediate", shape);
  return m_mid;
}

template <class T>
void ComposedLinearPhysics<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  const Tensor<T>& mid = intermediate(m_inner->output_shape(x.shape()));
  const ExecutionSpace &me = this->execution_space(), &in = m_inner->execution_space(),
                       &out = m_outer->execution_space();
  impl::hand_over(me, in);
  m_inner->A(x, mid);
  impl::hand_over(in, out);
  m_outer->A(mid, y);
  impl::hand_over(out, me);
}

template <class T>
void ComposedLinearPhysics<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x,
                                               bool accumulate) const {
  const Tensor<T>& mid = intermediate(m_outer->input_shape(y.shape()));
  const ExecutionSpace &me = this->execution_space(), &in = m_inner->execution_space(),
                       &out = m_outer->execution_space();
  impl::hand_over(me, out);
  m_outer->A_adjoint(y, mid);
  impl::hand_over(out, in);
  impl::hand_over(me, in);
  if (accumulate)
    m_inner->A_adjoint_add(mid, x);
  else
    m_inner->A_adjoint(mid, x);
  impl::hand_over(in, me);
}

// ---------------------------------------------------------------------------------------------

template <class T>
SumLinearPhysics<T>::SumLinearPhysics(std::shared_ptr<const LinearPhysics<T>> first,
                                      std::shared_ptr<const LinearPhysics<T>> second)
    : m_first(not_null(std::move(first), "SumLinearPhysics", "first")),
      m_second(not_null(std::move(second), "SumLinearPhysics", "second")) {}

template <class T>
std::string SumLinearPhysics<T>::name() const {
  return "Sum(" + m_first->name() + " + " + m_second->name() + ")";
}

template <class T>
Shape SumLinearPhysics<T>::output_shape(const Shape& input) const {
  const Shape a = m_first->output_shape(input), b = m_second->output_shape(input);
  if (a != b)
    this->shape_error("output shape of the second operator (it must equal the first's for input " +
                          input.to_string() + ")",
                      a, b);
  return a;
}

template <class T>
Shape SumLinearPhysics<T>::input_shape(const Shape& output) const {
  const Shape a = m_first->input_shape(output), b = m_second->input_shape(output);
  if (a != b)
    this->shape_error(
        "adjoint output shape of the second operator (it must equal the first's "
        "for measurement " +
            output.to_string() + ")",
        a, b);
  return a;
}

template <class T>
void SumLinearPhysics<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  const ExecutionSpace &me = this->execution_space(), &a = m_first->execution_space(),
                       &b = m_second->execution_space();
  impl::hand_over(me, a);
  m_first->A(x, y);
  if (m_term.shape() != y.shape() || m_term.data() == nullptr)
    m_term = Tensor<T>::uninitialized("kinv::SumLinearPhysics::term", y.shape());
  impl::hand_over(me, b);
  m_second->A(x, m_term);
  impl::hand_over(a, me);
  impl::hand_over(b, me);
  Kokkos::parallel_for("kinv::SumLinearPhysics::A", impl::range(me, y.size()),
                       impl::AddInPlace<T>{y.view(), m_term.view()});
}

template <class T>
void SumLinearPhysics<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x,
                                          bool accumulate) const {
  const ExecutionSpace &me = this->execution_space(), &a = m_first->execution_space(),
                       &b = m_second->execution_space();
  impl::hand_over(me, a);
  if (accumulate)
    m_first->A_adjoint_add(y, x);
  else
    m_first->A_adjoint(y, x);
  impl::hand_over(a, b);
  impl::hand_over(me, b);
  m_second->A_adjoint_add(y, x);
  impl::hand_over(b, me);
}

template <class T>
double ComposedLinearPhysics<T>::cost_estimate() const {
  return m_outer->cost_estimate() + m_inner->cost_estimate();
}

template <class T>
double SumLinearPhysics<T>::cost_estimate() const {
  return m_first->cost_estimate() + m_second->cost_estimate();
}

template class ComposedLinearPhysics<float>;
template class ComposedLinearPhysics<double>;
template class SumLinearPhysics<float>;
template class SumLinearPhysics<double>;

}  // namespace kinv
