// kinv::distribute (deepinv.distributed.distribute): one call that turns a stacked physics, a
// list of operators, a factory, a data fidelity or a processor into its distributed
// counterpart. Where deepinv inspects the object at run time (type_object = "auto"), kinv picks
// the overload at compile time from the argument's type:
//
//   StackedLinearPhysics<T>, vector<unique_ptr<LinearPhysics<T>>>  ->
//   DistributedStackedLinearPhysics vector<unique_ptr<Physics<T>>> -> DistributedStackedPhysics a
//   factory (index[, device[, kwargs]]) -> unique_ptr<LinearPhysics-derived>
//                                                                    ->
//                                                                    DistributedStackedLinearPhysics
//   ... -> unique_ptr<Physics-derived> (not linear)                  -> DistributedStackedPhysics
//   ... -> unique_ptr<DataFidelity-derived>                          -> DistributedDataFidelity
//   shared_ptr<DataFidelity<T>>                                      -> DistributedDataFidelity
//   a processor (Tensor -> Tensor, or (in, out) -> void)             -> DistributedProcessing
//
// Each returns a std::unique_ptr to the distributed object. Every call is collective.
#pragma once

#include <kinv/distributed/data_fidelity.hpp>
#include <kinv/distributed/processing.hpp>
#include <kinv/distributed/stacked_physics.hpp>
#include <kinv/physics/stacked.hpp>

#include <memory>
#include <type_traits>
#include <vector>

namespace kinv {

/// Options of distribute() (deepinv's keyword arguments); each kind of object reads its own.
template <class T>
struct DistributeOptions {
  /// Physics: the gather strategy (parse_gather_strategy("naive") etc. for names).
  GatherStrategy gather_strategy = GatherStrategy::Concatenated;
  /// Physics: which rank owns which operator, and the costs for Partition::CostBalanced (see
  /// DistributedOptions). A factory-made data fidelity follows round-robin only.
  Partition partition = Partition::RoundRobin;
  std::vector<double> costs;
  /// Physics: sums in operator order and when the ranks check their calls (see
  /// DistributedOptions).
  bool reproducible = false;
  Validation validation = Validation::FirstCallOfEachShape;
  /// Factories: the number of operators (required for a factory, ignored otherwise; a value
  /// below 1 is a kinv::ValueError on every rank).
  std::int64_t num_operators = -1;
  /// Factories: named tensors and scalars set on rank 0 and broadcast before the factory runs.
  FactoryArgs<T> factory_args;
  /// Data fidelity: sum or mean over operators.
  Reduce reduction = Reduce::Sum;
  /// Processors: strategy, tiling and batching.
  ProcessingOptions<T> processing;
};

namespace impl {

template <class T, class F>
constexpr bool is_factory_v =
    std::is_invocable_v<F&, std::int64_t, const Device&, const FactoryArgs<T>&> ||
    std::is_invocable_v<F&, std::int64_t, const Device&> || std::is_invocable_v<F&, std::int64_t>;

template <class T, class F>
constexpr bool is_processor_v = std::is_invocable_v<F&, const Tensor<T>&, const Tensor<T>&> ||
                                std::is_invocable_r_v<Tensor<T>, F&, const Tensor<T>&>;

template <class T, class F>
auto factory_product() {
  if constexpr (std::is_invocable_v<F&, std::int64_t, const Device&, const FactoryArgs<T>&>)
    return std::invoke_result_t<F&, std::int64_t, const Device&, const FactoryArgs<T>&>{};
  else if constexpr (std::is_invocable_v<F&, std::int64_t, const Device&>)
    return std::invoke_result_t<F&, std::int64_t, const Device&>{};
  else
    return std::invoke_result_t<F&, std::int64_t>{};
}

/// The class a factory's unique_ptr points to.
template <class T, class F>
using factory_element_t = typename decltype(factory_product<T, F>())::element_type;

/// A factory handing out the operators of a list that every rank built (deepinv's
/// physics_list): each rank keeps its own and drops the others when construction ends.
template <class T, class P>
auto list_factory(std::shared_ptr<std::vector<std::unique_ptr<P>>> ops) {
  return [ops](std::int64_t i) -> std::unique_ptr<Physics<T>> {
    auto& slot = ops->at(static_cast<std::size_t>(i));
    if (!slot) throw ValueError("distribute: operator " + std::to_string(i) + " is null", i);
    return std::unique_ptr<Physics<T>>(std::move(slot));
  };
}

template <class T>
DistributedOptions physics_options(const DistributeOptions<T>& o) {
  DistributedOptions d;
  d.gather_strategy = o.gather_strategy;
  d.partition = o.partition;
  d.costs = o.costs;
  d.reproducible = o.reproducible;
  d.validation = o.validation;
  return d;
}

}  // namespace impl

/// A list of linear operators (every rank passes the same list; each keeps its own operators).
template <class T>
std::unique_ptr<DistributedStackedLinearPhysics<T>> distribute(
    std::vector<std::unique_ptr<LinearPhysics<T>>> operators, DistributedContext& ctx,
    const DistributeOptions<T>& o = {}) {
  const auto n = static_cast<std::int64_t>(operators.size());
  auto ops = std::make_shared<std::vector<std::unique_ptr<LinearPhysics<T>>>>(std::move(operators));
  return std::make_unique<DistributedStackedLinearPhysics<T>>(
      ctx, n, impl::list_factory<T>(ops), o.factory_args, impl::physics_options(o));
}

/// A list of operators, not all linear: a DistributedStackedPhysics (A and forward only).
template <class T>
std::unique_ptr<DistributedStackedPhysics<T>> distribute(
    std::vector<std::unique_ptr<Physics<T>>> operators, DistributedContext& ctx,
    const DistributeOptions<T>& o = {}) {
  const auto n = static_cast<std::int64_t>(operators.size());
  auto ops = std::make_shared<std::vector<std::unique_ptr<Physics<T>>>>(std::move(operators));
  return std::make_unique<DistributedStackedPhysics<T>>(ctx, n, impl::list_factory<T>(ops),
                                                        o.factory_args, impl::physics_options(o));
}

/// A single-process stack of linear operators (moved in).
template <class T>
std::unique_ptr<DistributedStackedLinearPhysics<T>> distribute(StackedLinearPhysics<T> stack,
                                                               DistributedContext& ctx,
                                                               const DistributeOptions<T>& o = {}) {
  auto released = stack.release();
  const auto n = static_cast<std::int64_t>(released.size());
  auto ops = std::make_shared<std::vector<std::unique_ptr<Physics<T>>>>(std::move(released));
  return std::make_unique<DistributedStackedLinearPhysics<T>>(
      ctx, n, impl::list_factory<T>(ops), o.factory_args, impl::physics_options(o));
}

/// One data fidelity shared by every operator (T is the fidelity's scalar type).
template <class D, class T = typename D::value_type,
          class = std::enable_if_t<std::is_base_of_v<DataFidelity<T>, std::remove_const_t<D>>>>
std::unique_ptr<DistributedDataFidelity<T>> distribute(std::shared_ptr<D> fidelity,
                                                       DistributedContext& ctx,
                                                       const DistributeOptions<T>& o = {}) {
  return std::make_unique<DistributedDataFidelity<T>>(
      ctx, std::shared_ptr<const DataFidelity<T>>(std::move(fidelity)), o.reduction);
}

/// A factory of operators or data fidelities, or a processor. Name T explicitly:
/// `kinv::distribute<float>(factory, ctx, options)`.
template <class T, class F,
          class = std::enable_if_t<impl::is_factory_v<T, F> || impl::is_processor_v<T, F>>>
auto distribute(F f, DistributedContext& ctx, const DistributeOptions<T>& o = {}) {
  if constexpr (impl::is_factory_v<T, F>) {
    using E = impl::factory_element_t<T, F>;
    if constexpr (std::is_base_of_v<DataFidelity<T>, E>) {
      return std::make_unique<DistributedDataFidelity<T>>(ctx, std::move(f), o.num_operators,
                                                          o.factory_args, o.reduction);
    } else if constexpr (std::is_base_of_v<LinearPhysics<T>, E>) {
      return std::make_unique<DistributedStackedLinearPhysics<T>>(
          ctx, o.num_operators, std::move(f), o.factory_args, impl::physics_options(o));
    } else {
      static_assert(std::is_base_of_v<Physics<T>, E>,
                    "distribute: a factory must return a std::unique_ptr to a kinv::Physics<T> "
                    "or a kinv::DataFidelity<T> (or a class derived from them)");
      return std::make_unique<DistributedStackedPhysics<T>>(
          ctx, o.num_operators, std::move(f), o.factory_args, impl::physics_options(o));
    }
  } else {
    return std::make_unique<DistributedProcessing<T>>(ctx, std::move(f), o.processing);
  }
}

}  // namespace kinv
