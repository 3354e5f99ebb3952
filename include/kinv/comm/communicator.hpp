// kinv::comm::Communicator: the only door to MPI. It owns a duplicate of the communicator it is
// given, knows whether MPI can take device pointers (GPU-aware) and otherwise stages through
// reused pinned host buffers, and agrees on errors collectively so that no rank is left waiting.
// Nothing here includes mpi.h; kinv/comm/mpi_interop.hpp adds the MPI_Comm conversions.
#pragma once

#include <kinv/config.hpp>
#include <kinv/core/error.hpp>
#include <kinv/core/tensor.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace kinv {
namespace comm {

/// A flat device buffer as the collectives take it.
template <class T>
using Buffer = Kokkos::View<T*, MemorySpace>;

/// What one rank knows about its own success before a collective step.
struct Status {
  bool ok = true;
  std::string kind;  ///< e.g. "kinv::ShapeError"
  std::string what;  ///< the full message
  std::int64_t operator_index = -1;
  std::exception_ptr exception;  ///< the captured exception, when there was one

  /// Records the exception being handled (call inside a catch block). The first failure wins.
  void capture_current_exception() noexcept;
  void fail(const std::string& kind, const std::string& what, std::int64_t op = -1);
  /// Rethrows the captured exception (or an Error with the message) when not ok; for paths
  /// that do not communicate.
  void rethrow_if_failed() const;
};

/// Runs f() and records any exception it throws in `status` (no-op once status failed).
template <class F>
void guarded(Status& status, F&& f) noexcept {
  if (!status.ok) return;
  try {
    f();
  } catch (...) {
    status.capture_current_exception();
  }
}

/// Outstanding non-blocking operations started by a Communicator; wait() completes them.
class Requests {
 public:
  Requests();
  ~Requests();
  Requests(Requests&&) noexcept;
  Requests& operator=(Requests&&) noexcept;
  std::size_t size() const noexcept;
  /// Gives MPI a chance to progress (MPI_Testall); true when everything completed.
  bool test();
  void wait();

 private:
  friend class Communicator;
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// Persistent collective operations (MPI-4's MPI_Bcast_init, or Open MPI's MPIX_ extension),
/// set up once and started together as often as needed; freed with the object (unless MPI is
/// already finalised). Every rank must set up the same operations in the same order.
class PersistentRequests {
 public:
  PersistentRequests();
  ~PersistentRequests();
  PersistentRequests(PersistentRequests&&) noexcept;
  PersistentRequests& operator=(PersistentRequests&&) noexcept;
  bool empty() const noexcept;
  /// Starts every operation (MPI_Startall) and waits for all of them.
  void start_and_wait();
  /// Frees every operation (inactive ones only: call between start_and_wait()s).
  void clear() noexcept;

 private:
  friend class Communicator;
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// A communicator handle. Copies share one underlying duplicate, freed by free() (the
/// DistributedContext does this before MPI is finalised) or when the last copy goes.
class Communicator {
 public:
  struct Impl;

  /// A single-process communicator (MPI_COMM_SELF's duplicate, or no MPI at all).
  Communicator();
  /// Duplicates MPI_COMM_WORLD (MPI must be initialised).
  static Communicator duplicate_world();

  int rank() const;
  int size() const;
  /// Rank and size among the processes sharing this node.
  int local_rank() const;
  int local_size() const;
  /// True when MPI is given the buffers' pointers directly; false when data goes through
  /// reused pinned host buffers. Host memory spaces pass their pointers directly unless
  /// KINV_GPU_AWARE_MPI=0 asks for staging.
  bool gpu_aware() const;
  /// How gpu_aware() was decided, e.g. "KINV_GPU_AWARE_MPI=0" or "MPIX_Query_cuda_support".
  std::string gpu_aware_reason() const;
  /// "Open MPI v4.1.4, ..." or "none".
  std::string library_version() const;
  bool is_freed() const;
  void free();

  void barrier() const;

  // ---- collectives on device buffers (fence first; staged when not GPU-aware) ---------------
  /// recv[displs[r] .. + counts[r]) <- rank r's send[0 .. counts[r]).
  template <class T>
  void allgatherv(const Buffer<T>& send, const Buffer<T>& recv,
                  const std::vector<std::int64_t>& counts,
                  const std::vector<std::int64_t>& displs) const;
  /// The same with every rank's block already in place: buf[displs[r] .. + counts[r]) of rank r
  /// goes to every rank (MPI_IN_PLACE). Counts in MPI's int, converted once by the caller.
  template <class T>
  void allgatherv_in_place(const Buffer<T>& buf, const std::vector<int>& counts,
                           const std::vector<int>& displs) const;
  /// buf <- sum over ranks of buf, in place.
  template <class T>
  void allreduce_sum(const Buffer<T>& buf) const;
  /// Starts broadcasting buf from `root`; completes in `requests.wait()`. With host staging,
  /// `stage` is a host buffer of buf's size that stays untouched until the wait.
  template <class T>
  void ibcast(const Buffer<T>& buf, int root, Requests& requests,
              const Kokkos::View<T*, compat::HostPinnedSpace>& stage) const;
  /// Broadcasts buf from `root` and returns when it has arrived (blocking). With host staging,
  /// `stage` is a host buffer of buf's size.
  template <class T>
  void bcast(const Buffer<T>& buf, int root,
             const Kokkos::View<T*, compat::HostPinnedSpace>& stage) const;
  /// Whether this MPI offers persistent broadcasts (bcast_init) and KINV_PERSISTENT_BCAST=0
  /// does not turn them off.
  static bool has_persistent_bcast() noexcept;
  /// Adds a persistent broadcast of n elements at `data` (host memory) from `root` to
  /// `requests`. Collective: every rank adds the same broadcasts in the same order.
  template <class T>
  void bcast_init(T* data, std::int64_t n, int root, PersistentRequests& requests) const;
  /// Starts a max-reduction of *value over ranks (host memory); completes in requests.wait().
  void iallreduce_max(int* value, Requests& requests) const;

  // ---- host-side collectives -----------------------------------------------------------------
  /// recv + displs[r] <- rank r's counts[r] bytes at send, on host memory (no fence, no
  /// staging): for callers that lay out their own byte blocks.
  void allgatherv_host(const void* send, void* recv, const std::vector<std::int64_t>& counts,
                       const std::vector<std::int64_t>& displs) const;

  int allreduce_max(int value) const;
  int allreduce_min(int value) const;
  std::vector<std::int64_t> allgather(std::int64_t value) const;
  /// Every rank's byte block; `offsets` (size()+1 entries) delimits them in the result.
  std::vector<char> allgatherv_bytes(const std::vector<char>& send,
                                     std::vector<std::int64_t>& offsets) const;
  /// The same, without the size exchange while the sizes repeat: each rank sends its block in
  /// a slot of last call's size (`sizes`, kept by the caller and empty at first), prefixed by its
  /// true size. A rank whose block outgrew its slot makes every rank redo the call with a size
  /// exchange, as they all read the same prefixes; `sizes` becomes this call's sizes.
  std::vector<char> allgatherv_bytes(const std::vector<char>& send,
                                     std::vector<std::int64_t>& offsets,
                                     std::vector<std::int64_t>& sizes) const;
  void broadcast_bytes(std::vector<char>& bytes, int root) const;

  /// Collective error agreement plus an all-gather of small int64 payloads: returns every
  /// rank's payload when every status is ok, else throws the same RemoteError on every rank
  /// (naming the lowest failing rank and its message).
  std::vector<std::vector<std::int64_t>> agree(const Status& status,
                                               const std::vector<std::int64_t>& payload) const;
  /// agree() without a payload.
  void check(const Status& status) const { (void)agree(status, {}); }

  /// Reusable pinned host buffer of at least n elements of T (grow-only, one per slot).
  template <class T>
  Kokkos::View<T*, compat::HostPinnedSpace> staging(int slot, std::int64_t n) const;

  Impl& impl() const { return *m_impl; }
  explicit Communicator(std::shared_ptr<Impl> impl) : m_impl(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> m_impl;
};

/// Whether this build has MPI.
constexpr bool has_mpi() { return KINV_HAVE_MPI != 0; }
/// Initialises MPI (thread level funneled) if it is not; returns whether this call did.
bool initialize_mpi(int* argc, char*** argv);
/// Finalises MPI if it is initialised and not finalised.
void finalize_mpi();
bool mpi_is_initialized();
bool mpi_is_finalized();
/// Aborts every rank (MPI_Abort) with `code`; for fatal paths such as std::terminate.
[[noreturn]] void abort_all(int code);

}  // namespace comm
}  // namespace kinv
