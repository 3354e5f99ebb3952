#include <kinv/core/profiling.hpp>
#include <kinv/distributed/processing.hpp>

#include <algorithm>

namespace kinv {

namespace {

constexpr std::int64_t tag_options = 0x70726f63;  // "proc"
constexpr std::int64_t tag_shape = 0x73686170;    // "shap"

// A RemoteError from an agreement, thrown again as the error kind it carries, so that every
// rank throws the same ValueError or ShapeError (naming the first failing rank).
[[noreturn]] void rethrow_as_origin(const RemoteError& e) {
  const std::string& kind = e.origin_kind();
  std::string msg = e.message();
  // Strip the origin's "kind [where]: " prefix: the new error adds its own.
  if (msg.compare(0, kind.size(), kind) == 0) {
    std::string rest = msg.substr(kind.size());
    if (rest.compare(0, 2, " [") == 0) {
      const auto close = rest.find(']');
      if (close != std::string::npos) rest = rest.substr(close + 1);
    }
    if (rest.compare(0, 2, ": ") == 0) msg = rest.substr(2);
  }
  if (kind == "kinv::ValueError") throw ValueError(msg, e.operator_index(), e.rank());
  if (kind == "kinv::ShapeError") {
    const auto ex = msg.rfind(": expected ");
    const auto got = ex == std::string::npos ? ex : msg.find(", got ", ex);
    if (got != std::string::npos)
      throw ShapeError(msg.substr(0, ex), msg.substr(ex + 11, got - ex - 11), msg.substr(got + 6),
                       e.operator_index(), e.rank());
  }
  throw e;
}

std::vector<std::vector<std::int64_t>> agree_typed(const comm::Communicator& c,
                                                   const comm::Status& s,
                                                   const std::vector<std::int64_t>& payload) {
  try {
    return c.agree(s, payload);
  } catch (const RemoteError& e) {
    rethrow_as_origin(e);
  }
}

void put_vector(std::vector<std::int64_t>& p, const std::vector<std::int64_t>& v) {
  p.push_back(static_cast<std::int64_t>(v.size()));
  p.insert(p.end(), v.begin(), v.end());
}

void put_shape(std::vector<std::int64_t>& p, const Shape& s) { put_vector(p, s.extents()); }

Kokkos::View<std::int64_t*, MemorySpace> upload(Kokkos::View<std::int64_t*, MemorySpace> v,
                                                const std::vector<std::int64_t>& h,
                                                const char* label) {
  if (v.extent(0) != h.size())
    v = Kokkos::View<std::int64_t*, MemorySpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), h.size());
  Kokkos::View<const std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> hv(
      h.data(), h.size());
  Kokkos::deep_copy(v, hv);
  return v;
}

template <class T>
void ensure_size(comm::Buffer<T>& b, std::int64_t n, const char* label) {
  if (static_cast<std::int64_t>(b.extent(0)) < n)
    b = comm::Buffer<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                        static_cast<std::size_t>(n));
}

template <class T>
comm::Buffer<T> head(const comm::Buffer<T>& b, std::int64_t begin, std::int64_t n) {
  return Kokkos::subview(b, std::make_pair(begin, begin + n));
}

}  // namespace

template <class T>
DistributedProcessing<T>::DistributedProcessing(DistributedContext& ctx, Processor<T> processor,
                                                ProcessingOptions<T> options, int)
    : m_comm(ctx.comm()), m_processor(std::move(processor)), m_options(std::move(options)) {
  comm::Status status;
  std::int64_t kind = 2;
  comm::guarded(status, [&] {
    if (!m_processor) throw ValueError("DistributedProcessing: the processor is empty");
    if (m_options.max_batch_size < 0)
      throw ValueError(
          "DistributedProcessing: max_batch_size must be >= 0 (0: all of a rank's "
          "windows in one call), got " +
          std::to_string(m_options.max_batch_size));
    if (m_options.custom) {
      m_strategy = m_options.custom;
    } else if (m_options.strategy == "overlap_tiling") {
      kind = 0;
      m_strategy = std::make_shared<TilingStrategy<T>>(m_options.tiling, "overlap_tiling");
    } else if (m_options.strategy == "basic") {
      kind = 1;
      TilingOptions t = m_options.tiling;
      t.overlap = {0};
      m_strategy = std::make_shared<TilingStrategy<T>>(t, "basic");
    } else {
      throw ValueError("DistributedProcessing: unknown strategy '" + m_options.strategy +
                       "': valid names are 'overlap_tiling', 'basic' (or set options.custom)");
    }
  });
  // Every rank must process with the same options.
  std::vector<std::int64_t> cfg = {tag_options, static_cast<std::int64_t>(sizeof(T)), kind,
                                   m_options.max_batch_size};
  if (!m_options.custom) {
    const auto& t = m_options.tiling;
    put_vector(cfg, t.patch_size);
    put_vector(cfg, kind == 1 ? std::vector<std::int64_t>{0} : t.overlap);
    put_vector(cfg, t.stride);
    put_vector(cfg, std::vector<std::int64_t>(t.tiling_dims.begin(), t.tiling_dims.end()));
    cfg.push_back(static_cast<std::int64_t>(t.padding));
    cfg.push_back(static_cast<std::int64_t>(t.blend));
  }
  const auto all = agree_typed(m_comm, status, cfg);
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      throw ValueError("DistributedProcessing: the options differ between rank 0 and rank " +
                       std::to_string(r) + " (every rank must pass the same options)");
}

template <class T>
DistributedProcessing<T>::~DistributedProcessing() = default;

template <class T>
void DistributedProcessing<T>::check_alive() const {
  if (m_comm.is_freed())
    throw StateError("DistributedProcessing used after its DistributedContext was finalised");
}

template <class T>
TilePadding DistributedProcessing<T>::padding_used() const {
  if (const auto* t = dynamic_cast<const TilingStrategy<T>*>(m_strategy.get()))
    return m_prepared ? t->padding_used() : t->options().padding;
  return m_options.tiling.padding;
}

template <class T>
void DistributedProcessing<T>::prepare(const Shape& signal) {
  const ProfilingRegion region("kinv::DistributedProcessing::prepare");
  if (m_prepared && signal == m_shape) return;
  m_prepared = false;
  m_strategy->prepare(signal);
  const std::int64_t N = m_strategy->num_patches();
  const Shape window = m_strategy->window_shape();
  if (N <= 0)
    throw ValueError("DistributedProcessing: the strategy '" + m_strategy->name() +
                     "' produced no windows for a signal of shape " + signal.to_string());
  if (window.rank() != signal.rank() || window[0] != signal[0])
    throw ShapeError(
        "DistributedProcessing: the strategy '" + m_strategy->name() +
            "' gives windows that do not keep the batch dimension of " + signal.to_string(),
        "(" + std::to_string(signal[0]) + ", ...) of rank " + std::to_string(signal.rank()),
        window.to_string());
  const int P = m_comm.size();
  const int me = m_comm.rank();
  const std::int64_t wn = window.size();
  std::vector<std::int64_t> local;
  for (std::int64_t k = me; k < N; k += P) local.push_back(k);
  // Rank r holds tiles r, r + P, ... in its block of the gathered buffer.
  std::vector<std::int64_t> first(static_cast<std::size_t>(P) + 1, 0);
  for (int r = 0; r < P; ++r) first[r + 1] = first[r] + (r < N ? (N - r + P - 1) / P : 0);
  std::vector<std::int64_t> counts(static_cast<std::size_t>(P)),
      displs(static_cast<std::size_t>(P));
  for (int r = 0; r < P; ++r) {
    counts[r] = (first[r + 1] - first[r]) * wn;
    displs[r] = first[r] * wn;
  }
  std::vector<std::int64_t> all(static_cast<std::size_t>(N)), partial(static_cast<std::size_t>(N));
  for (std::int64_t k = 0; k < N; ++k) {
    all[k] = first[k % P] + k / P;
    partial[k] = (k % P == me) ? k / P : -1;
  }
  m_local_dev = upload(m_local_dev, local, "kinv::DistributedProcessing::local");
  m_slots_all = upload(m_slots_all, all, "kinv::DistributedProcessing::slots");
  m_slots_partial = upload(m_slots_partial, partial, "kinv::DistributedProcessing::partial");
  m_local = std::move(local);
  m_counts = std::move(counts);
  m_displs = std::move(displs);
  m_num = N;
  m_window = window;
  m_shape = signal;
  m_prepared = true;
}

template <class T>
void DistributedProcessing<T>::compute_local(const Tensor<T>& x) {
  const auto nl = static_cast<std::int64_t>(m_local.size());
  const std::int64_t wn = m_window.size();
  ensure_size(m_send, nl * wn, "kinv::DistributedProcessing::send");
  if (nl == 0) return;
  const std::int64_t batch =
      m_options.max_batch_size == 0 ? nl : std::min(m_options.max_batch_size, nl);
  ensure_size(m_in, batch * wn, "kinv::DistributedProcessing::batch");
  for (std::int64_t first = 0; first < nl; first += batch) {
    const std::int64_t n = std::min(batch, nl - first);
    const Shape bs = m_window.with(0, m_window[0] * n);
    const Tensor<T> in(head(m_in, 0, n * wn), bs);
    const Tensor<T> out(head(m_send, first * wn, n * wn), bs);
    m_strategy->extract_batch(x, Kokkos::subview(m_local_dev, std::make_pair(first, first + n)),
                              in);
    m_processor(in, out);
  }
}

template <class T>
Tensor<T> DistributedProcessing<T>::operator()(const Tensor<T>& x, bool gather) {
  auto out = Tensor<T>::uninitialized("kinv::DistributedProcessing::out", x.shape());
  (*this)(x, out, gather);
  return out;
}

template <class T>
void DistributedProcessing<T>::operator()(const Tensor<T>& x, const Tensor<T>& out, bool gather) {
  const ProfilingRegion region("kinv::DistributedProcessing::apply");
  check_alive();
  auto check_out = [&] {
    if (out.shape() != x.shape())
      throw_shape_error("DistributedProcessing: the output", x.shape(), out.shape());
  };

  if (!gather) {
    // This rank's share only: no communication, errors stay local (as deepinv).
    check_out();
    prepare(x.shape());
    compute_local(x);
    const Tensor<T> windows(
        head(m_send, 0, static_cast<std::int64_t>(m_local.size()) * m_window.size()),
        m_window.with(0, m_window[0] * static_cast<std::int64_t>(m_local.size())));
    m_strategy->blend_partial(windows, m_slots_partial, out);
    return;
  }

  // 0: ready and computed; 1: this rank's shape is not the agreed one; 2: failed.
  comm::Status status;
  comm::guarded(status, [&] {
    check_out();
    prepare(x.shape());
  });
  int code = !status.ok ? 2 : (!m_agreed || m_agreed_shape != x.shape()) ? 1 : 0;
  bool computed = false;
  if (code == 0) {
    comm::guarded(status, [&] { compute_local(x); });
    computed = true;
    if (!status.ok) code = 2;
  }
  if (m_comm.allreduce_max(code) != 0) {
    // Agree on the input shape and the layout (and on any error) before moving data.
    m_agreed = false;
    std::vector<std::int64_t> payload = {tag_shape};
    put_shape(payload, x.shape());
    if (status.ok) {
      payload.push_back(m_num);
      put_shape(payload, m_window);
    }
    const auto all = agree_typed(m_comm, status, payload);
    for (std::size_t r = 1; r < all.size(); ++r)
      if (all[r] != all[0]) {
        auto shape_of = [](const std::vector<std::int64_t>& p) {
          if (p.size() < 2) return std::string("?");
          const auto n = static_cast<std::size_t>(p[1]);
          if (p.size() < 2 + n) return std::string("?");
          return Shape(std::vector<std::int64_t>(p.begin() + 2, p.begin() + 2 + n)).to_string();
        };
        throw ShapeError(
            "DistributedProcessing: the input shape (or its tiling) differs "
            "between rank 0 and rank " +
                std::to_string(r),
            shape_of(all[0]), shape_of(all[r]));
      }
    m_agreed = true;
    m_agreed_shape = x.shape();
    if (!computed) comm::guarded(status, [&] { compute_local(x); });
    if (m_comm.allreduce_max(status.ok ? 0 : 2) != 0) {
      (void)agree_typed(m_comm, status, {});
      throw Error("DistributedProcessing: a rank failed without reporting an error");
    }
  }

  const int P = m_comm.size();
  const std::int64_t total = m_num * m_window.size();
  comm::Buffer<T> gathered;
  if (P == 1) {
    gathered = head(m_send, 0, total);
  } else {
    ensure_size(m_recv, total, "kinv::DistributedProcessing::recv");
    gathered = head(m_recv, 0, total);
    m_comm.allgatherv(m_send, gathered, m_counts, m_displs);
  }
  m_strategy->blend(Tensor<T>(gathered, m_window.with(0, m_window[0] * m_num)), m_slots_all, out);
}

template class DistributedProcessing<float>;
template class DistributedProcessing<double>;

}  // namespace kinv
