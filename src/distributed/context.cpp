#include <kinv/core/profiling.hpp>
#include <kinv/distributed/context.hpp>

#include <KokkosBlas1_scal.hpp>

namespace kinv {

DistributedContext::DistributedContext(int& argc, char**& argv, const ContextOptions& options)
    : m_options(options) {
  start(&argc, &argv);
}

DistributedContext::DistributedContext(const ContextOptions& options) : m_options(options) {
  start(nullptr, nullptr);
}

DistributedContext::DistributedContext(comm::Communicator communicator,
                                       const ContextOptions& options)
    : m_options(options), m_comm(std::move(communicator)) {
  if (m_comm.is_freed()) throw StateError("DistributedContext: the communicator was freed");
  start_kokkos(nullptr, nullptr);
}

void DistributedContext::start(int* argc, char*** argv) {
  m_started_mpi = comm::initialize_mpi(argc, argv);
  m_comm = comm::has_mpi() ? comm::Communicator::duplicate_world() : comm::Communicator();
  start_kokkos(argc, argv);
}

void DistributedContext::start_kokkos(int* argc, char*** argv) {
  if (!Kokkos::is_initialized()) {
    if (compat::is_finalized())
      throw StateError("DistributedContext: Kokkos was already finalised and cannot restart");
    // One device per node-local rank, round-robin over the visible devices.
    const int dev =
        m_options.device_id >= 0 ? m_options.device_id : local_rank() % compat::num_devices();
    int no_argc = 0;
    compat::initialize(argc ? *argc : no_argc, argv ? *argv : nullptr, dev, m_options.num_threads);
    m_started_kokkos = true;
  }
  m_device = Device{compat::device_id(), compat::execution_space_name(), memory_is_host_accessible};
  // Errors name this rank from now on (an enclosing context's rank comes back at finalize).
  m_previous_rank = impl::process_rank();
  impl::set_process_rank(rank());
}

DistributedContext::~DistributedContext() {
  try {
    finalize();
  } catch (...) {
  }
}

void DistributedContext::finalize() {
  if (m_finalized) return;
  m_finalized = true;
  m_comm.free();
  impl::set_process_rank(m_previous_rank);
  if (m_options.cleanup && m_started_kokkos && Kokkos::is_initialized()) compat::finalize();
  if (m_options.cleanup && m_started_mpi) comm::finalize_mpi();
}

const comm::Communicator& DistributedContext::comm() const {
  if (m_finalized) throw StateError("DistributedContext: used after finalize()");
  return m_comm;
}

std::vector<std::int64_t> DistributedContext::local_indices(std::int64_t num_items) const {
  if (num_items < 0)
    throw ValueError("local_indices: num_items must be >= 0, got " + std::to_string(num_items));
  std::vector<std::int64_t> out;
  for (std::int64_t i = rank(); i < num_items; i += size()) out.push_back(i);
  return out;
}

std::uint64_t DistributedContext::rank_seed() const noexcept {
  const std::uint64_t base = m_options.seed ? *m_options.seed : 0;
  return m_options.seed_offset ? base + static_cast<std::uint64_t>(rank()) : base;
}

namespace {
// Every rank's element count must match before MPI sees the buffers (else MPI would hang or
// read out of bounds): agreed on first, with any local error.
void agree_on_size(const comm::Communicator& c, const char* method, std::int64_t n,
                   comm::Status status) {
  const auto all = c.agree(status, {n});
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      throw ShapeError(std::string("DistributedContext::") + method +
                           ": element count differs across ranks (rank 0 vs rank " +
                           std::to_string(r) + ")",
                       std::to_string(all[0][0]), std::to_string(all[r][0]));
}
}  // namespace

template <class T>
void DistributedContext::all_reduce(const Tensor<T>& t, Reduce op) const {
  const ProfilingRegion region("kinv::DistributedContext::all_reduce");
  comm::Status status;
  comm::guarded(status, [&] {
    if (op != Reduce::Sum && op != Reduce::Mean)
      throw ValueError("DistributedContext::all_reduce: op must be sum or mean, got " +
                       to_string(op));
  });
  agree_on_size(comm(), "all_reduce", t.size(), status);
  comm().allreduce_sum(t.view());
  if (op == Reduce::Mean) KokkosBlas::scal(t.view(), T(1) / static_cast<T>(size()), t.view());
}

template <class T>
void DistributedContext::broadcast(const Tensor<T>& t, int root) const {
  const ProfilingRegion region("kinv::DistributedContext::broadcast");
  comm::Status status;
  comm::guarded(status, [&] {
    if (root < 0 || root >= size())
      throw ValueError("DistributedContext::broadcast: root must be in [0, " +
                       std::to_string(size()) + "), got " + std::to_string(root));
  });
  agree_on_size(comm(), "broadcast", t.size(), status);
  comm::Requests requests;
  Kokkos::View<T*, compat::HostPinnedSpace> stage;
  if (!comm().gpu_aware()) stage = comm().staging<T>(5, t.size());
  comm().ibcast(t.view(), root, requests, stage);
  requests.wait();
}

template void DistributedContext::all_reduce<float>(const Tensor<float>&, Reduce) const;
template void DistributedContext::all_reduce<double>(const Tensor<double>&, Reduce) const;
template void DistributedContext::broadcast<float>(const Tensor<float>&, int) const;
template void DistributedContext::broadcast<double>(const Tensor<double>&, int) const;

}  // namespace kinv
