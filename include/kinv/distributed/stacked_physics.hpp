// DistributedStackedPhysics / DistributedStackedLinearPhysics: a stack A = [A_1; ...; A_N]
// spread over the ranks of a DistributedContext (deepinv.distributed). Each rank builds and
// runs only its own operators; results are assembled with the chosen gather strategy, and
// adjoints are summed with one in-place all-reduce.
//
// Every method that communicates is collective: all ranks must call it, in the same order. An
// error on any rank (a factory that throws, a wrong shape, a failed kernel) is agreed on and
// thrown as the same kinv::RemoteError on every rank, so no rank is left waiting.
#pragma once

#include <kinv/comm/gather.hpp>
#include <kinv/distributed/context.hpp>
#include <kinv/distributed/factory_args.hpp>
#include <kinv/distributed/partition.hpp>
#include <kinv/optim/options.hpp>
#include <kinv/physics/physics.hpp>

#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

namespace kinv {

/// When the ranks check that they are in the same call with the same arguments.
enum class Validation {
  /// On the first call of each kind and input shape, and after an error (default): steady-state
  /// calls then skip the check, as nothing checked can differ without changing the shape.
  FirstCallOfEachShape,
  /// On every collective call, with one small all-gather first (for debugging: a rank that
  /// makes another call than the others then fails with a clear error instead of mismatching
  /// collectives).
  EveryCall,
};

/// Options of a distributed stack (deepinv's keyword arguments).
struct DistributedOptions {
  GatherStrategy gather_strategy = GatherStrategy::Concatenated;
  /// Which rank owns which operator: round-robin (deepinv's), block, or balanced by cost.
  Partition partition = Partition::RoundRobin;
  /// The operators' costs for Partition::CostBalanced: N values, the same on every rank. When
  /// empty, the operators' own Physics::cost_estimate() values are used: the stack is built
  /// round-robin first, the estimates are gathered, and the operators that move are built
  /// again on their new rank (their factories run twice).
  std::vector<double> costs;
  /// Sums over operators (A_adjoint, A_adjoint_A, A_vjp, reduce = Sum or Mean, data-fidelity
  /// gradients) add the operators' terms in operator order on every rank, so that the result
  /// is bitwise the same at any number of ranks and with any partition. Costs a gather of every
  /// operator's term (N times the result's size on every rank) instead of one all-reduce.
  bool reproducible = false;
  /// See Validation.
  Validation validation = Validation::FirstCallOfEachShape;
};

/// The factory every form is normalised to: operator i for this rank's device.
template <class T>
using PhysicsFactory = std::function<std::unique_ptr<Physics<T>>(
    std::int64_t index, const Device& device, const FactoryArgs<T>& kwargs)>;

namespace impl {
template <class>
struct always_false : std::false_type {};

/// Accepts factories taking (index), (index, device) or (index, device, kwargs) and returning
/// a std::unique_ptr to a Physics<T> or a class derived from it.
template <class T, class F>
PhysicsFactory<T> normalize_factory(F f) {
  if constexpr (std::is_invocable_v<F&, std::int64_t, const Device&, const FactoryArgs<T>&>) {
    return [f](std::int64_t i, const Device& d, const FactoryArgs<T>& a) mutable {
      return std::unique_ptr<Physics<T>>(f(i, d, a));
    };
  } else if constexpr (std::is_invocable_v<F&, std::int64_t, const Device&>) {
    return [f](std::int64_t i, const Device& d, const FactoryArgs<T>&) mutable {
      return std::unique_ptr<Physics<T>>(f(i, d));
    };
  } else if constexpr (std::is_invocable_v<F&, std::int64_t>) {
    return [f](std::int64_t i, const Device&, const FactoryArgs<T>&) mutable {
      return std::unique_ptr<Physics<T>>(f(i));
    };
  } else {
    static_assert(always_false<F>::value,
                  "a kinv factory takes (index), (index, device) or (index, device, kwargs) "
                  "and returns a std::unique_ptr to a kinv::Physics<T>");
    return {};
  }
}
}  // namespace impl

template <class T>
class DistributedStackedPhysics {
 public:
  using value_type = T;

  /// Builds this rank's operators with `factory` (collective).
  template <class F>
  DistributedStackedPhysics(DistributedContext& ctx, std::int64_t num_operators, F factory,
                            const DistributedOptions& options = {})
      : DistributedStackedPhysics(ctx, num_operators,
                                  impl::normalize_factory<T>(std::move(factory)), FactoryArgs<T>{},
                                  options, false) {}
  /// Same, with `kwargs` set on rank 0 and broadcast to every rank before the factory runs.
  template <class F>
  DistributedStackedPhysics(DistributedContext& ctx, std::int64_t num_operators, F factory,
                            const FactoryArgs<T>& kwargs, const DistributedOptions& options = {})
      : DistributedStackedPhysics(ctx, num_operators,
                                  impl::normalize_factory<T>(std::move(factory)), kwargs, options,
                                  false) {}

  virtual ~DistributedStackedPhysics();
  DistributedStackedPhysics(const DistributedStackedPhysics&) = delete;
  DistributedStackedPhysics& operator=(const DistributedStackedPhysics&) = delete;

  /// A_i(x) for every operator. With `gather` every rank gets all N results (in index order,
  /// views of a reused buffer that stay valid while held); without, only this rank's, in
  /// local_indices() order. With `reduce` = Sum or Mean the results (which must share a
  /// shape) are summed (or averaged) over operators and the list holds that one tensor.
  TensorList<T> A(const Tensor<T>& x, bool gather = true, Reduce reduce = Reduce::None) const;
  /// S_i(N_i(A_i x)) for every operator: noise is keyed by operator index, so the result is
  /// the same for any number of ranks and any strategy.
  TensorList<T> forward(const Tensor<T>& x, bool gather = true, Reduce reduce = Reduce::None);

  std::int64_t num_operators() const noexcept { return m_num; }
  /// This rank's operator indices, increasing.
  const std::vector<std::int64_t>& local_indices() const noexcept { return m_local; }
  /// Runs this rank's operators, the stack's own kernels and the fences before MPI calls on
  /// `space`: a user's execution space instance (a CUDA or HIP stream, a partition of the
  /// OpenMP threads). Work the caller queued on that instance before a call is ordered before
  /// it, without a fence. Sets the instance of every local operator; not collective.
  void set_execution_space(const ExecutionSpace& space);
  const ExecutionSpace& execution_space() const noexcept { return m_space; }
  /// owners()[i]: the rank that owns operator i (the same vector on every rank).
  const std::vector<int>& owners() const noexcept { return m_owner; }
  const DistributedOptions& options() const noexcept { return m_options; }
  std::size_t num_local_operators() const noexcept { return m_ops.size(); }
  /// This rank's k-th operator (index local_indices()[k]).
  Physics<T>& local_operator(std::size_t k) const { return *m_ops.at(k); }
  /// Rank that owns operator i.
  int owner(std::int64_t i) const { return m_owner.at(static_cast<std::size_t>(i)); }

  GatherStrategy gather_strategy() const noexcept { return m_options.gather_strategy; }
  /// Changes the strategy (collective: every rank calls it with the same strategy, else every
  /// rank gets a kinv::ValueError and the strategy stays as it was).
  void set_gather_strategy(GatherStrategy s);
  const FactoryArgs<T>& factory_args() const noexcept { return m_args; }
  const Device& device() const noexcept { return m_device; }
  const comm::Communicator& communicator() const noexcept { return m_comm; }

 protected:
  DistributedStackedPhysics(DistributedContext& ctx, std::int64_t num_operators,
                            PhysicsFactory<T> factory, FactoryArgs<T> kwargs,
                            const DistributedOptions& options, bool require_linear);

  template <class>
  friend class DistributedDataFidelity;

  enum class Method {
    A = 0,
    Forward,
    AdjointSum,
    Vjp,
    AdjointA,
    Dagger,
    Sqnorm,
    Fidelity,
    FidelityGrad,
    Count
  };

  /// term(k, out, add): local operator k's term of a sum, written into out (add = false) or
  /// added to it (add = true).
  using Term = std::function<void(std::size_t k, const Tensor<T>& out, bool add)>;

  /// Collective sum (or mean) over operators of per-operator terms of one shape.
  /// `local_key` identifies this rank's inputs (cached agreement is reused while it is
  /// unchanged); `local_shape()` gives this rank's result shape (called only with local
  /// operators). `status` carries errors found before (they are agreed on like the others).
  /// With options().reproducible the terms are gathered and added in operator order.
  Tensor<T> reduce_over_operators(Method method, Reduce reduce, bool gather,
                                  const std::vector<std::int64_t>& local_key,
                                  const std::function<Shape()>& local_shape, const Term& term,
                                  comm::Status status) const;

  /// With Validation::EveryCall: agrees that every rank is in `method` with the same stack,
  /// strategy and (when given) input shape; a no-op otherwise.
  void validate_call(Method method, const Shape* input) const;

  /// The local slice of a list of N (global) or num_local_operators() (local) tensors.
  std::vector<Tensor<T>> local_slice(const char* method, const TensorList<T>& y) const;
  void check_alive() const;

  comm::Communicator m_comm;
  std::int64_t m_num = 0;
  std::vector<std::int64_t> m_local;
  std::vector<int> m_owner;
  std::vector<std::unique_ptr<Physics<T>>> m_ops;
  DistributedOptions m_options;
  FactoryArgs<T> m_args;
  Device m_device;

 private:
  TensorList<T> map(const Tensor<T>& x, bool gather, Reduce reduce, bool noisy) const;
  TensorList<T> gather_with_layout(const Tensor<T>& x, const comm::LocalCompute<T>& compute) const;
  bool run_strategy(bool deviate, const comm::LocalCompute<T>& compute, comm::Status& status,
                    TensorList<T>& out) const;
  const std::vector<std::uint64_t>& save_draws() const;
  void restore_draws(const std::vector<std::uint64_t>& draws) const;
  /// Partition::CostBalanced on the operators' estimates (collective; see DistributedOptions).
  void rebalance(const std::function<void(std::int64_t, comm::Status&)>& build);

  struct ReduceCache {
    bool valid = false;
    std::vector<std::int64_t> key;
    Shape shape;
    comm::GatherLayout layout;  // every operator's term (reproducible mode)
  };
  mutable comm::GatherEngine<T> m_engine;
  ExecutionSpace m_space;  // the instance of the local operators and the stack's kernels
  mutable comm::GatherLayout m_layout;
  mutable ReduceCache m_reduce_cache[static_cast<int>(Method::Count)];
  mutable Tensor<T> m_workspace;
  mutable std::vector<std::uint64_t> m_saved_draws;  // save_draws(), reused
};

/// Options of DistributedStackedLinearPhysics::A_dagger (deepinv's keyword arguments).
struct DistributedDaggerOptions : LeastSquaresOptions {
  /// true: the mean over operators of each operator's own pseudo-inverse A_i^+ y_i (one
  /// reduction; an approximation of the stack's pseudo-inverse). false: the least-squares
  /// solution of the whole stack with `solver`, through the distributed A, A^T, A^T A, A A^T
  /// (communication at every iteration).
  bool local_only = true;
  /// local_only only: false returns this rank's partial sum without communicating.
  bool gather = true;
};

/// Options of DistributedStackedLinearPhysics::compute_sqnorm.
struct DistributedSqnormOptions : PowerOptions {
  /// true: the sum of the operators' own squared norms, sum_i ||A_i||^2, an UPPER BOUND of
  /// ||A||^2 = ||sum_i A_i^T A_i|| (one reduction). false: the power method on the distributed
  /// A^T A (one all-reduce per iteration): ||A||^2 itself.
  bool local_only = true;
  /// local_only only: false returns this rank's partial sum without communicating.
  bool gather = true;
};

/// A distributed stack of linear operators: adds the adjoint and the products built from it,
/// each computed locally and summed over ranks with one all-reduce.
template <class T>
class DistributedStackedLinearPhysics : public DistributedStackedPhysics<T> {
 public:
  /// The factory must return LinearPhysics operators (checked on every rank, collectively).
  template <class F>
  DistributedStackedLinearPhysics(DistributedContext& ctx, std::int64_t num_operators, F factory,
                                  const DistributedOptions& options = {})
      : DistributedStackedPhysics<T>(ctx, num_operators,
                                     impl::normalize_factory<T>(std::move(factory)),
                                     FactoryArgs<T>{}, options, true) {}
  template <class F>
  DistributedStackedLinearPhysics(DistributedContext& ctx, std::int64_t num_operators, F factory,
                                  const FactoryArgs<T>& kwargs,
                                  const DistributedOptions& options = {})
      : DistributedStackedPhysics<T>(ctx, num_operators,
                                     impl::normalize_factory<T>(std::move(factory)), kwargs,
                                     options, true) {}

  LinearPhysics<T>& local_operator(std::size_t k) const {
    return static_cast<LinearPhysics<T>&>(DistributedStackedPhysics<T>::local_operator(k));
  }

  /// sum_i A_i^T y_i. `y` holds all N measurements or only this rank's. With gather = false
  /// only this rank's partial sum comes back (no communication). `reduce` is Sum or Mean.
  Tensor<T> A_adjoint(const TensorList<T>& y, bool gather = true,
                      Reduce reduce = Reduce::Sum) const;
  /// sum_i A_i^T v_i, the vector-Jacobian product at x (v: all N or this rank's cotangents).
  Tensor<T> A_vjp(const Tensor<T>& x, const TensorList<T>& v, bool gather = true,
                  Reduce reduce = Reduce::Sum) const;
  /// sum_i A_i^T A_i x.
  Tensor<T> A_adjoint_A(const Tensor<T>& x, bool gather = true, Reduce reduce = Reduce::Sum) const;
  /// [A_i (sum_j A_j^T y_j)]_i: the adjoint is always global; `gather` applies to the A step.
  TensorList<T> A_A_adjoint(const TensorList<T>& y, bool gather = true) const;

  /// Pseudo-inverse: see DistributedDaggerOptions. With local_only = false `y` must hold all N
  /// measurements; the solver's record goes to `options.info` when set, and `verbose` prints
  /// on rank 0 only. Collective.
  Tensor<T> A_dagger(const TensorList<T>& y, const DistributedDaggerOptions& options = {}) const;
  /// Squared spectral norm: see DistributedSqnormOptions. `x0` gives the input shape (its
  /// values are not used); the power method starts from the same seeded vector on every rank.
  T compute_sqnorm(const Tensor<T>& x0, const DistributedSqnormOptions& options = {}) const;
};

extern template class DistributedStackedPhysics<float>;
extern template class DistributedStackedPhysics<double>;
extern template class DistributedStackedLinearPhysics<float>;
extern template class DistributedStackedLinearPhysics<double>;

}  // namespace kinv
