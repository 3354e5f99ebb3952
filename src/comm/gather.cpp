#include <kinv/comm/gather.hpp>
#include <kinv/core/fault.hpp>
#include <kinv/core/profiling.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <limits>
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
                                 const std::vector<int>& owner, int num_ranks, int rank,
                                 std::int64_t align) {
  if (shapes.size() != owner.size())
    throw ValueError("GatherLayout: " + std::to_string(shapes.size()) + " shapes but " +
                     std::to_string(owner.size()) + " owners");
  if (align < 1) throw ValueError("GatherLayout: alignment " + std::to_string(align) + " < 1");
  GatherLayout L;
  L.input = input;
  L.shapes = shapes;
  L.owner = owner;
  L.offset.assign(shapes.size(), 0);
  std::vector<std::vector<std::size_t>> owned(static_cast<std::size_t>(num_ranks));
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    if (owner[i] < 0 || owner[i] >= num_ranks)
      throw ValueError("GatherLayout: operator " + std::to_string(i) + " has owner " +
                       std::to_string(owner[i]) + " outside [0, " + std::to_string(num_ranks) +
                       ")");
    owned[static_cast<std::size_t>(owner[i])].push_back(i);
    if (owner[i] == rank) L.local.push_back(static_cast<std::int64_t>(i));
  }
  // Rank blocks and the results in them start at multiples of `align`; each block ends with
  // its status word, right after the rank's last result.
  const auto align_up = [align](std::int64_t n) { return (n + align - 1) / align * align; };
  L.counts.assign(static_cast<std::size_t>(num_ranks), 0);
  L.displs.assign(static_cast<std::size_t>(num_ranks), 0);
  std::int64_t end = 0;
  for (int r = 0; r < num_ranks; ++r) {
    const std::int64_t begin = align_up(end);
    std::int64_t at = begin;
    for (std::size_t i : owned[static_cast<std::size_t>(r)]) {
      L.offset[i] = align_up(at);
      at = L.offset[i] + shapes[i].size();
    }
    L.displs[r] = begin;
    L.counts[r] = at + 1 - begin;  // with the status word
    end = at + 1;
  }
  L.total = end;
  if (L.total <= std::numeric_limits<int>::max()) {
    L.mpi_counts.assign(L.counts.begin(), L.counts.end());
    L.mpi_displs.assign(L.displs.begin(), L.displs.end());
  }
  static std::atomic<std::uint64_t> builds{0};
  L.id = ++builds;
  return L;
}

namespace {

// [begin, begin + n) of b as a View that shares b's ownership (for results handed out).
template <class T>
Buffer<T> range(const Buffer<T>& b, std::int64_t begin, std::int64_t n) {
  return Buffer<T>(b, std::make_pair(begin, begin + n));
}

// The same range as an unmanaged View, for use within one call while b is held: no reference
// count to update (on Kokkos 3.4 that is two atomic operations per copy, out of line).
template <class T>
Buffer<T> slot(const Buffer<T>& b, std::int64_t begin, std::int64_t n) {
  return Buffer<T>(b.data() + begin, static_cast<std::size_t>(n));
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
void write_word(const ExecutionSpace& space, const Buffer<T>& buf, std::int64_t at, T word) {
  if constexpr (memory_is_host_accessible) {
    space.fence();  // the results before it are written
    buf(at) = word;
  } else {
    Kokkos::deep_copy(Kokkos::subview(buf, at), word);  // fences everything first
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

// Computes this rank's results into `buf` at the layout's offsets (unless its input deviates)
// and writes its status word after them: 0 fine, 1 input off the layout, 2 an operator failed.
template <class T>
void compute_block(const ExecutionSpace& space, const GatherLayout& L, int me, const Buffer<T>& buf,
                   bool deviate, const LocalCompute<T>& compute, Status& status) {
  int word = deviate ? 1 : 0;
  if (!deviate) {
    for (std::size_t k = 0; k < L.local.size() && status.ok; ++k) {
      const auto i = static_cast<std::size_t>(L.local[k]);
      guarded(status, [&] {
        compute(k, Tensor<T>(slot(buf, L.offset[i], L.shapes[i].size()), L.shapes[i]));
      });
    }
    if (!status.ok) word = 2;
  }
  write_word(space, buf, L.displs[me] + L.counts[me] - 1, static_cast<T>(word));
}

}  // namespace

template <class T>
Buffer<T> GatherEngine<T>::allocate(std::int64_t n, const char* label) {
  try {
    if (impl::fault::fire(impl::fault::Point::GatherAllocation)) throw std::bad_alloc();
    return Buffer<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                     static_cast<std::size_t>(n));
  } catch (const std::exception& e) {
    if (m_reserving) throw;
    // Inside a collective: the other ranks already wait in it, and this rank has no buffer to
    // take part with. Stopping the job is the only way not to leave them waiting.
    std::fprintf(stderr,
                 "kinv: rank %d could not allocate %lld bytes for '%s' inside a collective call "
                 "(%s); the results of the last two calls are still held, so no buffer could be "
                 "reused. Aborting the job, as the other ranks are already in the collective.\n",
                 m_comm.rank(), static_cast<long long>(n) * static_cast<long long>(sizeof(T)),
                 label, e.what());
    std::fflush(stderr);
    abort_all(12);
  }
}

template <class T>
bool GatherEngine<T>::uses_small_broadcast(const GatherLayout& L) const {
  return L.total * static_cast<std::int64_t>(sizeof(T)) <= broadcast_blocking_bytes &&
         m_comm.size() > 1 && memory_is_host_accessible && Communicator::has_persistent_bcast();
}

namespace {
// Sets a flag for the enclosing scope (exceptions included).
struct ScopedFlag {
  explicit ScopedFlag(bool& flag) : m_flag(flag) { m_flag = true; }
  ~ScopedFlag() { m_flag = false; }
  ScopedFlag(const ScopedFlag&) = delete;
  ScopedFlag& operator=(const ScopedFlag&) = delete;
  bool& m_flag;
};
}  // namespace

template <class T>
void GatherEngine<T>::reserve_gather(const GatherLayout& L, GatherStrategy strategy) {
  const ScopedFlag reserving(m_reserving);
  (void)pick_recv(L.total);
  if (strategy == GatherStrategy::Broadcast && uses_small_broadcast(L) &&
      static_cast<std::int64_t>(m_small.extent(0)) != L.total) {
    m_small_bcasts.clear();  // set up again for the new buffer
    m_small_of = 0;
    m_small = Buffer<T>();
    m_small = allocate(L.total, "kinv::gather::small");
  }
}

template <class T>
void GatherEngine<T>::reserve_reduce(std::int64_t n) {
  const ScopedFlag reserving(m_reserving);
  (void)pick(m_reduce, n + 1, "kinv::reduce");
}

template <class T>
Buffer<T>& GatherEngine<T>::pick(Buffer<T> (&pair)[2], std::int64_t n, const char* label) {
  // A buffer whose only owner is this engine can be reused; one still referenced by results
  // the caller holds must not be overwritten.
  for (auto& b : pair)
    if (static_cast<std::int64_t>(b.extent(0)) == n && b.use_count() == 1) return b;
  for (auto& b : pair)
    if (b.use_count() <= 1) {
      b = Buffer<T>();  // the old buffer goes first: peak memory is the new one
      b = allocate(n, label);
      return b;
    }
  pair[0] = allocate(n, label);
  return pair[0];
}

template <class T>
std::size_t GatherEngine<T>::pick_recv(std::int64_t n) {
  // The engine's own result views hold one reference each; more means the caller still holds
  // results in that buffer, which must not be overwritten.
  const auto free = [&](std::size_t j, bool same_size) {
    return (!same_size || static_cast<std::int64_t>(m_recv[j].extent(0)) == n) &&
           m_recv[j].use_count() <= 1 + static_cast<int>(m_views[j].size());
  };
  for (std::size_t j = 0; j < 2; ++j)
    if (m_recv[j].data() != nullptr && free(j, true)) return j;
  std::size_t j = 0;
  while (j < 2 && !free(j, false)) ++j;
  if (j == 2) j = 0;  // both held: the caller keeps its results, a new buffer replaces one
  m_views[j].clear();
  m_views_of[j] = 0;
  m_recv[j] = Buffer<T>();
  m_recv[j] = allocate(n, "kinv::gather::recv");
  return j;
}

template <class T>
void GatherEngine<T>::results(const GatherLayout& L, std::size_t j, TensorList<T>& out) {
  // Building a View of part of a buffer is the costly part on small gathers (on Kokkos 3.4, five
  // reference-count updates each), so each buffer keeps its layout's views and hands out copies.
  if (m_views_of[j] != L.id || L.id == 0) {
    m_views[j].clear();
    for (std::size_t i = 0; i < L.shapes.size(); ++i)
      m_views[j].emplace_back(range(m_recv[j], L.offset[i], L.shapes[i].size()), L.shapes[i]);
    m_views_of[j] = L.id;
  }
  out.assign(m_views[j].begin(), m_views[j].end());
}

template <class T>
bool GatherEngine<T>::concatenated(const GatherLayout& L, bool deviate,
                                   const LocalCompute<T>& compute, Status& status,
                                   TensorList<T>& out) {
  const ProfilingRegion region("kinv::gather::concatenated");
  const int me = m_comm.rank();
  const int P = m_comm.size();
  const std::size_t j = pick_recv(L.total);
  const Buffer<T>& recv = m_recv[j];
  // Every rank computes its results in their places in the receive buffer, and the all-gather
  // fills in the other ranks' blocks (in place): no send buffer, no copy of its own block.
  compute_block(m_space, L, me, recv, deviate, compute, status);
  if (P > 1) {
    if (L.mpi_counts.empty())
      throw CommError("concatenated gather: " + std::to_string(L.total) +
                      " elements exceed MPI's int count limit");
    m_comm.allgatherv_in_place(recv, L.mpi_counts, L.mpi_displs);
  }

  if (!all_fine(L, recv)) return false;
  results(L, j, out);
  return true;
}

template <class T>
bool GatherEngine<T>::all_fine(const GatherLayout& L, const Buffer<T>& recv) {
  // Every rank reads the same status words, so every rank returns the same verdict.
  const int P = m_comm.size();
  T worst = 0;
  if constexpr (memory_is_host_accessible) {
    m_space.fence();
    for (int r = 0; r < P; ++r) worst = std::max(worst, recv(L.displs[r] + L.counts[r] - 1));
    return worst == T(0);
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
  Kokkos::parallel_reduce("kinv::gather::status",
                          Kokkos::RangePolicy<ExecutionSpace>(m_space, 0, P),
                          MaxStatusWord<T>{recv, m_word_at}, Kokkos::Max<T>(worst));
  return worst == T(0);
}

template <class T>
bool GatherEngine<T>::broadcast(const GatherLayout& L, bool deviate, const LocalCompute<T>& compute,
                                Status& status, TensorList<T>& out) {
  const ProfilingRegion region("kinv::gather::broadcast");
  const int me = m_comm.rank();
  const int P = m_comm.size();
  // Small gathers are transfers too short to hide behind kernels, where starting and completing
  // a non-blocking broadcast costs more than a blocking one: every rank computes its results
  // first, then each result goes out in one blocking broadcast, in operator order.
  const bool blocking = L.total * static_cast<std::int64_t>(sizeof(T)) <= broadcast_blocking_bytes;
  // On host memory, where MPI has persistent broadcasts, the small gathers' broadcasts are set
  // up once per layout and started together (MPI_Startall), into a buffer of their own that is
  // copied to the receive buffer: the same on every rank, whatever buffer each rank's caller
  // still holds.
  if (uses_small_broadcast(L)) return small_broadcast(L, deviate, compute, status, out);
  const std::size_t j = pick_recv(L.total);
  const Buffer<T>& recv = m_recv[j];
  Kokkos::View<T*, compat::HostPinnedSpace> stage;
  if (!m_comm.gpu_aware()) stage = m_comm.staging<T>(2, L.total);
  // Broadcasts [begin, begin + n) of the receive buffer from `root`.
  auto send = [&](std::int64_t begin, std::int64_t n, int root) {
    Kokkos::View<T*, compat::HostPinnedSpace> slot_stage;
    if (stage.data() != nullptr)
      slot_stage = Kokkos::subview(stage, std::make_pair(begin, begin + n));
    if (blocking)
      m_comm.bcast(slot(recv, begin, n), root, slot_stage);
    else
      m_comm.ibcast(slot(recv, begin, n), root, m_requests, slot_stage);
  };
  const std::int64_t my_word = L.displs[me] + L.counts[me] - 1;
  int word = deviate ? 1 : 0;
  // This rank's k-th result (operator i), unless its input deviates or an earlier one failed.
  auto compute_local = [&](std::size_t k, std::size_t i) {
    if (deviate || !status.ok) return;
    guarded(status, [&] {
      compute(k, Tensor<T>(slot(recv, L.offset[i], L.shapes[i].size()), L.shapes[i]));
    });
    if (!status.ok) word = 2;
  };
  if (blocking) compute_block(m_space, L, me, recv, deviate, compute, status);
  // Rank r's status word follows its last operator's result, so it travels in that broadcast
  // (written once all of r's operators are computed); a rank without operators broadcasts its
  // word alone, after the results. Every rank then reads every word: no extra collective.
  std::vector<std::int64_t>& left = m_left;  // per rank, operators not yet broadcast
  left.assign(static_cast<std::size_t>(P), 0);
  for (int o : L.owner) ++left[static_cast<std::size_t>(o)];
  std::size_t k = 0;  // position among this rank's operators
  for (std::size_t i = 0; i < L.shapes.size(); ++i) {
    const int owner = L.owner[i];
    std::int64_t n = L.shapes[i].size();
    if (owner == me && !blocking) compute_local(k++, i);
    if (--left[static_cast<std::size_t>(owner)] == 0) {
      ++n;  // with the owner's status word
      if (owner == me && !blocking) write_word(m_space, recv, my_word, static_cast<T>(word));
    }
    send(L.offset[i], n, owner);
    if (!blocking && i + 1 < L.shapes.size()) m_requests.test();  // progress meanwhile
  }
  for (int r = 0; r < P; ++r)
    if (L.counts[r] == 1) {  // no operators: the word alone
      if (r == me && !blocking) write_word(m_space, recv, my_word, static_cast<T>(word));
      send(L.displs[r], 1, r);
    }
  m_requests.wait();
  if (!all_fine(L, recv)) return false;
  results(L, j, out);
  return true;
}

template <class T>
bool GatherEngine<T>::small_broadcast(const GatherLayout& L, bool deviate,
                                      const LocalCompute<T>& compute, Status& status,
                                      TensorList<T>& out) {
  const ProfilingRegion region("kinv::gather::broadcast_small");
  const int me = m_comm.rank();
  const int P = m_comm.size();
  if (m_small_of != L.id || L.id == 0) {
    // Every rank sets up the same broadcasts in the same order: one per operator from its
    // owner, the owner's status word with its last result, a word alone from a rank without
    // operators.
    m_small_bcasts.clear();
    m_small_of = 0;
    if (static_cast<std::int64_t>(m_small.extent(0)) != L.total) {
      m_small = Buffer<T>();
      m_small = allocate(L.total, "kinv::gather::small");
    }
    std::vector<std::int64_t>& left = m_left;
    left.assign(static_cast<std::size_t>(P), 0);
    for (int o : L.owner) ++left[static_cast<std::size_t>(o)];
    for (std::size_t i = 0; i < L.shapes.size(); ++i) {
      const int owner = L.owner[i];
      const std::int64_t n =
          L.shapes[i].size() + (--left[static_cast<std::size_t>(owner)] == 0 ? 1 : 0);
      m_comm.bcast_init(m_small.data() + L.offset[i], n, owner, m_small_bcasts);
    }
    for (int r = 0; r < P; ++r)
      if (L.counts[r] == 1) m_comm.bcast_init(m_small.data() + L.displs[r], 1, r, m_small_bcasts);
    m_small_of = L.id;
  }
  compute_block(m_space, L, me, m_small, deviate, compute, status);
  static const std::string label = "kinv::gather::small_broadcast";
  compat::fence(label);
  m_small_bcasts.start_and_wait();
  const std::size_t j = pick_recv(L.total);
  // Only host-accessible memory takes this path (uses_small_broadcast); a device build gets a
  // deep_copy here, so that the function is right wherever it is called.
  if constexpr (memory_is_host_accessible)
    std::memcpy(m_recv[j].data(), m_small.data(), static_cast<std::size_t>(L.total) * sizeof(T));
  else
    Kokkos::deep_copy(Kokkos::subview(m_recv[j], std::make_pair(std::int64_t(0), L.total)),
                      m_small);
  if (!all_fine(L, m_recv[j])) return false;
  results(L, j, out);
  return true;
}

template <class T>
TensorList<T> GatherEngine<T>::naive(const Shape& input, std::int64_t num_operators,
                                     const std::vector<int>& owner,
                                     const std::vector<std::int64_t>& local,
                                     const std::vector<Shape>& shapes,
                                     const LocalCompute<T>& compute, Status status) {
  const ProfilingRegion region("kinv::gather::naive");
  static_assert(records::value_alignment % sizeof(T) == 0, "values must be T-aligned");
  const int P = m_comm.size();
  const int me = m_comm.rank();
  // Each rank's block travels in a slot: its true size (8 bytes, zero-padded to a cache line),
  // then the block, padded to a whole number of cache lines. Slots start at multiples of 64
  // bytes, so every record's values are aligned as records::value_alignment wherever they land.
  constexpr std::int64_t prefix = slot_bytes;
  static_assert(records::value_alignment == slot_bytes, "slots and values align alike");
  constexpr auto elem = static_cast<std::int64_t>(sizeof(T));
  auto round_slot = [](std::int64_t b) { return (b + slot_bytes - 1) / slot_bytes * slot_bytes; };
  // With host memory and MPI taking its pointers, the blocks are built, sent and read where
  // they are; otherwise through pinned host buffers (one copy each way).
  const bool in_place = memory_is_host_accessible && m_comm.gpu_aware();

  // 1. The block's layout, then this rank's results computed straight into their places.
  if (status.ok && shapes.size() != local.size())
    status.fail("kinv::ValueError", "naive gather: " + std::to_string(shapes.size()) +
                                        " shapes for " + std::to_string(local.size()) +
                                        " local operators");
  records::Header h;
  h.scalar = records::scalar_of<T>();
  h.num_operators = num_operators;
  h.input = input;
  std::vector<records::Record> recs;
  records::Plan plan;
  guarded(status, [&] {
    recs.reserve(local.size());
    for (std::size_t k = 0; k < local.size(); ++k)
      recs.push_back({local[k], shapes[k], nullptr, shapes[k].size() * elem});
    plan = records::plan(h, recs);
    const bool known = static_cast<int>(m_naive_sizes.size()) == P;
    const std::int64_t need = prefix + std::max(round_slot(static_cast<std::int64_t>(plan.size)),
                                                known ? m_naive_sizes[me] : 0);
    if (static_cast<std::int64_t>(m_local.extent(0)) * elem < need)
      m_local = Buffer<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::gather::naive"),
                          static_cast<std::size_t>(need / elem));
  });
  for (std::size_t k = 0; k < local.size() && status.ok; ++k)
    guarded(status, [&] {
      const auto at = static_cast<std::int64_t>(prefix + plan.values_at[k]) / elem;
      compute(k, Tensor<T>(slot(m_local, at, shapes[k].size()), shapes[k]));
    });
  if (!status.ok) {
    // The block becomes the error alone.
    h.ok = false;
    h.kind = status.kind;
    h.what = status.what;
    h.operator_index = status.operator_index;
    recs.clear();
    plan = records::plan(h, recs);
  }
  const auto mine = static_cast<std::int64_t>(plan.size);
  const std::int64_t send_bytes =
      prefix + std::max(round_slot(mine), static_cast<int>(m_naive_sizes.size()) == P
                                              ? m_naive_sizes[me]
                                              : std::int64_t(0));
  char* send = nullptr;
  if (in_place && static_cast<std::int64_t>(m_local.extent(0)) * elem >= send_bytes) {
    m_space.fence();
    send = reinterpret_cast<char*>(m_local.data());
  } else {
    // Staged (or an error block that outgrew the buffer): the values go to the host first.
    auto host = m_comm.staging<T>(3, send_bytes / elem);
    if (status.ok && mine > 0) {
      const std::int64_t n = round_slot(prefix + mine) / elem;
      Kokkos::deep_copy(Kokkos::subview(host, std::make_pair(std::int64_t(0), n)),
                        range(m_local, 0, n));
    }
    send = reinterpret_cast<char*>(host.data());
  }
  records::encode_into(send + prefix, h, recs, plan);
  if (impl::fault::fire(impl::fault::Point::NaiveCorruptBlock)) send[prefix + 4] ^= 0x5a;
  const std::int64_t claimed =
      mine + (impl::fault::fire(impl::fault::Point::NaiveWrongSize) ? slot_bytes : 0);
  std::memcpy(send, &claimed, sizeof(claimed));
  std::memset(send + sizeof(claimed), 0, prefix - sizeof(claimed));

  // 2. One byte all-gather into slots of last call's sizes; a size exchange only when a block
  // outgrew its slot (every rank reads the same true sizes, so all redo it together).
  std::vector<std::int64_t> counts(static_cast<std::size_t>(P)),
      displs(static_cast<std::size_t>(P));
  std::vector<std::int64_t> actual(static_cast<std::size_t>(P));
  Buffer<T> recv;
  char* all = nullptr;
  auto exchange = [&]() -> bool {
    std::int64_t total = 0;
    for (int r = 0; r < P; ++r) {
      counts[r] = prefix + m_naive_sizes[r];
      displs[r] = total;
      total += counts[r];
    }
    recv = Buffer<T>();
    if (in_place) {
      recv = m_recv[pick_recv(total / elem)];
      all = reinterpret_cast<char*>(recv.data());
    } else {
      all = reinterpret_cast<char*>(m_comm.staging<T>(4, total / elem).data());
    }
    m_comm.allgatherv_host(send, all, counts, displs);
    bool fits = true;
    for (int r = 0; r < P; ++r) {
      std::memcpy(&actual[r], all + displs[r], sizeof(std::int64_t));
      fits = fits && actual[r] >= 0 && round_slot(actual[r]) <= m_naive_sizes[r];
    }
    return fits;
  };
  bool done = static_cast<int>(m_naive_sizes.size()) == P && exchange();
  if (!done) {
    m_naive_sizes = m_comm.allgather(round_slot(mine));
    // The receive buffer for the new sizes is allocated before the exchange, and every rank
    // learns whether that worked (an allocation cannot fail inside the collective then).
    std::int64_t total = 0;
    for (int r = 0; r < P; ++r) total += prefix + m_naive_sizes[r];
    Status reserved;
    guarded(reserved, [&] {
      const ScopedFlag reserving(m_reserving);
      if (in_place)
        (void)pick_recv(total / elem);
      else
        (void)m_comm.staging<T>(4, total / elem);
    });
    m_comm.check(reserved);
    done = exchange();
    if (!done) {
      // Every rank asked for the slot of its block's true size: a block that still does not
      // fit claims more bytes than its rank encoded (a corrupted size word).
      std::string which;
      for (int r = 0; r < P; ++r)
        if (!(actual[r] >= 0 && round_slot(actual[r]) <= m_naive_sizes[r]))
          which += (which.empty() ? "" : ", ") + std::string("rank ") + std::to_string(r) +
                   " claims " + std::to_string(actual[r]) + " bytes in a slot of " +
                   std::to_string(m_naive_sizes[r]);
      throw CommError("naive gather: a block does not fit the slot its rank asked for (" + which +
                      ")");
    }
  }
  // Slots follow this call's sizes (rounded), so that shrinking blocks shrink their slots.
  for (int r = 0; r < P; ++r) m_naive_sizes[r] = round_slot(actual[r]);

  // 3. Every rank decodes and checks every block the same way, so all throw the same error.
  std::vector<records::Block> blocks(static_cast<std::size_t>(P));
  for (int r = 0; r < P; ++r) {
    try {
      blocks[r] = records::decode(all + displs[r] + prefix, static_cast<std::size_t>(actual[r]),
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
  for (int r = 0; r < P; ++r)
    for (const auto& rec : blocks[r].records) {
      const auto i = static_cast<std::size_t>(rec.index);
      if (by_index[i] != nullptr)
        throw ValueError("naive gather: operator " + std::to_string(i) + " was sent twice");
      if (owner[i] != r)
        throw ValueError("naive gather: operator " + std::to_string(i) + " came from rank " +
                         std::to_string(r) + ", but its owner is rank " + std::to_string(owner[i]));
      by_index[i] = &rec;
    }
  for (std::size_t i = 0; i < N; ++i)
    if (by_index[i] == nullptr)
      throw ValueError("naive gather: no rank sent operator " + std::to_string(i));

  // 4. The results are views of the received blocks' values (copied to the device first when
  // they came through the host).
  const std::int64_t total = displs[P - 1] + counts[P - 1];
  if (!in_place) {
    recv = m_recv[pick_recv(total / elem)];
    Kokkos::deep_copy(recv, m_comm.staging<T>(4, total / elem));
  }
  TensorList<T> out;
  out.reserve(N);
  for (std::size_t i = 0; i < N; ++i) {
    const auto* rec = by_index[i];
    const std::ptrdiff_t at = static_cast<const char*>(rec->data) - all;  // a multiple of 64
    out.emplace_back(range(recv, static_cast<std::int64_t>(at) / elem, rec->shape.size()),
                     rec->shape);
  }
  return out;
}

template <class T>
bool GatherEngine<T>::allreduce(const Shape& shape, bool deviate,
                                const std::function<bool(const Tensor<T>& out)>& contribute,
                                Status& status, Tensor<T>& out) {
  const ProfilingRegion region("kinv::reduce");
  const std::int64_t n = shape.size();
  const Buffer<T>& buf = pick(m_reduce, n + 1, "kinv::reduce");
  const Tensor<T> result(range(buf, 0, n), shape);
  int word = deviate ? 1 : 0;
  bool wrote = false;
  if (!deviate) {
    guarded(status, [&] { wrote = contribute(result); });
    if (!status.ok) word = 2;
  }
  if (!wrote || word != 0) Kokkos::deep_copy(result.view(), T(0));
  write_word(m_space, buf, n, static_cast<T>(word));
  m_comm.allreduce_sum(buf);
  if (read_word(buf, n) != T(0)) return false;
  out = result;
  return true;
}

template class GatherEngine<float>;
template class GatherEngine<double>;

}  // namespace comm
}  // namespace kinv
