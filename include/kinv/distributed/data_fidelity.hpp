// DistributedDataFidelity (deepinv.distributed.DistributedDataFidelity): the data fidelity of a
// distributed stack, f(x) = sum_i d_i(A_i x, y_i) and grad f(x) = sum_i A_i^T grad d_i(A_i x, y_i),
// each computed on the ranks that own the operators and summed with ONE all-reduce (the local
// A_i x is computed once per call and reused for the gradient).
//
// Methods are collective over the physics' communicator; errors on any rank are raised on all.
#pragma once

#include <kinv/distributed/stacked_physics.hpp>
#include <kinv/optim/data_fidelity.hpp>

#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

namespace kinv {

/// The factory form: the fidelity of operator i.
template <class T>
using DataFidelityFactory = std::function<std::unique_ptr<DataFidelity<T>>(
    std::int64_t index, const Device& device, const FactoryArgs<T>& kwargs)>;

namespace impl {
/// Accepts fidelity factories taking (index), (index, device) or (index, device, kwargs).
template <class T, class F>
DataFidelityFactory<T> normalize_fidelity_factory(F f) {
  if constexpr (std::is_invocable_v<F&, std::int64_t, const Device&, const FactoryArgs<T>&>) {
    return [f](std::int64_t i, const Device& d, const FactoryArgs<T>& a) mutable {
      return std::unique_ptr<DataFidelity<T>>(f(i, d, a));
    };
  } else if constexpr (std::is_invocable_v<F&, std::int64_t, const Device&>) {
    return [f](std::int64_t i, const Device& d, const FactoryArgs<T>&) mutable {
      return std::unique_ptr<DataFidelity<T>>(f(i, d));
    };
  } else if constexpr (std::is_invocable_v<F&, std::int64_t>) {
    return [f](std::int64_t i, const Device&, const FactoryArgs<T>&) mutable {
      return std::unique_ptr<DataFidelity<T>>(f(i));
    };
  } else {
    static_assert(always_false<F>::value,
                  "a data-fidelity factory takes (index), (index, device) or (index, device, "
                  "kwargs) and returns a std::unique_ptr to a kinv::DataFidelity<T>");
    return {};
  }
}
}  // namespace impl

template <class T>
class DistributedDataFidelity {
 public:
  /// One fidelity shared by every operator (deepinv: a DataFidelity instance).
  DistributedDataFidelity(DistributedContext& ctx, std::shared_ptr<const DataFidelity<T>> fidelity,
                          Reduce reduction = Reduce::Sum);
  /// One fidelity per operator, built on the rank that owns it (collective; `kwargs` from rank
  /// 0 are broadcast first). The physics it is used with must have num_operators operators,
  /// dealt round-robin (the default partition); see the next form for the others.
  template <class F, class = std::enable_if_t<
                         !std::is_convertible_v<F, std::shared_ptr<const DataFidelity<T>>>>>
  DistributedDataFidelity(DistributedContext& ctx, F factory, std::int64_t num_operators,
                          const FactoryArgs<T>& kwargs = {}, Reduce reduction = Reduce::Sum)
      : DistributedDataFidelity(ctx, impl::normalize_fidelity_factory<T>(std::move(factory)),
                                num_operators, kwargs, reduction, 0) {}

  /// One fidelity per operator of `physics`, built on the rank that owns it under the
  /// physics' partition, whichever it is (collective, like the form above).
  template <class F, class = std::enable_if_t<
                         !std::is_convertible_v<F, std::shared_ptr<const DataFidelity<T>>>>>
  DistributedDataFidelity(DistributedContext& ctx, F factory,
                          const DistributedStackedLinearPhysics<T>& physics,
                          const FactoryArgs<T>& kwargs = {}, Reduce reduction = Reduce::Sum)
      : DistributedDataFidelity(ctx, impl::normalize_fidelity_factory<T>(std::move(factory)),
                                physics.num_operators(), kwargs, reduction, 0, &physics.owners()) {}

  /// sum_i d_i(A_i x, y_i) (or the mean over operators), shape {B}. `y` holds all N
  /// measurements or this rank's. With gather = false, this rank's partial sum only.
  Tensor<T> fn(const Tensor<T>& x, const TensorList<T>& y,
               const DistributedStackedLinearPhysics<T>& physics, bool gather = true) const;
  /// sum_i A_i^T grad d_i(A_i x, y_i) (or the mean), shape of x.
  Tensor<T> grad(const Tensor<T>& x, const TensorList<T>& y,
                 const DistributedStackedLinearPhysics<T>& physics, bool gather = true) const;

  Reduce reduction() const noexcept { return m_reduction; }
  /// Whether one fidelity serves every operator.
  bool is_shared() const noexcept { return static_cast<bool>(m_shared); }
  /// Number of operators the factory was built for (-1 for a shared fidelity).
  std::int64_t num_operators() const noexcept { return m_num; }

 private:
  // `owners`: which rank owns each operator (round-robin when null).
  DistributedDataFidelity(DistributedContext& ctx, DataFidelityFactory<T> factory,
                          std::int64_t num_operators, FactoryArgs<T> kwargs, Reduce reduction, int,
                          const std::vector<int>* owners = nullptr);
  const DataFidelity<T>& fidelity(std::size_t k) const;
  void check_physics(const char* method, const DistributedStackedLinearPhysics<T>& physics) const;

  comm::Communicator m_comm;
  Reduce m_reduction;
  std::shared_ptr<const DataFidelity<T>> m_shared;
  std::vector<std::unique_ptr<DataFidelity<T>>> m_local;
  std::vector<std::int64_t> m_local_indices;
  std::vector<int> m_owners;  // which rank owns each operator (factory form)
  std::int64_t m_num = -1;
  mutable Tensor<T> m_ax;  // workspace: one operator's A_i x
};

extern template class DistributedDataFidelity<float>;
extern template class DistributedDataFidelity<double>;

}  // namespace kinv
