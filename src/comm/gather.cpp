#include <kinv/comm/gather.hpp>

#include <algorithm>
#include <cstring>
#include <ostream>

namespace kinv {

GatherStrategy parse_gather_strategy(const std::string& name) {
  if (name == "naive") return GatherStrategy::Naive;
  if (name == "concatenated") return GatherStrategy::Concatenated;
  if (name == "broadcast") return GatherStrategy::Broadcast;
  throw ValueError("unknown gather strategy '" + name +
                   "': valid names are 'naive', 'concatenated', 'broadcast'");
}

std::string to_string(GatherStrategy s) {
  switch (s) {
    case GatherStrategy::Naive:
      return "naive";
    case GatherStrategy::Concatenated:
      return "concatenated";
    case GatherStrategy::Broadcast:
      return "broadcast";
  }
  throw ValueError("invalid GatherStrategy value " + std::to_string(static_cast<int>(s)));
}

std::ostream& operator<<(std::ostream& os, GatherStrategy s) { return os << to_string(s); }

Reduce parse_reduce(const std::string& name) {
  if (name == "none") return Reduce::None;
  if (name == "sum") return Reduce::Sum;
  if (name == "mean") return Reduce::Mean;
  throw ValueError("unknown reduction '" + name + "': valid names are 'none', 'sum', 'mean'");
}

std::string to_string(Reduce r) {
  switch (r) {
    case Reduce::None:
      return "none";
    case Reduce::Sum:
      return "sum";
    case Reduce::Mean:
      return "mean";
  }
  throw ValueError("invalid Reduce value " + std::to_string(static_cast<int>(r)));
}

std::ostream& operator<<(std::ostream& os, Reduce r) { return os << to_string(r); }

namespace comm {

GatherLayout GatherLayout::build(const Shape& input, const std::vector<Shape>& shapes,
                                 const std::vector<int>& owner, int num_ranks, int rank) {
  if (shapes.size() != owner.size())
    throw ValueError("GatherLayout: " + std::to_string(shapes.size()) + " shapes but " +
                     std::to_string(owner.size()) + " owners");
  GatherLayout L;
  L.input = input;
  L.shapes = shapes;
  L.owner = owner;
  L.offset.assign(shapes.size(), 0);
  L.counts.assign(static_cast<std::size_t>(num_ranks), 1);  // the status word
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    if (owner[i] < 0 || owner[i] >= num_ranks)
      throw ValueError("GatherLayout: operator " + std::to_string(i) + " has owner " +
                       std::to_string(owner[i]) + " outside [0, " + std::to_string(num_ranks) +
                       ")");
    L.counts[owner[i]] += shapes[i].size();
    if (owner[i] == rank) L.local.push_back(static_cast<std::int64_t>(i));
  }
  L.displs.assign(static_cast<std::size_t>(num_ranks), 0);
  for (int r = 1; r < num_ranks; ++r) L.displs[r] = L.displs[r - 1] + L.counts[r - 1];
  L.total = L.displs.back() + L.counts.back();
  std::vector<std::int64_t> cursor(L.displs);
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    L.offset[i] = cursor[owner[i]];
    cursor[owner[i]] += shapes[i].size();
  }
  return L;
}

namespace {

template <class T>
Buffer<T> range(const Buffer<T>& b, std::int64_t begin, std::int64_t n) {
  return Kokkos::subview(b, std::make_pair(begin, begin + n));
}

// Largest status word of the ranks' blocks (a tiny kernel, then one scalar to the host).
template <class T>
struct MaxStatusWord {
  Buffer<T> recv;
  Kokkos::View<std::int64_t*, MemorySpace> word_at;
  KOKKOS_INLINE_FUNCTION void operator()(const int r, T& m) const {
    const T w = recv(word_at(r));
    if (w > m) m = w;
  }
};

// One status word written or read. On host-accessible memory this is a plain store or load
// after a fence (no kernel, no copy); on a device, a one-element deep_copy.
template <class T>
void write_word(const Buffer<T>& buf, std::int64_t at, T word) {
  if constexpr (memory_is_host_accessible) {
    ExecutionSpace().fence();
    buf(at) = word;
  } else {
    Kokkos::deep_copy(Kokkos::subview(buf, at), word);
  }
}

template <class T>
T read_word(const Buffer<T>& buf, std::int64_t at) {
  if constexpr (memory_is_host_accessible) {
    return buf(at);
  } else {
    T w = 0;
    Kokkos::deep_copy(w, Kokkos::subview(buf, at));
    return w;
  }
}

template <class T>
void build_results(const GatherLayout& L, const Buffer<T>& recv, TensorList<T>& out) {
  out.clear();
  out.reserve(L.shapes.size());
  for (std::size_t i = 0; i < L.shapes.size(); ++i)
    out.emplace_back(range(recv, L.offset[i], L.shapes[i].size()), L.shapes[i]);
}

}  // namespace

template <class T>
Buffer<T> GatherEngine<T>::pick(Buffer<T> (&pair)[2], std::int64_t n, const char* label) {
  // A buffer whose only owner is this engine can be reused; one still referenced by results
  // the caller holds must not be overwritten.
  for (auto& b : pair)
    if (static_cast<std::int64_t>(b.extent(0)) == n && b.use_count() == 1) return b;
  for (auto& b : pair)
    if (b.use_count() <= 1) {
      b = Buffer<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                    static_cast<std::size_t>(n));
      return b;
    }
  pair[0] = Buffer<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                      static_cast<std::size_t>(n));
  return pair[0];
}

template <class T>
bool GatherEngine<T>::concatenated(const GatherLayout& L, bool deviate,
                                   const LocalCompute<T>& compute, Status& status,
                                   TensorList<T>& out) {
  const int me = m_comm.rank();
  const int P = m_comm.size();
  Buffer<T> recv = pick(m_recv, L.total, "kinv::gather::recv");
  // With one rank the results go straight into the receive buffer.
  Buffer<T> base;
  std::int64_t shift = 0;
  if (P == 1) {
    base = recv;
  } else {
    if (static_cast<std::int64_t>(m_send.extent(0)) < L.counts[me])
      m_send = Buffer<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::gather::send"),
                         static_cast<std::size_t>(L.counts[me]));
    base = m_send;
    shift = L.displs[me];
  }
  int word = deviate ? 1 : 0;
  if (!deviate) {
    for (std::size_t k = 0; k < L.local.size() && status.ok; ++k) {
      const auto i = static_cast<std::size_t>(L.local[k]);
      guarded(status, [&] {
        compute(k, Tensor<T>(range(base, L.offset[i] - shift, L.shapes[i].size()), L.shapes[i]));
      });
    }
    if (!status.ok) word = 2;
  }
  write_word(base, L.displs[me] - shift + L.counts[me] - 1, static_cast<T>(word));
  if (P > 1) m_comm.allgatherv(base, recv, L.counts, L.displs);

  // Every rank reads the same status words, so every rank returns the same verdict.
  T worst = 0;
  if constexpr (memory_is_host_accessible) {
    for (int r = 0; r < P; ++r) worst = std::max(worst, recv(L.displs[r] + L.counts[r] - 1));
    if (worst != T(0)) return false;
    build_results(L, recv, out);
    return true;
  }
  std::vector<std::int64_t> want(static_cast<std::size_t>(P));
  for (int r = 0; r < P; ++r) want[r] = L.displs[r] + L.counts[r] - 1;
  if (want != m_word_at_host) {
    m_word_at_host = want;
    m_word_at = Kokkos::View<std::int64_t*, MemorySpace>("kinv::gather::word_at",
                                                         static_cast<std::size_t>(P));
    auto h = Kokkos::create_mirror_view(m_word_at);
    for (int r = 0; r < P; ++r) h(r) = want[r];
    Kokkos::deep_copy(m_word_at, h);
  }
  Kokkos::parallel_reduce("kinv::gather::status", Kokkos::RangePolicy<ExecutionSpace>(0, P),
                          MaxStatusWord<T>{recv, m_word_at}, Kokkos::Max<T>(worst));
  if (worst != T(0)) return false;
  build_results(L, recv, out);
  return true;
}

template <class T>
bool GatherEngine<T>::broadcast(const GatherLayout& L, bool deviate, const LocalCompute<T>& compute,
                                Status& status, TensorList<T>& out) {
  const int me = m_comm.rank();
  Buffer<T> recv = pick(m_recv, L.total, "kinv::gather::recv");
  Kokkos::View<T*, compat::HostPinnedSpace> stage;
  if (!m_comm.gpu_aware()) stage = m_comm.staging<T>(2, L.total);
  Requests requests;
  int flag = deviate ? 1 : 0;
  std::size_t k = 0;  // position among this rank's operators
  for (std::size_t i = 0; i < L.shapes.size(); ++i) {
    const std::int64_t n = L.shapes[i].size();
    const Buffer<T> slot = range(recv, L.offset[i], n);
    if (L.owner[i] == me) {
      if (!deviate && status.ok) {
        guarded(status, [&] { compute(k, Tensor<T>(slot, L.shapes[i])); });
        if (!status.ok) flag = 2;
      }
      ++k;
    }
    Kokkos::View<T*, compat::HostPinnedSpace> slot_stage;
    if (stage.data() != nullptr)
      slot_stage = Kokkos::subview(stage, std::make_pair(L.offset[i], L.offset[i] + n));
    m_comm.ibcast(slot, L.owner[i], requests, slot_stage);
    requests.test();  // let MPI progress while the next operator computes
  }
  m_comm.iallreduce_max(&flag, requests);
  requests.wait();
  if (flag != 0) return false;
  build_results(L, recv, out);
  return true;
}

template <class T>
TensorList<T> GatherEngine<T>::naive(const Shape& input, std::int64_t num_operators,
                                     const std::vector<int>& owner,
                                     const std::vector<std::int64_t>& local,
                                     const std::vector<Shape>& shapes,
                                     const LocalCompute<T>& compute, Status status) {
  const int P = m_comm.size();
  // 1. This rank's results, contiguous on the device, then on the host.
  std::int64_t n_local = 0;
  if (status.ok && shapes.size() != local.size())
    status.fail("kinv::ValueError", "naive gather: " + std::to_string(shapes.size()) +
                                        " shapes for " + std::to_string(local.size()) +
                                        " local operators");
  std::vector<std::int64_t> at;
  if (status.ok)
    for (const auto& s : shapes) {
      at.push_back(n_local);
      n_local += s.size();
    }
  guarded(status, [&] {
    if (static_cast<std::int64_t>(m_local.extent(0)) < n_local)
      m_local = Buffer<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::gather::local"),
                          static_cast<std::size_t>(n_local));
  });
  for (std::size_t k = 0; k < local.size() && status.ok; ++k)
    guarded(status,
            [&] { compute(k, Tensor<T>(range(m_local, at[k], shapes[k].size()), shapes[k])); });

  records::Header h;
  h.ok = status.ok;
  h.kind = status.kind;
  h.what = status.what;
  h.operator_index = status.operator_index;
  h.scalar = records::scalar_of<T>();
  h.num_operators = num_operators;
  h.input = input;
  std::vector<records::Record> recs;
  Kokkos::View<T*, compat::HostPinnedSpace> host;
  if (status.ok) {
    host = m_comm.staging<T>(3, n_local);
    Kokkos::deep_copy(host, range(m_local, 0, n_local));
    for (std::size_t k = 0; k < local.size(); ++k)
      recs.push_back({local[k], shapes[k], host.data() + at[k],
                      shapes[k].size() * static_cast<std::int64_t>(sizeof(T))});
  }
  const std::vector<char> bytes = records::encode(h, recs);

  // 2. One byte all-gather (with a size exchange only when a block outgrew last call's).
  std::vector<std::int64_t> offsets;
  const std::vector<char> all = m_comm.allgatherv_bytes(bytes, offsets, m_naive_sizes);

  // 3. Every rank decodes and checks every block the same way, so all throw the same error.
  std::vector<records::Block> blocks(static_cast<std::size_t>(P));
  for (int r = 0; r < P; ++r) {
    try {
      blocks[r] = records::decode(all.data() + offsets[r],
                                  static_cast<std::size_t>(offsets[r + 1] - offsets[r]),
                                  records::scalar_of<T>());
    } catch (const Error& e) {
      throw ValueError("naive gather: the block from rank " + std::to_string(r) +
                       " is invalid: " + e.message());
    }
  }
  for (int r = 0; r < P; ++r)
    if (!blocks[r].header.ok)
      throw RemoteError(blocks[r].header.kind, blocks[r].header.what,
                        blocks[r].header.operator_index, r);
  const auto& ref = blocks[0].header;
  for (int r = 1; r < P; ++r) {
    if (blocks[r].header.num_operators != ref.num_operators)
      throw ValueError("naive gather: the number of operators differs across ranks: rank 0 has " +
                       std::to_string(ref.num_operators) + ", rank " + std::to_string(r) + " has " +
                       std::to_string(blocks[r].header.num_operators));
    if (blocks[r].header.input != ref.input)
      throw ShapeError("naive gather: input shape differs across ranks (rank 0 vs rank " +
                           std::to_string(r) + ")",
                       ref.input.to_string(), blocks[r].header.input.to_string());
  }
  const auto N = static_cast<std::size_t>(ref.num_operators);
  if (owner.size() != N)
    throw ValueError("naive gather: this rank expects " + std::to_string(owner.size()) +
                     " operators, the ranks sent " + std::to_string(N));
  std::vector<const records::Record*> by_index(N, nullptr);
  std::int64_t total = 0;
  for (int r = 0; r < P; ++r)
    for (const auto& rec : blocks[r].records) {
      const auto i = static_cast<std::size_t>(rec.index);
      if (by_index[i] != nullptr)
        throw ValueError("naive gather: operator " + std::to_string(i) + " was sent twice");
      if (owner[i] != r)
        throw ValueError("naive gather: operator " + std::to_string(i) + " came from rank " +
                         std::to_string(r) + ", but its owner is rank " + std::to_string(owner[i]));
      by_index[i] = &rec;
      total += rec.shape.size();
    }
  for (std::size_t i = 0; i < N; ++i)
    if (by_index[i] == nullptr)
      throw ValueError("naive gather: no rank sent operator " + std::to_string(i));

  // 4. Unpack into one device buffer; the results are views of it.
  Buffer<T> recv = pick(m_recv, total, "kinv::gather::recv");
  auto stage = m_comm.staging<T>(4, total);
  TensorList<T> out;
  out.reserve(N);
  std::int64_t cursor = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const auto* rec = by_index[i];
    std::memcpy(stage.data() + cursor, rec->data, static_cast<std::size_t>(rec->bytes));
    out.emplace_back(range(recv, cursor, rec->shape.size()), rec->shape);
    cursor += rec->shape.size();
  }
  Kokkos::deep_copy(recv, Kokkos::subview(stage, std::make_pair(std::int64_t(0), total)));
  return out;
}

template <class T>
bool GatherEngine<T>::allreduce(const Shape& shape, bool deviate,
                                const std::function<bool(const Tensor<T>& out)>& contribute,
                                Status& status, Tensor<T>& out) {
  const std::int64_t n = shape.size();
  Buffer<T> buf = pick(m_reduce, n + 1, "kinv::reduce");
  const Tensor<T> result(range(buf, 0, n), shape);
  int word = deviate ? 1 : 0;
  bool wrote = false;
  if (!deviate) {
    guarded(status, [&] { wrote = contribute(result); });
    if (!status.ok) word = 2;
  }
  if (!wrote || word != 0) Kokkos::deep_copy(result.view(), T(0));
  write_word(buf, n, static_cast<T>(word));
  m_comm.allreduce_sum(buf);
  if (read_word(buf, n) != T(0)) return false;
  out = result;
  return true;
}

template class GatherEngine<float>;
template class GatherEngine<double>;

}  // namespace comm
}  // namespace kinv
