// kinv::DistributedContext: brings MPI and Kokkos up (if they are not already) and down again
// (only what it started), owns the stack's communicator, picks this rank's device and says
// which operators are whose (deepinv.distributed.DistributedContext).
#pragma once

#include <kinv/comm/communicator.hpp>
#include <kinv/comm/gather.hpp>
#include <kinv/core/types.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace kinv {

/// Options of a DistributedContext (deepinv's keyword arguments).
struct ContextOptions {
  /// Base random seed. When set, rank_seed() is seed + rank (if seed_offset) or seed. kinv's
  /// own noise is keyed by operator index, never by rank, and does not use this.
  std::optional<std::uint64_t> seed;
  bool seed_offset = true;
  /// Device for this rank; -1 maps the node-local rank onto the visible devices.
  int device_id = -1;
  /// Host threads for Kokkos (OpenMP/Threads backends); -1 leaves Kokkos' default.
  int num_threads = -1;
  /// Finalise at destruction what this context initialised (MPI, Kokkos).
  bool cleanup = true;
};

/// The distributed environment of a stack. Not copyable; objects built from it must be
/// destroyed before it (as RAII scoping does), and fail with a StateError if used afterwards.
class DistributedContext {
 public:
  /// Initialises MPI and Kokkos if needed (command-line --kokkos-* options are honoured) and
  /// duplicates MPI_COMM_WORLD.
  DistributedContext(int& argc, char**& argv, const ContextOptions& options = {});
  /// Same, without command-line arguments.
  explicit DistributedContext(const ContextOptions& options = {});
  /// Uses (a duplicate of) the user's communicator: see kinv/comm/mpi_interop.hpp.
  explicit DistributedContext(comm::Communicator communicator, const ContextOptions& options = {});
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  int rank() const noexcept { return m_comm.rank(); }
  int size() const noexcept { return m_comm.size(); }
  int world_size() const noexcept { return size(); }
  int local_rank() const noexcept { return m_comm.local_rank(); }
  int local_size() const noexcept { return m_comm.local_size(); }
  /// True with more than one rank (deepinv's use_dist).
  bool use_dist() const noexcept { return size() > 1; }
  const Device& device() const noexcept { return m_device; }
  const comm::Communicator& comm() const;

  /// Round-robin sharding: the i in [0, num_items) with i % size() == rank().
  std::vector<std::int64_t> local_indices(std::int64_t num_items) const;

  std::optional<std::uint64_t> seed() const noexcept { return m_options.seed; }
  /// seed + rank when seed_offset, else seed (0 without a seed).
  std::uint64_t rank_seed() const noexcept;

  void barrier() const { comm().barrier(); }
  /// In place over ranks: t <- the sum (Reduce::Sum) or mean (Reduce::Mean) of every rank's t
  /// (deepinv's all_reduce). Collective; t must have the same size on every rank.
  template <class T>
  void all_reduce(const Tensor<T>& t, Reduce op = Reduce::Sum) const;
  /// In place: t <- rank `root`'s t (deepinv's broadcast). Collective.
  template <class T>
  void broadcast(const Tensor<T>& t, int root = 0) const;
  /// Frees the communicator and finalises what this context started; later use of objects
  /// built on it throws StateError. Called by the destructor; safe to call twice.
  void finalize();
  bool is_finalized() const noexcept { return m_finalized; }

  /// Whether this context initialised MPI / Kokkos.
  bool started_mpi() const noexcept { return m_started_mpi; }
  bool started_kokkos() const noexcept { return m_started_kokkos; }

 private:
  void start(int* argc, char*** argv);
  void start_kokkos(int* argc, char*** argv);

  ContextOptions m_options;
  comm::Communicator m_comm;
  Device m_device;
  bool m_started_mpi = false;
  bool m_started_kokkos = false;
  bool m_finalized = false;
  int m_previous_rank = -1;
};

extern template void DistributedContext::all_reduce<float>(const Tensor<float>&, Reduce) const;
extern template void DistributedContext::all_reduce<double>(const Tensor<double>&, Reduce) const;
extern template void DistributedContext::broadcast<float>(const Tensor<float>&, int) const;
extern template void DistributedContext::broadcast<double>(const Tensor<double>&, int) const;

}  // namespace kinv
