#include <kinv/distributed/context.hpp>

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

}  // namespace kinv
