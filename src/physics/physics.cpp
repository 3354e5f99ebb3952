#include <kinv/core/profiling.hpp>
#include <kinv/optim/solvers.hpp>
#include <kinv/physics/physics.hpp>

namespace kinv {

namespace {
template <class T>
bool overlap(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.size() == 0 || b.size() == 0) return false;
  const T* a0 = a.data();
  const T* b0 = b.data();
  return a0 < b0 + b.size() && b0 < a0 + a.size();
}

// The Kokkos Tools region `kinv::<operator>::<method>` (the name is built only for a tool).
template <class T>
ProfilingRegion region(const Physics<T>& op, const char* method) {
  return ProfilingRegion([&] { return "kinv::" + op.name() + "::" + method; });
}
}  // namespace

template <class T>
void Physics<T>::shape_error(const std::string& what, const Shape& expected,
                             const Shape& actual) const {
  throw ShapeError(name() + ": " + what, expected.to_string(), actual.to_string(), m_index);
}

template <class T>
void Physics<T>::value_error(const std::string& message) const {
  throw ValueError(name() + ": " + message, m_index);
}

template <class T>
void Physics<T>::check_output(const char* method, const Tensor<T>& in, const Tensor<T>& out,
                              const Shape& expected) const {
  if (out.shape() != expected)
    shape_error(std::string(method) + " output shape", expected, out.shape());
  if (overlap(in, out))
    value_error(std::string(method) +
                ": the output overlaps the input (in-place is not supported)");
}

template <class T>
Tensor<T> Physics<T>::A(const Tensor<T>& x) const {
  const auto r = region(*this, "A");
  auto y = Tensor<T>::uninitialized("kinv::" + name() + "::A", output_shape(x.shape()));
  apply_A(x, y);
  return y;
}

template <class T>
void Physics<T>::A(const Tensor<T>& x, const Tensor<T>& y) const {
  const auto r = region(*this, "A");
  check_output("A", x, y, output_shape(x.shape()));
  apply_A(x, y);
}

template <class T>
Tensor<T> Physics<T>::forward(const Tensor<T>& x) {
  const auto r = region(*this, "forward");
  Tensor<T> y = A(x);
  noise_and_sensor(y);
  return y;
}

template <class T>
void Physics<T>::forward(const Tensor<T>& x, const Tensor<T>& y) {
  const auto r = region(*this, "forward");
  A(x, y);
  noise_and_sensor(y);
}

template <class T>
void Physics<T>::noise_and_sensor(const Tensor<T>& y) {
  if (m_noise) {
    RandomStream s;
    s.seed = m_noise->seed();
    s.operator_index = static_cast<std::uint64_t>(m_index < 0 ? 0 : m_index);
    s.draw = m_draws++;
    try {
      apply_noise(y, s);
    } catch (const ValueError& e) {
      // Noise models do not know which operator they belong to: say it here.
      if (m_index < 0 || e.operator_index() >= 0) throw;
      throw ValueError(name() + ": " + e.message(), m_index);
    }
  }
  if (m_sensor) m_sensor->apply(y, m_space);
}

template <class T>
void Physics<T>::apply_noise(const Tensor<T>& y, const RandomStream& stream) const {
  m_noise->apply(y, stream, m_space);
}

// ---------------------------------------------------------------------------------------------

template <class T>
Tensor<T> LinearPhysics<T>::A_adjoint(const Tensor<T>& y) const {
  const auto r = region(*this, "A_adjoint");
  auto x =
      Tensor<T>::uninitialized("kinv::" + this->name() + "::A_adjoint", input_shape(y.shape()));
  apply_A_adjoint(y, x, false);
  return x;
}

template <class T>
void LinearPhysics<T>::A_adjoint(const Tensor<T>& y, const Tensor<T>& x) const {
  const auto r = region(*this, "A_adjoint");
  this->check_output("A_adjoint", y, x, input_shape(y.shape()));
  apply_A_adjoint(y, x, false);
}

template <class T>
void LinearPhysics<T>::A_adjoint_add(const Tensor<T>& y, const Tensor<T>& x) const {
  const auto r = region(*this, "A_adjoint");
  this->check_output("A_adjoint", y, x, input_shape(y.shape()));
  apply_A_adjoint(y, x, true);
}

template <class T>
const Tensor<T>& LinearPhysics<T>::workspace(const Shape& shape) const {
  if (m_workspace.shape() != shape || m_workspace.data() == nullptr)
    m_workspace = Tensor<T>::uninitialized("kinv::" + this->name() + "::workspace", shape);
  return m_workspace;
}

template <class T>
Tensor<T> LinearPhysics<T>::A_adjoint_A(const Tensor<T>& x) const {
  auto out = Tensor<T>::uninitialized("kinv::" + this->name() + "::A_adjoint_A", x.shape());
  A_adjoint_A(x, out);
  return out;
}

template <class T>
void LinearPhysics<T>::A_adjoint_A(const Tensor<T>& x, const Tensor<T>& out) const {
  const auto r = region(*this, "A_adjoint_A");
  const Shape ys = this->output_shape(x.shape());
  this->check_output("A_adjoint_A", x, out, input_shape(ys));
  const Tensor<T>& y = workspace(ys);
  this->apply_A(x, y);
  apply_A_adjoint(y, out, false);
}

template <class T>
void LinearPhysics<T>::A_adjoint_A_add(const Tensor<T>& x, const Tensor<T>& out) const {
  const auto r = region(*this, "A_adjoint_A");
  const Shape ys = this->output_shape(x.shape());
  this->check_output("A_adjoint_A", x, out, input_shape(ys));
  const Tensor<T>& y = workspace(ys);
  this->apply_A(x, y);
  apply_A_adjoint(y, out, true);
}

template <class T>
Tensor<T> LinearPhysics<T>::A_A_adjoint(const Tensor<T>& y) const {
  const auto r = region(*this, "A_A_adjoint");
  return this->A(A_adjoint(y));
}

template <class T>
Tensor<T> LinearPhysics<T>::A_vjp(const Tensor<T>& x, const Tensor<T>& v) const {
  auto out = Tensor<T>::uninitialized("kinv::" + this->name() + "::A_vjp", x.shape());
  A_vjp(x, v, out);
  return out;
}

template <class T>
void LinearPhysics<T>::A_vjp(const Tensor<T>& x, const Tensor<T>& v, const Tensor<T>& out) const {
  const auto r = region(*this, "A_vjp");
  const Shape ys = this->output_shape(x.shape());
  if (v.shape() != ys) this->shape_error("A_vjp cotangent shape", ys, v.shape());
  A_adjoint(v, out);
}

template <class T>
Tensor<T> LinearPhysics<T>::A_dagger(const Tensor<T>& y, const LeastSquaresOptions& o) const {
  const auto r = region(*this, "A_dagger");
  auto a = [this](const Tensor<T>& v) {
    return impl::on_own_space(*this, [&] { return this->A(v); });
  };
  auto at = [this](const Tensor<T>& v) {
    return impl::on_own_space(*this, [&] { return this->A_adjoint(v); });
  };
  auto ata = [this](const Tensor<T>& v) {
    return impl::on_own_space(*this, [&] { return this->A_adjoint_A(v); });
  };
  auto aat = [this](const Tensor<T>& v) {
    return impl::on_own_space(*this, [&] { return this->A_A_adjoint(v); });
  };
  return least_squares<Tensor<T>>(a, at, ata, aat, y, o);
}

template <class T>
T LinearPhysics<T>::compute_sqnorm(const Tensor<T>& x0, const PowerOptions& o) const {
  const auto r = region(*this, "compute_sqnorm");
  const Shape ys = this->output_shape(x0.shape());  // throws ShapeError for a bad x0
  const Shape xs = input_shape(ys);
  if (xs != x0.shape()) this->shape_error("compute_sqnorm x0 shape", xs, x0.shape());
  auto ata = [this](const Tensor<T>& v) {
    return impl::on_own_space(*this, [&] { return this->A_adjoint_A(v); });
  };
  return power_method(ata, x0, o);
}

template class Physics<float>;
template class Physics<double>;
template class LinearPhysics<float>;
template class LinearPhysics<double>;

}  // namespace kinv
