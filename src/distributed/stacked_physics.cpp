#include <kinv/core/profiling.hpp>
#include <kinv/distributed/stacked_physics.hpp>
#include <kinv/optim/solvers.hpp>
#include <kinv/optim/vector_ops.hpp>

#include <kinv/operators/impl/pointwise_functors.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>

namespace kinv {

namespace {

// Kinds of agreement payload, so that a rank in the wrong call is caught.
constexpr std::int64_t tag_construct = 0x6b696e76;  // "kinv"
constexpr std::int64_t tag_layout = 1;
constexpr std::int64_t tag_reduce = 2;
constexpr std::int64_t tag_strategy = 3;
constexpr std::int64_t tag_call = 4;

void put_shape(std::vector<std::int64_t>& p, const Shape& s) {
  p.push_back(s.rank());
  for (int i = 0; i < s.rank(); ++i) p.push_back(s[i]);
}

// Reads a shape written by put_shape; bounds-checked.
Shape get_shape(const std::vector<std::int64_t>& p, std::size_t& at) {
  if (at >= p.size()) throw ValueError("agreement payload truncated");
  const auto r = p[at++];
  if (r < 0 || r > Shape::max_rank || at + static_cast<std::size_t>(r) > p.size())
    throw ValueError("agreement payload holds an invalid shape");
  std::vector<std::int64_t> e(p.begin() + static_cast<std::ptrdiff_t>(at),
                              p.begin() + static_cast<std::ptrdiff_t>(at + r));
  at += static_cast<std::size_t>(r);
  return Shape(e);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction

template <class T>
DistributedStackedPhysics<T>::DistributedStackedPhysics(
    DistributedContext& ctx, std::int64_t num_operators, PhysicsFactory<T> factory,
    FactoryArgs<T> kwargs, const DistributedOptions& options, bool require_linear)
    : m_comm(ctx.comm()),
      m_num(num_operators),
      m_options(options),
      m_args(std::move(kwargs)),
      m_device(ctx.device()),
      m_engine(ctx.comm()) {
  const int P = m_comm.size();
  const int me = m_comm.rank();
  comm::Status status;
  // Cost-balanced without given costs: built round-robin first, balanced on the estimates.
  const bool estimate = options.partition == Partition::CostBalanced && options.costs.empty();
  comm::guarded(status, [&] {
    if (num_operators < 1)
      throw ValueError("DistributedStackedPhysics: num_operators must be >= 1, got " +
                       std::to_string(num_operators));
    (void)to_string(options.gather_strategy);  // rejects invalid enum values
    m_owner = partition_owners(num_operators, P,
                               estimate ? Partition::RoundRobin : options.partition, options.costs);
    m_local = owned_items(m_owner, me);
  });
  // kwargs come from rank 0 (collective, before any factory runs).
  m_args.broadcast_from_root(m_comm);
  auto build = [&](std::int64_t i, comm::Status& st) {
    comm::guarded(st, [&] {
      auto op = factory(i, m_device, m_args);
      if (!op) throw ValueError("the factory returned no operator", i);
      if (require_linear && !op->is_linear())
        throw ValueError("the factory returned '" + op->name() +
                             "', which is not a LinearPhysics (DistributedStackedLinearPhysics "
                             "needs linear operators)",
                         i);
      op->set_index(i);
      m_ops.push_back(std::move(op));
    });
    if (!st.ok && st.operator_index < 0) st.operator_index = i;
  };
  for (std::int64_t i : m_local) build(i, status);
  // Every rank must be building the same stack.
  std::uint64_t costs_hash = 1469598103934665603ull;  // FNV-1a over the costs' bits
  for (double c : options.costs) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &c, sizeof(bits));
    costs_hash = (costs_hash ^ bits) * 1099511628211ull;
  }
  const std::vector<std::int64_t> config = {tag_construct,
                                            num_operators,
                                            static_cast<std::int64_t>(options.gather_strategy),
                                            static_cast<std::int64_t>(sizeof(T)),
                                            require_linear ? 1 : 0,
                                            static_cast<std::int64_t>(options.partition),
                                            static_cast<std::int64_t>(costs_hash >> 1),
                                            options.reproducible ? 1 : 0,
                                            static_cast<std::int64_t>(options.validation)};
  const auto all = m_comm.agree(status, config);
  static const char* names[] = {"tag",         "num_operators", "gather_strategy",
                                "scalar size", "linearity",     "partition",
                                "costs",       "reproducible",  "validation"};
  for (int r = 1; r < P; ++r)
    for (std::size_t f = 0; f < config.size(); ++f)
      if (all[r].size() != config.size() || all[r][f] != all[0][f])
        throw ValueError(std::string("DistributedStackedPhysics: ") + names[f] +
                         " differs across ranks (rank 0: " + std::to_string(all[0][f]) + ", rank " +
                         std::to_string(r) + ": " +
                         (all[r].size() > f ? std::to_string(all[r][f]) : std::string("?")) + ")");
  if (estimate) rebalance(build);
}

template <class T>
void DistributedStackedPhysics<T>::rebalance(
    const std::function<void(std::int64_t, comm::Status&)>& build) {
  // Every rank's operators' estimates, then the greedy partition on all N (the same
  // everywhere); operators that stay are kept, the others are built on their new rank.
  comm::Status status;
  std::vector<std::int64_t> payload;
  comm::guarded(status, [&] {
    for (std::size_t k = 0; k < m_ops.size(); ++k) {
      const double c = m_ops[k]->cost_estimate();
      if (!std::isfinite(c) || c < 0)
        throw ValueError(m_ops[k]->name() + ": cost_estimate() must be finite and >= 0, got " +
                             std::to_string(c),
                         m_local[k]);
      std::int64_t bits = 0;
      std::memcpy(&bits, &c, sizeof(bits));
      payload.push_back(m_local[k]);
      payload.push_back(bits);
    }
  });
  const auto all = m_comm.agree(status, payload);
  std::vector<double> costs(static_cast<std::size_t>(m_num), 0.0);
  for (const auto& p : all)
    for (std::size_t at = 0; at + 1 < p.size(); at += 2)
      std::memcpy(&costs[static_cast<std::size_t>(p[at])], &p[at + 1], sizeof(double));
  const std::vector<int> owners =
      partition_owners(m_num, m_comm.size(), Partition::CostBalanced, costs);
  const std::vector<std::int64_t> local = owned_items(owners, m_comm.rank());
  std::vector<std::unique_ptr<Physics<T>>> kept(static_cast<std::size_t>(m_num));
  for (std::size_t k = 0; k < m_ops.size(); ++k)
    if (owners[static_cast<std::size_t>(m_local[k])] == m_comm.rank())
      kept[static_cast<std::size_t>(m_local[k])] = std::move(m_ops[k]);
  m_ops.clear();
  m_owner = owners;
  m_local = local;
  comm::Status built;
  for (std::int64_t i : m_local) {
    if (kept[static_cast<std::size_t>(i)])
      m_ops.push_back(std::move(kept[static_cast<std::size_t>(i)]));
    else
      build(i, built);
  }
  m_comm.check(built);
}

template <class T>
DistributedStackedPhysics<T>::~DistributedStackedPhysics() = default;

template <class T>
void DistributedStackedPhysics<T>::set_execution_space(const ExecutionSpace& space) {
  for (auto& op : m_ops) op->set_execution_space(space);
  impl::hand_over(m_space, space);  // the engine's and the stack's own work on the old instance
  m_engine.set_execution_space(space);
  m_space = space;
}

template <class T>
void DistributedStackedPhysics<T>::set_gather_strategy(GatherStrategy s) {
  check_alive();
  comm::Status status;
  comm::guarded(status, [&] { (void)to_string(s); });  // rejects invalid enum values
  const auto all = m_comm.agree(status, {tag_strategy, static_cast<std::int64_t>(s)});
  for (int r = 0; r < static_cast<int>(all.size()); ++r) {
    if (all[r].size() != 2 || all[r][0] != tag_strategy)
      throw ValueError("set_gather_strategy: rank " + std::to_string(r) +
                       " is in a different call (collective calls must match on every rank)");
    if (all[r][1] != all[0][1])
      throw ValueError("set_gather_strategy: the strategy differs across ranks (rank 0: " +
                       to_string(static_cast<GatherStrategy>(all[0][1])) + ", rank " +
                       std::to_string(r) + ": " +
                       to_string(static_cast<GatherStrategy>(all[r][1])) + ")");
  }
  m_options.gather_strategy = s;
}

template <class T>
void DistributedStackedPhysics<T>::validate_call(Method method, const Shape* input) const {
  if (m_options.validation != Validation::EveryCall) return;
  static const char* names[] = {"A",
                                "forward",
                                "A_adjoint",
                                "A_vjp",
                                "A_adjoint_A",
                                "A_dagger",
                                "compute_sqnorm",
                                "DistributedDataFidelity::fn",
                                "DistributedDataFidelity::grad"};
  static_assert(sizeof(names) / sizeof(names[0]) == static_cast<int>(Method::Count),
                "a name per method");
  std::vector<std::int64_t> payload = {tag_call, static_cast<std::int64_t>(method), m_num,
                                       static_cast<std::int64_t>(m_options.gather_strategy)};
  if (input) put_shape(payload, *input);
  const auto all = m_comm.agree(comm::Status{}, payload);
  auto method_name = [&](std::int64_t m) -> std::string {
    return m >= 0 && m < static_cast<std::int64_t>(Method::Count) ? names[m] : "?";
  };
  for (int r = 0; r < static_cast<int>(all.size()); ++r) {
    const auto& p = all[r];
    if (p.size() < 4 || p[0] != tag_call)
      throw ValueError("validation: rank " + std::to_string(r) +
                       " is in a different call (collective calls must match on every rank)");
    if (p[1] != payload[1])
      throw ValueError("validation: rank " + std::to_string(r) + " calls " + method_name(p[1]) +
                       " while rank " + std::to_string(m_comm.rank()) + " calls " +
                       method_name(payload[1]) + " (collective calls must match on every rank)");
    if (p[2] != m_num || p[3] != payload[3])
      throw ValueError("validation: rank " + std::to_string(r) + " uses num_operators " +
                       std::to_string(p[2]) + " and strategy " +
                       to_string(static_cast<GatherStrategy>(p[3])) + ", this rank " +
                       std::to_string(m_num) + " and " + to_string(m_options.gather_strategy));
    if (input) {
      std::size_t at = 4;
      const Shape in = get_shape(p, at);
      if (in != *input)
        throw ShapeError(std::string(method_name(payload[1])) +
                             ": the input shape differs across ranks (this rank vs rank " +
                             std::to_string(r) + ")",
                         input->to_string(), in.to_string());
    }
  }
}

template <class T>
void DistributedStackedPhysics<T>::check_alive() const {
  if (m_comm.is_freed())
    throw StateError("DistributedStackedPhysics used after its DistributedContext was finalised");
}

template <class T>
const std::vector<std::uint64_t>& DistributedStackedPhysics<T>::save_draws() const {
  m_saved_draws.clear();  // keeps its capacity: no allocation per call
  for (const auto& op : m_ops) m_saved_draws.push_back(op->noise_draws());
  return m_saved_draws;
}

template <class T>
void DistributedStackedPhysics<T>::restore_draws(const std::vector<std::uint64_t>& d) const {
  for (std::size_t k = 0; k < m_ops.size(); ++k) m_ops[k]->set_noise_draws(d[k]);
}

// ---------------------------------------------------------------------------------------------
// A and forward

template <class T>
TensorList<T> DistributedStackedPhysics<T>::A(const Tensor<T>& x, bool gather,
                                              Reduce reduce) const {
  const ProfilingRegion region("kinv::DistributedStackedPhysics::A");
  return map(x, gather, reduce, false);
}

template <class T>
TensorList<T> DistributedStackedPhysics<T>::forward(const Tensor<T>& x, bool gather,
                                                    Reduce reduce) {
  const ProfilingRegion region("kinv::DistributedStackedPhysics::forward");
  return map(x, gather, reduce, true);
}

template <class T>
TensorList<T> DistributedStackedPhysics<T>::map(const Tensor<T>& x, bool gather, Reduce reduce,
                                                bool noisy) const {
  check_alive();
  // Two captured pointers fit std::function's local storage: no allocation per call.
  const std::pair<const Tensor<T>*, bool> args(&x, noisy);
  const comm::LocalCompute<T> compute = [this, &args](std::size_t k, const Tensor<T>& out) {
    m_ops[k]->A(*args.first, out);
    if (args.second) m_ops[k]->noise_and_sensor(out);
  };

  if (reduce != Reduce::None) {
    comm::Status status;
    const Method method = noisy ? Method::Forward : Method::A;
    auto local_shape = [&] {
      const Shape s = m_ops[0]->output_shape(x.shape());
      for (std::size_t k = 1; k < m_ops.size(); ++k) {
        const Shape sk = m_ops[k]->output_shape(x.shape());
        if (sk != s)
          throw ShapeError("A(reduce=" + to_string(reduce) +
                               "): operators' results must share a shape; operator " +
                               std::to_string(m_local[k]) + "'s",
                           s.to_string(), sk.to_string(), m_local[k]);
      }
      return s;
    };
    auto term = [&](std::size_t k, const Tensor<T>& out, bool add) {
      if (!add) return compute(k, out);
      if (m_workspace.shape() != out.shape() || m_workspace.data() == nullptr)
        m_workspace =
            Tensor<T>::uninitialized("kinv::DistributedStackedPhysics::workspace", out.shape());
      compute(k, m_workspace);
      Kokkos::parallel_for("kinv::DistributedStackedPhysics::sum", impl::range(m_space, out.size()),
                           impl::IdentityCopy<T, true>{m_workspace.view(), out.view()});
    };
    std::vector<std::int64_t> key;
    put_shape(key, x.shape());
    return TensorList<T>{
        reduce_over_operators(method, reduce, gather, key, local_shape, term, status)};
  }

  if (!gather) {
    // Only this rank's results; no communication.
    TensorList<T> out;
    for (std::size_t k = 0; k < m_ops.size(); ++k) {
      Tensor<T> y = m_ops[k]->A(x);
      if (noisy) m_ops[k]->noise_and_sensor(y);
      out.push_back(y);
    }
    return out;
  }

  validate_call(noisy ? Method::Forward : Method::A, &x.shape());
  if (m_options.gather_strategy == GatherStrategy::Naive) {
    comm::Status status;
    std::vector<Shape> shapes;
    comm::guarded(status, [&] {
      for (const auto& op : m_ops) shapes.push_back(op->output_shape(x.shape()));
    });
    return m_engine.naive(x.shape(), m_num, m_owner, m_local, shapes, compute, status);
  }
  return gather_with_layout(x, compute);
}

template <class T>
bool DistributedStackedPhysics<T>::run_strategy(bool deviate, const comm::LocalCompute<T>& compute,
                                                comm::Status& status, TensorList<T>& out) const {
  if (m_options.gather_strategy == GatherStrategy::Broadcast)
    return m_engine.broadcast(m_layout, deviate, compute, status, out);
  return m_engine.concatenated(m_layout, deviate, compute, status, out);
}

template <class T>
TensorList<T> DistributedStackedPhysics<T>::gather_with_layout(
    const Tensor<T>& x, const comm::LocalCompute<T>& compute) const {
  const int P = m_comm.size();
  comm::Status status;
  TensorList<T> out;
  const auto& draws = save_draws();

  // Fast path: the layout agreed on earlier still fits this rank's input. Whether it fits on
  // every rank is learnt from the status words that travel with the data.
  if (!m_layout.empty()) {
    const bool deviate = m_layout.input != x.shape();
    if (run_strategy(deviate, compute, status, out)) return out;
    restore_draws(draws);
  }

  // Agreement: every rank's input shape and its operators' output shapes (and any error).
  std::vector<std::int64_t> payload = {tag_layout, m_num,
                                       static_cast<std::int64_t>(m_options.gather_strategy)};
  put_shape(payload, x.shape());
  comm::guarded(status, [&] {
    for (std::size_t k = 0; k < m_ops.size(); ++k) {
      payload.push_back(m_local[k]);
      put_shape(payload, m_ops[k]->output_shape(x.shape()));
    }
  });
  const auto all = m_comm.agree(status, payload);

  std::vector<Shape> shapes(static_cast<std::size_t>(m_num));
  std::vector<bool> seen(static_cast<std::size_t>(m_num), false);
  Shape input0;
  for (int r = 0; r < P; ++r) {
    const auto& p = all[r];
    std::size_t at = 3;
    if (p.size() < 4 || p[0] != tag_layout)
      throw ValueError("gather: rank " + std::to_string(r) +
                       " is in a different call (collective calls must match on every rank)");
    if (p[1] != m_num || p[2] != static_cast<std::int64_t>(m_options.gather_strategy))
      throw ValueError(
          "gather: rank " + std::to_string(r) + " uses num_operators " + std::to_string(p[1]) +
          " and strategy " + to_string(static_cast<GatherStrategy>(p[2])) + ", rank 0 uses " +
          std::to_string(all[0][1]) + " and " + to_string(static_cast<GatherStrategy>(all[0][2])));
    const Shape in = get_shape(p, at);
    if (r == 0) input0 = in;
    if (in != input0)
      throw ShapeError(
          "A: the input shape differs across ranks (rank 0 vs rank " + std::to_string(r) + ")",
          input0.to_string(), in.to_string());
    while (at < p.size()) {
      const std::int64_t i = p[at++];
      if (i < 0 || i >= m_num || m_owner[static_cast<std::size_t>(i)] != r ||
          seen[static_cast<std::size_t>(i)])
        throw ValueError("gather: rank " + std::to_string(r) + " reported operator " +
                         std::to_string(i) + " it does not own");
      seen[static_cast<std::size_t>(i)] = true;
      shapes[static_cast<std::size_t>(i)] = get_shape(p, at);
    }
  }
  for (std::int64_t i = 0; i < m_num; ++i)
    if (!seen[static_cast<std::size_t>(i)])
      throw ValueError("gather: no rank reported operator " + std::to_string(i));

  m_layout = comm::GatherLayout::build(input0, shapes, m_owner, P, m_comm.rank(),
                                       comm::slot_alignment<T>());
  // The buffers are allocated outside the collective, and every rank learns whether that
  // worked (out of memory on one rank fails every rank, instead of leaving them waiting).
  comm::Status reserved;
  comm::guarded(reserved, [&] { m_engine.reserve_gather(m_layout, m_options.gather_strategy); });
  try {
    m_comm.check(reserved);
  } catch (...) {
    m_layout = comm::GatherLayout{};
    throw;
  }
  comm::Status second;
  if (run_strategy(false, compute, second, out)) return out;
  m_layout = comm::GatherLayout{};  // an operator failed: agree on it, start afresh next time
  restore_draws(draws);
  m_comm.check(second);
  throw Error("gather: a rank failed without reporting an error");
}

// ---------------------------------------------------------------------------------------------
// Reductions

template <class T>
Tensor<T> DistributedStackedPhysics<T>::reduce_over_operators(
    Method method, Reduce reduce, bool gather, const std::vector<std::int64_t>& local_key,
    const std::function<Shape()>& local_shape, const Term& term, comm::Status status) const {
  check_alive();
  if (reduce == Reduce::None)
    throw ValueError(
        "this reduction needs reduce = Sum or Mean (use gather = false for this "
        "rank's part)");
  ReduceCache& cache = m_reduce_cache[static_cast<int>(method)];
  const bool has_local = !m_ops.empty();
  // This rank's operators' terms added in local order.
  auto local_sum = [&](const Tensor<T>& out) {
    for (std::size_t k = 0; k < m_ops.size(); ++k) term(k, out, k > 0);
  };

  if (!gather) {
    // This rank's partial sum, no communication (as deepinv: no division for Mean).
    status.rethrow_if_failed();
    if (!has_local) return Tensor<T>("kinv::reduce::local", cache.valid ? cache.shape : Shape{});
    auto out = Tensor<T>::uninitialized("kinv::reduce::local", local_shape());
    local_sum(out);
    return out;
  }
  validate_call(method, nullptr);

  // Default: each rank adds its own terms, one all-reduce adds the ranks' sums. Reproducible:
  // every operator's term is gathered, and every rank adds them in operator order.
  const bool ordered = m_options.reproducible;
  auto body = [&](const Tensor<T>& out) {
    if (!has_local) return false;
    local_sum(out);
    return true;
  };
  const comm::LocalCompute<T> one_term = [&](std::size_t k, const Tensor<T>& out) {
    term(k, out, false);
  };
  TensorList<T> terms;
  auto run = [&](bool deviate, comm::Status& st, Tensor<T>& out) {
    if (!ordered) return m_engine.allreduce(cache.shape, deviate, body, st, out);
    if (!m_engine.concatenated(cache.layout, deviate, one_term, st, terms)) return false;
    out = Tensor<T>::uninitialized("kinv::reduce::ordered", cache.shape);
    Kokkos::deep_copy(m_space, out.view(), terms[0].view());
    for (std::size_t i = 1; i < terms.size(); ++i)
      Kokkos::parallel_for("kinv::DistributedStackedPhysics::ordered_sum",
                           impl::range(m_space, out.size()),
                           impl::IdentityCopy<T, true>{terms[i].view(), out.view()});
    terms = TensorList<T>();  // the gather buffer is free for the next call
    return true;
  };
  const auto& draws = save_draws();
  Tensor<T> result;
  bool done = false;
  if (cache.valid) {
    const bool deviate = !status.ok || cache.key != local_key;
    if (run(deviate, status, result)) done = true;
    if (!done) restore_draws(draws);
  }
  if (!done) {
    // Agreement on the result shape (ranks without operators have none to offer).
    std::vector<std::int64_t> payload = {tag_reduce, static_cast<std::int64_t>(method), m_num};
    comm::guarded(status, [&] {
      if (has_local) {
        payload.push_back(1);
        put_shape(payload, local_shape());
      } else {
        payload.push_back(0);
      }
    });
    const auto all = m_comm.agree(status, payload);
    Shape agreed;
    int first = -1;
    for (int r = 0; r < static_cast<int>(all.size()); ++r) {
      const auto& p = all[r];
      if (p.size() < 4 || p[0] != tag_reduce || p[1] != static_cast<std::int64_t>(method) ||
          p[2] != m_num)
        throw ValueError("reduction: rank " + std::to_string(r) +
                         " is in a different call (collective calls must match on every rank)");
      if (p[3] == 0) continue;
      std::size_t at = 4;
      const Shape s = get_shape(p, at);
      if (first < 0) {
        agreed = s;
        first = r;
      } else if (s != agreed) {
        throw ShapeError("reduction: the result shape differs across ranks (rank " +
                             std::to_string(first) + " vs rank " + std::to_string(r) + ")",
                         agreed.to_string(), s.to_string());
      }
    }
    if (first < 0) throw ValueError("reduction: no rank owns an operator");
    cache.valid = true;
    cache.key = local_key;
    cache.shape = agreed;
    if (ordered)
      cache.layout = comm::GatherLayout::build(
          agreed, std::vector<Shape>(static_cast<std::size_t>(m_num), agreed), m_owner,
          m_comm.size(), m_comm.rank(), comm::slot_alignment<T>());
    comm::Status reserved;  // as for gathers: allocated and agreed on outside the collective
    comm::guarded(reserved, [&] {
      if (ordered)
        m_engine.reserve_gather(cache.layout, GatherStrategy::Concatenated);
      else
        m_engine.reserve_reduce(agreed.size());
    });
    try {
      m_comm.check(reserved);
    } catch (...) {
      cache.valid = false;
      throw;
    }
    comm::Status second;
    if (!run(false, second, result)) {
      cache.valid = false;
      restore_draws(draws);
      m_comm.check(second);
      throw Error("reduction: a rank failed without reporting an error");
    }
  }
  if (reduce == Reduce::Mean)
    Kokkos::parallel_for("kinv::DistributedStackedPhysics::mean",
                         impl::range(m_space, result.size()),
                         impl::ScaleInPlace<T>{result.view(), T(1) / static_cast<T>(m_num)});
  return result;
}

template <class T>
std::vector<Tensor<T>> DistributedStackedPhysics<T>::local_slice(const char* method,
                                                                 const TensorList<T>& y) const {
  const auto n = static_cast<std::int64_t>(y.size());
  if (n == m_num) {
    std::vector<Tensor<T>> out;
    for (std::int64_t i : m_local) out.push_back(y[static_cast<std::size_t>(i)]);
    return out;
  }
  if (n == static_cast<std::int64_t>(m_local.size()))
    return std::vector<Tensor<T>>(y.begin(), y.end());
  throw ShapeError(
      std::string(method) + ": number of measurements",
      std::to_string(m_num) + " (all) or " + std::to_string(m_local.size()) + " (this rank's)",
      std::to_string(n));
}

// ---------------------------------------------------------------------------------------------
// Linear

template <class T>
Tensor<T> DistributedStackedLinearPhysics<T>::A_adjoint(const TensorList<T>& y, bool gather,
                                                        Reduce reduce) const {
  const ProfilingRegion region("kinv::DistributedStackedPhysics::A_adjoint");
  comm::Status status;
  std::vector<Tensor<T>> local;
  std::vector<std::int64_t> key;
  comm::guarded(status, [&] {
    local = this->local_slice("A_adjoint", y);
    for (const auto& t : local) put_shape(key, t.shape());
  });
  auto local_shape = [&] {
    const Shape s = local_operator(0).input_shape(local[0].shape());
    for (std::size_t k = 1; k < local.size(); ++k) {
      const Shape sk = local_operator(k).input_shape(local[k].shape());
      if (sk != s)
        throw ShapeError("A_adjoint: adjoints must share a shape; operator " +
                             std::to_string(this->m_local[k]) + "'s",
                         s.to_string(), sk.to_string(), this->m_local[k]);
    }
    return s;
  };
  auto term = [&](std::size_t k, const Tensor<T>& out, bool add) {
    if (add)
      local_operator(k).A_adjoint_add(local[k], out);
    else
      local_operator(k).A_adjoint(local[k], out);
  };
  return this->reduce_over_operators(DistributedStackedPhysics<T>::Method::AdjointSum, reduce,
                                     gather, key, local_shape, term, status);
}

template <class T>
Tensor<T> DistributedStackedLinearPhysics<T>::A_vjp(const Tensor<T>& x, const TensorList<T>& v,
                                                    bool gather, Reduce reduce) const {
  const ProfilingRegion region("kinv::DistributedStackedPhysics::A_vjp");
  comm::Status status;
  std::vector<Tensor<T>> local;
  std::vector<std::int64_t> key;
  comm::guarded(status, [&] {
    local = this->local_slice("A_vjp", v);
    put_shape(key, x.shape());
    for (std::size_t k = 0; k < local.size(); ++k) {
      const Shape expect = local_operator(k).output_shape(x.shape());
      if (local[k].shape() != expect)
        throw ShapeError("A_vjp: cotangent shape", expect.to_string(), local[k].shape().to_string(),
                         this->m_local[k]);
      put_shape(key, local[k].shape());
    }
  });
  auto local_shape = [&] { return x.shape(); };
  auto term = [&](std::size_t k, const Tensor<T>& out, bool add) {
    if (add)
      local_operator(k).A_adjoint_add(local[k], out);
    else
      local_operator(k).A_vjp(x, local[k], out);
  };
  return this->reduce_over_operators(DistributedStackedPhysics<T>::Method::Vjp, reduce, gather, key,
                                     local_shape, term, status);
}

template <class T>
Tensor<T> DistributedStackedLinearPhysics<T>::A_adjoint_A(const Tensor<T>& x, bool gather,
                                                          Reduce reduce) const {
  const ProfilingRegion region("kinv::DistributedStackedPhysics::A_adjoint_A");
  std::vector<std::int64_t> key;
  put_shape(key, x.shape());
  auto local_shape = [&] {
    const Shape s = local_operator(0).input_shape(local_operator(0).output_shape(x.shape()));
    if (s != x.shape())
      throw ShapeError("A_adjoint_A: A^T A x must have the shape of x", x.shape().to_string(),
                       s.to_string(), this->m_local[0]);
    return s;
  };
  auto term = [&](std::size_t k, const Tensor<T>& out, bool add) {
    if (add)
      local_operator(k).A_adjoint_A_add(x, out);
    else
      local_operator(k).A_adjoint_A(x, out);
  };
  return this->reduce_over_operators(DistributedStackedPhysics<T>::Method::AdjointA, reduce, gather,
                                     key, local_shape, term, comm::Status{});
}

template <class T>
TensorList<T> DistributedStackedLinearPhysics<T>::A_A_adjoint(const TensorList<T>& y,
                                                              bool gather) const {
  const ProfilingRegion region("kinv::DistributedStackedPhysics::A_A_adjoint");
  const Tensor<T> x = A_adjoint(y, true, Reduce::Sum);
  return this->A(x, gather, Reduce::None);
}

template <class T>
Tensor<T> DistributedStackedLinearPhysics<T>::A_dagger(const TensorList<T>& y,
                                                       const DistributedDaggerOptions& o) const {
  const ProfilingRegion region("kinv::DistributedStackedPhysics::A_dagger");
  this->check_alive();
  if (o.local_only) {
    // Mean over operators of each operator's own pseudo-inverse: one reduction.
    comm::Status status;
    std::vector<Tensor<T>> local;
    std::vector<std::int64_t> key;
    comm::guarded(status, [&] {
      local = this->local_slice("A_dagger", y);
      for (const auto& t : local) put_shape(key, t.shape());
    });
    LeastSquaresOptions lo = o;
    lo.verbose = false;
    lo.info = nullptr;
    auto local_shape = [&] {
      const Shape s = local_operator(0).input_shape(local[0].shape());
      for (std::size_t k = 1; k < local.size(); ++k) {
        const Shape sk = local_operator(k).input_shape(local[k].shape());
        if (sk != s)
          throw ShapeError("A_dagger: pseudo-inverses must share a shape; operator " +
                               std::to_string(this->m_local[k]) + "'s",
                           s.to_string(), sk.to_string(), this->m_local[k]);
      }
      return s;
    };
    auto term = [&](std::size_t k, const Tensor<T>& out, bool add) {
      const Tensor<T> xk = local_operator(k).A_dagger(local[k], lo);
      if (add)
        Kokkos::parallel_for("kinv::DistributedStackedPhysics::sum",
                             impl::range(this->execution_space(), out.size()),
                             impl::IdentityCopy<T, true>{xk.view(), out.view()});
      else
        deep_copy(out, xk);
    };
    return this->reduce_over_operators(DistributedStackedPhysics<T>::Method::Dagger, Reduce::Mean,
                                       o.gather, key, local_shape, term, status);
  }

  // Global least squares through the distributed operators. Every vector the solver touches is
  // replicated (gathered measurements, all-reduced images), so every rank runs the same
  // iterations on the same numbers and takes the same branches.
  {
    comm::Status status;
    comm::guarded(status, [&] {
      if (static_cast<std::int64_t>(y.size()) != this->m_num)
        throw ShapeError("A_dagger(local_only = false): number of measurements (all of them)",
                         std::to_string(this->m_num), std::to_string(y.size()));
    });
    this->m_comm.check(status);
  }
  LeastSquaresOptions go = o;
  go.verbose = o.verbose && this->m_comm.rank() == 0;
  auto a = [&](const Tensor<T>& x) { return this->A(x, true, Reduce::None); };
  auto at = [&](const TensorList<T>& v) { return A_adjoint(v, true, Reduce::Sum); };
  auto ata = [&](const Tensor<T>& x) { return A_adjoint_A(x, true, Reduce::Sum); };
  auto aat = [&](const TensorList<T>& v) { return A_A_adjoint(v, true); };
  return least_squares<Tensor<T>, TensorList<T>>(a, at, ata, aat, y, go);
}

template <class T>
T DistributedStackedLinearPhysics<T>::compute_sqnorm(const Tensor<T>& x0,
                                                     const DistributedSqnormOptions& o) const {
  const ProfilingRegion region("kinv::DistributedStackedPhysics::compute_sqnorm");
  this->check_alive();
  if (o.local_only) {
    // sum_i ||A_i||^2 >= ||A||^2: each operator's power method, then one reduction.
    std::vector<std::int64_t> key;
    put_shape(key, x0.shape());
    PowerOptions lo = o;
    lo.verbose = false;
    lo.info = nullptr;
    auto local_shape = [&] { return Shape{1}; };
    auto term = [&](std::size_t k, const Tensor<T>& out, bool add) {
      const T value = local_operator(k).compute_sqnorm(x0, lo);
      if (!add) return fill(out, value);
      Tensor<T> one("kinv::DistributedStackedPhysics::sqnorm", Shape{1});
      fill(one, value);
      Kokkos::parallel_for("kinv::DistributedStackedPhysics::sum",
                           impl::range(this->execution_space(), out.size()),
                           impl::IdentityCopy<T, true>{one.view(), out.view()});
    };
    const Tensor<T> r =
        this->reduce_over_operators(DistributedStackedPhysics<T>::Method::Sqnorm, Reduce::Sum,
                                    o.gather, key, local_shape, term, comm::Status{});
    if (r.size() == 0) return T(0);  // gather = false on a rank without operators
    const T value = to_vector(r)[0];
    if (o.verbose && o.gather && this->m_comm.rank() == 0)
      std::cout << "kinv: local upper bound ||A||_2^2 <= " << value << "\n";
    return value;
  }
  PowerOptions go = o;
  go.verbose = o.verbose && this->m_comm.rank() == 0;
  auto ata = [&](const Tensor<T>& x) { return A_adjoint_A(x, true, Reduce::Sum); };
  return power_method<T>(ata, x0, go);
}

template class DistributedStackedPhysics<float>;
template class DistributedStackedPhysics<double>;
template class DistributedStackedLinearPhysics<float>;
template class DistributedStackedLinearPhysics<double>;

}  // namespace kinv
