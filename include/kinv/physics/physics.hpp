// Physics<T> (y = A x, forward = S(N(A x))) and LinearPhysics<T> (adjoint and friends): the
// interfaces every operator implements and every stack, local or distributed, is built from.
#pragma once

#include <kinv/core/tensor.hpp>
#include <kinv/optim/options.hpp>
#include <kinv/physics/noise.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace kinv {

namespace impl {
/// Orders work on two execution space instances: what was launched on `from` completes before
/// anything launched on `to` from now on. A fence of `from` when they differ; nothing when they
/// are the same instance, whose work runs in order. Composite operators and the solvers call it
/// where data passes between an operator's instance and another.
inline void hand_over(const ExecutionSpace& from, const ExecutionSpace& to) {
  if (!compat::same_instance(from, to)) from.fence();
}

/// Runs f, a call of `op`, from code whose vector algebra runs on the default instance (the
/// solvers, data fidelities): that work completes before the operator starts on its own
/// instance, and the operator's before the algebra reads the result. No fence when `op` runs
/// on the default instance.
template <class Op, class F>
auto on_own_space(const Op& op, F&& f) {
  hand_over(ExecutionSpace(), op.execution_space());
  auto out = f();
  hand_over(op.execution_space(), ExecutionSpace());
  return out;
}
}  // namespace impl

/// A forward operator y = A(x) with an optional noise model and sensor model.
///
/// The public methods validate shapes and report errors naming the operator's index in its
/// stack; derived classes implement `output_shape` and `apply_A`. Methods that take the output
/// write into it and allocate nothing. Objects are not safe to use from several threads at once.
template <class T>
class Physics {
 public:
  using value_type = T;

  virtual ~Physics() = default;
  Physics(const Physics&) = delete;
  Physics& operator=(const Physics&) = delete;

  /// Operator name used in messages and kernel labels, e.g. "Blur".
  virtual std::string name() const = 0;
  /// Shape of A(x) for x of shape `input`; throws ShapeError when `input` does not fit.
  virtual Shape output_shape(const Shape& input) const = 0;
  /// Whether this is a LinearPhysics.
  virtual bool is_linear() const { return false; }
  /// A rough cost of one call of A (or A^T), in multiply-adds per element of the input: 1 for
  /// pointwise operators, the taps of a direct blur, the angles of a tomography, about
  /// 5 log2(pixels) per transform of an FFT. Used to balance stacks over ranks
  /// (Partition::CostBalanced); only the ratios between a stack's operators matter.
  virtual double cost_estimate() const { return 1.0; }

  /// y = A(x), allocated.
  Tensor<T> A(const Tensor<T>& x) const;
  /// y = A(x), written into y (shape output_shape(x.shape())).
  void A(const Tensor<T>& x, const Tensor<T>& y) const;

  /// y = S(N(A(x))): each call draws fresh noise (the draw count is part of the stream).
  Tensor<T> forward(const Tensor<T>& x);
  void forward(const Tensor<T>& x, const Tensor<T>& y);
  Tensor<T> operator()(const Tensor<T>& x) { return forward(x); }

  /// Applies noise then sensor to a clean measurement y, in place, as forward does.
  void noise_and_sensor(const Tensor<T>& y);

  void set_noise_model(std::shared_ptr<const NoiseModel<T>> noise) { m_noise = std::move(noise); }
  const std::shared_ptr<const NoiseModel<T>>& noise_model() const noexcept { return m_noise; }
  void set_sensor_model(std::shared_ptr<const SensorModel<T>> sensor) {
    m_sensor = std::move(sensor);
  }
  const std::shared_ptr<const SensorModel<T>>& sensor_model() const noexcept { return m_sensor; }

  /// Index of this operator in its stack (-1 when standalone). Stacks set it; it names the
  /// operator in errors and keys its noise.
  std::int64_t index() const noexcept { return m_index; }
  void set_index(std::int64_t index) noexcept { m_index = index; }
  /// Number of noise draws so far (the next forward uses draw number noise_draws()).
  std::uint64_t noise_draws() const noexcept { return m_draws; }
  /// Rewinds or advances the draw count (to replay or skip noise realisations).
  void set_noise_draws(std::uint64_t draws) noexcept { m_draws = draws; }

  /// Execution space instance the kernels run on (e.g. a user's CUDA stream).
  const ExecutionSpace& execution_space() const noexcept { return m_space; }
  /// Moves the operator to another instance. Work already launched on the old one (set-up
  /// kernels of the constructor, say) is fenced first, so the new instance never races it.
  void set_execution_space(const ExecutionSpace& space) {
    impl::hand_over(m_space, space);
    m_space = space;
  }

 protected:
  Physics() = default;
  /// y = A(x); shapes are already checked and x, y do not overlap.
  virtual void apply_A(const Tensor<T>& x, const Tensor<T>& y) const = 0;
  /// y <- N(y); operators whose noise is shaped (e.g. masked) override this.
  virtual void apply_noise(const Tensor<T>& y, const RandomStream& stream) const;

  /// Throws ShapeError naming this operator.
  [[noreturn]] void shape_error(const std::string& what, const Shape& expected,
                                const Shape& actual) const;
  /// Throws ValueError naming this operator.
  [[noreturn]] void value_error(const std::string& message) const;
  /// Checks that `out` has shape `expected` and does not overlap `in`.
  void check_output(const char* method, const Tensor<T>& in, const Tensor<T>& out,
                    const Shape& expected) const;

 private:
  std::shared_ptr<const NoiseModel<T>> m_noise;
  std::shared_ptr<const SensorModel<T>> m_sensor;
  std::int64_t m_index = -1;
  std::uint64_t m_draws = 0;
  ExecutionSpace m_space;
};

/// A linear operator: adds the adjoint and the products built from it.
template <class T>
class LinearPhysics : public Physics<T> {
 public:
  bool is_linear() const override { return true; }
  /// Shape of A^T(y) for y of shape `output`; throws ShapeError when `output` does not fit.
  virtual Shape input_shape(const Shape& output) const = 0;

  /// x = A^T(y), allocated.
  Tensor<T> A_adjoint(const Tensor<T>& y) const;
  /// x = A^T(y), written into x.
  void A_adjoint(const Tensor<T>& y, const Tensor<T>& x) const;
  /// x += A^T(y).
  void A_adjoint_add(const Tensor<T>& y, const Tensor<T>& x) const;

  /// A^T A x (through a workspace kept between calls of the same shape).
  Tensor<T> A_adjoint_A(const Tensor<T>& x) const;
  void A_adjoint_A(const Tensor<T>& x, const Tensor<T>& out) const;
  /// out += A^T A x.
  void A_adjoint_A_add(const Tensor<T>& x, const Tensor<T>& out) const;

  /// A A^T y.
  Tensor<T> A_A_adjoint(const Tensor<T>& y) const;

  /// Vector-Jacobian product at x with cotangent v: A^T v for a linear operator.
  Tensor<T> A_vjp(const Tensor<T>& x, const Tensor<T>& v) const;
  void A_vjp(const Tensor<T>& x, const Tensor<T>& v, const Tensor<T>& out) const;

  /// The pseudo-inverse A^+ y: x minimising ||A x - y||^2 (+ ||x||^2 / gamma with o.gamma),
  /// by kinv::least_squares with this operator's A, A_adjoint, A_adjoint_A and A_A_adjoint
  /// (deepinv's LinearPhysics.A_dagger: CG, 50 iterations, tolerance 1e-4 by default).
  /// Operators with a closed form (Inpainting, Denoising) override it.
  virtual Tensor<T> A_dagger(const Tensor<T>& y, const LeastSquaresOptions& o = {}) const;

  /// ||A||_2^2 = the largest eigenvalue of A^T A, by the power method on A_adjoint_A
  /// (deepinv's compute_sqnorm: 100 iterations, tolerance 1e-3). x0 gives the input shape.
  T compute_sqnorm(const Tensor<T>& x0, const PowerOptions& o = {}) const;

 protected:
  /// x = A^T(y), or x += A^T(y) when `accumulate`; shapes are checked, no overlap.
  virtual void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const = 0;

 private:
  const Tensor<T>& workspace(const Shape& shape) const;
  mutable Tensor<T> m_workspace;
};

extern template class Physics<float>;
extern template class Physics<double>;
extern template class LinearPhysics<float>;
extern template class LinearPhysics<double>;

}  // namespace kinv
