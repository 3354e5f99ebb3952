#include <kinv/core/profiling.hpp>
#include <kinv/distributed/data_fidelity.hpp>

#include <KokkosBlas1_axpby.hpp>

namespace kinv {

namespace {
constexpr std::int64_t tag_fidelity = 0x66696465;  // "fide"

// The cache key of a call: x's shape (the result's shape depends on nothing else).
std::vector<std::int64_t> shape_key(const Shape& s) {
  std::vector<std::int64_t> key{s.rank()};
  for (int d = 0; d < s.rank(); ++d) key.push_back(s[d]);
  return key;
}

// ws <- A x, (re)allocating the workspace when the measurement shape changes.
template <class T>
const Tensor<T>& apply_into(const LinearPhysics<T>& op, const Tensor<T>& x, Tensor<T>& ws) {
  const Shape s = op.output_shape(x.shape());
  if (ws.shape() != s || ws.data() == nullptr)
    ws = Tensor<T>::uninitialized("kinv::DistributedDataFidelity::Ax", s);
  op.A(x, ws);
  return ws;
}

void check_reduction(Reduce r) {
  if (r != Reduce::Sum && r != Reduce::Mean)
    throw ValueError("DistributedDataFidelity: reduction must be sum or mean, got " + to_string(r));
}
}  // namespace

template <class T>
DistributedDataFidelity<T>::DistributedDataFidelity(DistributedContext& ctx,
                                                    std::shared_ptr<const DataFidelity<T>> fidelity,
                                                    Reduce reduction)
    : m_comm(ctx.comm()), m_reduction(reduction), m_shared(std::move(fidelity)) {
  comm::Status status;
  comm::guarded(status, [&] {
    check_reduction(reduction);
    if (!m_shared) throw ValueError("DistributedDataFidelity: no data fidelity given");
  });
  m_comm.check(status);
}

template <class T>
DistributedDataFidelity<T>::DistributedDataFidelity(DistributedContext& ctx,
                                                    DataFidelityFactory<T> factory,
                                                    std::int64_t num_operators,
                                                    FactoryArgs<T> kwargs, Reduce reduction, int,
                                                    const std::vector<int>* owners)
    : m_comm(ctx.comm()), m_reduction(reduction), m_num(num_operators) {
  comm::Status status;
  comm::guarded(status, [&] {
    check_reduction(reduction);
    if (num_operators < 1)
      throw ValueError("DistributedDataFidelity: num_operators must be >= 1 with a factory, got " +
                       std::to_string(num_operators));
    m_owners = owners != nullptr
                   ? *owners
                   : partition_owners(num_operators, ctx.size(), Partition::RoundRobin);
    m_local_indices = owned_items(m_owners, ctx.rank());
  });
  kwargs.broadcast_from_root(m_comm);
  for (std::int64_t i : m_local_indices) {
    comm::guarded(status, [&] {
      auto f = factory(i, ctx.device(), kwargs);
      if (!f) throw ValueError("the data-fidelity factory returned nothing", i);
      m_local.push_back(std::move(f));
    });
    if (!status.ok && status.operator_index < 0) status.operator_index = i;
  }
  const auto all = m_comm.agree(status, {tag_fidelity, num_operators});
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      throw ValueError("DistributedDataFidelity: num_operators differs across ranks (rank 0: " +
                       std::to_string(all[0][1]) + ", rank " + std::to_string(r) + ": " +
                       std::to_string(all[r].size() > 1 ? all[r][1] : -1) + ")");
}

template <class T>
const DataFidelity<T>& DistributedDataFidelity<T>::fidelity(std::size_t k) const {
  return m_shared ? *m_shared : *m_local.at(k);
}

template <class T>
void DistributedDataFidelity<T>::check_physics(
    const char* method, const DistributedStackedLinearPhysics<T>& physics) const {
  if (m_shared) return;
  // Same number of operators and the same owners: the same vectors on every rank, so every
  // rank throws together.
  if (physics.num_operators() != m_num)
    throw ValueError(std::string("DistributedDataFidelity::") + method + ": built for " +
                     std::to_string(m_num) + " operators, the physics has " +
                     std::to_string(physics.num_operators()));
  if (physics.owners() != m_owners)
    throw ValueError(std::string("DistributedDataFidelity::") + method +
                     ": its operators are dealt over the ranks differently from the physics' "
                     "(partition " +
                     to_string(physics.options().partition) +
                     "); build it from the physics to follow its partition");
}

template <class T>
Tensor<T> DistributedDataFidelity<T>::fn(const Tensor<T>& x, const TensorList<T>& y,
                                         const DistributedStackedLinearPhysics<T>& physics,
                                         bool gather) const {
  const ProfilingRegion region("kinv::DistributedDataFidelity::fn");
  using Method = typename DistributedStackedPhysics<T>::Method;
  comm::Status status;
  std::vector<Tensor<T>> local;
  std::vector<std::int64_t> key;
  comm::guarded(status, [&] {
    check_physics("fn", physics);
    local = physics.local_slice("DistributedDataFidelity::fn", y);
    key = shape_key(x.shape());
    if (x.rank() < 1) throw ShapeError("DistributedDataFidelity::fn: x", "(B, ...)", "a scalar");
  });
  auto local_shape = [&] { return Shape{x.shape()[0]}; };
  auto term = [&](std::size_t k, const Tensor<T>& out, bool add) {
    if (!add) fill(out, T(0));
    fidelity(k).d().fn_add(apply_into(physics.local_operator(k), x, m_ax), local[k], out);
  };
  return physics.reduce_over_operators(Method::Fidelity, m_reduction, gather, key, local_shape,
                                       term, status);
}

template <class T>
Tensor<T> DistributedDataFidelity<T>::grad(const Tensor<T>& x, const TensorList<T>& y,
                                           const DistributedStackedLinearPhysics<T>& physics,
                                           bool gather) const {
  const ProfilingRegion region("kinv::DistributedDataFidelity::grad");
  using Method = typename DistributedStackedPhysics<T>::Method;
  comm::Status status;
  std::vector<Tensor<T>> local;
  std::vector<std::int64_t> key;
  comm::guarded(status, [&] {
    check_physics("grad", physics);
    local = physics.local_slice("DistributedDataFidelity::grad", y);
    key = shape_key(x.shape());
  });
  auto local_shape = [&] { return x.shape(); };
  auto term = [&](std::size_t k, const Tensor<T>& out, bool add) {
    const auto& op = physics.local_operator(k);
    apply_into(op, x, m_ax);
    fidelity(k).d().grad(m_ax, local[k], m_ax);  // in place: grad d(A_i x, y_i)
    if (add)
      op.A_adjoint_add(m_ax, out);
    else
      op.A_vjp(x, m_ax, out);
  };
  return physics.reduce_over_operators(Method::FidelityGrad, m_reduction, gather, key, local_shape,
                                       term, status);
}

template class DistributedDataFidelity<float>;
template class DistributedDataFidelity<double>;

}  // namespace kinv
