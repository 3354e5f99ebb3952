// The three gather strategies (naive, concatenated, broadcast) and the reduction that
// distributed stacks use, over device buffers that are reused between calls.
//
// Every strategy also carries each rank's status, so that a rank whose input differs from what
// the others agreed on, or whose operator failed, is seen by all ranks in the same collective
// that moves the data: the steady state sends no extra messages, and no rank is left waiting.
#pragma once

#include <kinv/comm/communicator.hpp>
#include <kinv/comm/records.hpp>

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace kinv {

/// How A(x) results are assembled on every rank (deepinv's `gather_strategy`).
enum class GatherStrategy {
  Naive,         ///< serialised (index, shape, type, bytes) records in one byte all-gather
  Concatenated,  ///< one MPI_Allgatherv of every result, written in place, exact counts
  Broadcast      ///< one non-blocking broadcast per operator from its owner
};

/// "naive" | "concatenated" | "broadcast"; anything else is a ValueError listing them.
GatherStrategy parse_gather_strategy(const std::string& name);
std::string to_string(GatherStrategy s);
std::ostream& operator<<(std::ostream& os, GatherStrategy s);

/// Reduction applied across operators (deepinv's `reduce_op`).
enum class Reduce { None, Sum, Mean };
/// "none" | "sum" | "mean".
Reduce parse_reduce(const std::string& name);
std::string to_string(Reduce r);
std::ostream& operator<<(std::ostream& os, Reduce r);

namespace comm {

/// Where every operator's result lives in the receive buffer. Rank r's results are contiguous
/// (its operators in increasing index order) and followed by one status word.
struct GatherLayout {
  Shape input;                       ///< input shape the layout was agreed for
  std::vector<Shape> shapes;         ///< per operator index
  std::vector<int> owner;            ///< per operator index
  std::vector<std::int64_t> offset;  ///< per operator index, into the receive buffer
  std::vector<std::int64_t> counts;  ///< per rank, elements including the status word
  std::vector<std::int64_t> displs;  ///< per rank
  std::vector<int> mpi_counts;       ///< counts and displs as MPI's ints; empty when they do
  std::vector<int> mpi_displs;       ///< not fit (total past INT_MAX)
  std::int64_t total = 0;            ///< receive buffer elements
  std::vector<std::int64_t> local;   ///< this rank's operator indices, increasing
  std::uint64_t id = 0;              ///< unique per build() (copies share it); 0 when empty

  bool empty() const noexcept { return shapes.empty(); }
  /// Lays out operators with these output shapes and owners for `rank` of `num_ranks`, every
  /// result starting at a multiple of `align` elements (slot_alignment<T>(): 64 bytes, so that
  /// vendor libraries see results aligned as in a single-process stack, and pick the same
  /// kernels).
  static GatherLayout build(const Shape& input, const std::vector<Shape>& shapes,
                            const std::vector<int>& owner, int num_ranks, int rank,
                            std::int64_t align = 1);
};

/// Results in gather buffers start at multiples of 64 bytes: the alignment of a result
/// allocated on its own (a cache line; more than cuBLAS and cuFFT look at).
constexpr std::int64_t slot_bytes = 64;
template <class T>
constexpr std::int64_t slot_alignment() {
  return slot_bytes % static_cast<std::int64_t>(sizeof(T)) == 0
             ? slot_bytes / static_cast<std::int64_t>(sizeof(T))
             : 1;
}

/// The broadcast strategy overlaps its transfers with kernels (non-blocking broadcasts) only
/// when the receive buffer is larger than this; smaller gathers compute first, then broadcast
/// with persistent broadcasts started together (host memory, where MPI has them) or blocking
/// calls, which cost less to start and complete.
constexpr std::int64_t broadcast_blocking_bytes = 64 * 1024;

/// Computes this rank's k-th local result into `out` (shape from the layout); may throw.
template <class T>
using LocalCompute = std::function<void(std::size_t k, const Tensor<T>& out)>;

/// Buffers and collectives of one distributed object. Every call is collective.
template <class T>
class GatherEngine {
 public:
  explicit GatherEngine(Communicator comm) : m_comm(std::move(comm)) {}

  /// Concatenated strategy. Unless `deviate` (this rank's input does not match the layout),
  /// computes the local results in their places in the receive buffer; then one in-place
  /// MPI_Allgatherv. Returns true and the results (views of the receive buffer) when every rank
  /// was fine; false on every rank otherwise (`status` holds this rank's error, if it had one).
  bool concatenated(const GatherLayout& layout, bool deviate, const LocalCompute<T>& compute,
                    Status& status, TensorList<T>& out);

  /// Broadcast strategy: the owner of each operator computes it and starts its broadcast
  /// before computing the next, so transfers overlap kernels (up to broadcast_blocking_bytes:
  /// every rank computes first, then persistent or blocking broadcasts). Same contract as
  /// concatenated.
  bool broadcast(const GatherLayout& layout, bool deviate, const LocalCompute<T>& compute,
                 Status& status, TensorList<T>& out);

  /// Naive strategy: no layout needed. `shapes` are this rank's local output shapes (in
  /// `local` order). Decodes and validates every rank's records; throws the same kinv::Error
  /// on every rank if any rank failed or sent something inconsistent.
  TensorList<T> naive(const Shape& input, std::int64_t num_operators, const std::vector<int>& owner,
                      const std::vector<std::int64_t>& local, const std::vector<Shape>& shapes,
                      const LocalCompute<T>& compute, Status status);

  /// Sum over ranks of a per-rank contribution of shape `shape`. `contribute(out)` overwrites
  /// `out` with this rank's part and returns true, or returns false when the rank has nothing
  /// to add (zeros are sent then). Same contract as concatenated.
  bool allreduce(const Shape& shape, bool deviate,
                 const std::function<bool(const Tensor<T>& out)>& contribute, Status& status,
                 Tensor<T>& out);

  /// Allocates now (outside any collective) the buffers a gather of `layout` will use, or the
  /// result buffer of an allreduce of `n` elements; throws on failure (the caller
  /// agrees on it). Later allocations inside a collective, which happen only when the caller
  /// holds the results of the last two calls, cannot be agreed on: if one fails, the job is
  /// aborted (MPI_Abort) with a message, as the other ranks are already waiting.
  void reserve_gather(const GatherLayout& layout, GatherStrategy strategy);
  void reserve_reduce(std::int64_t n);

  const Communicator& communicator() const noexcept { return m_comm; }
  /// The execution space instance the local results are computed on: fenced before results
  /// go to MPI, and the instance of the engine's own kernels.
  void set_execution_space(const ExecutionSpace& space) { m_space = space; }
  const ExecutionSpace& execution_space() const noexcept { return m_space; }

 private:
  /// Whether broadcast() takes small_broadcast() for this layout.
  bool uses_small_broadcast(const GatherLayout& L) const;
  /// A new buffer of n elements (see reserve_gather() for what a failure does).
  Buffer<T> allocate(std::int64_t n, const char* label);
  Buffer<T>& pick(Buffer<T> (&pair)[2], std::int64_t n, const char* label);
  /// pick() for the receive buffers: which of m_recv holds n elements and is not held by the
  /// caller (beyond the engine's own result views).
  std::size_t pick_recv(std::int64_t n);
  /// `out` <- the results of layout L in m_recv[j]: copies of views built once per layout.
  void results(const GatherLayout& L, std::size_t j, TensorList<T>& out);
  /// broadcast() for gathers up to broadcast_blocking_bytes with persistent broadcasts.
  bool small_broadcast(const GatherLayout& L, bool deviate, const LocalCompute<T>& compute,
                       Status& status, TensorList<T>& out);
  /// Whether every rank's status word in `recv` (laid out by L) is 0; the same on every rank.
  bool all_fine(const GatherLayout& L, const Buffer<T>& recv);

  Communicator m_comm;
  ExecutionSpace m_space;
  Buffer<T> m_recv[2];       // gathered results; one may still be held by the caller
  TensorList<T> m_views[2];  // the results' views of m_recv[j] (layout m_views_of[j])
  std::uint64_t m_views_of[2] = {0, 0};
  Buffer<T> m_reduce[2];                    // reduction results, likewise
  Buffer<T> m_local;                        // naive: this rank's block, values in place
  std::vector<std::int64_t> m_naive_sizes;  // naive: every rank's slot (bytes, multiple of 8)
  // Positions of the ranks' status words in the receive buffer (for the current layout).
  Kokkos::View<std::int64_t*, MemorySpace> m_word_at;
  std::vector<std::int64_t> m_word_at_host;
  Requests m_requests;                // broadcast: reused between calls
  Buffer<T> m_small;                  // broadcast, small gathers: the persistent broadcasts' buffer
  PersistentRequests m_small_bcasts;  // its broadcasts, set up for layout m_small_of
  std::uint64_t m_small_of = 0;
  std::vector<std::int64_t> m_left;  // broadcast: per rank, operators not yet sent
  bool m_reserving = false;          // allocation failures throw (outside collectives)
};

extern template class GatherEngine<float>;
extern template class GatherEngine<double>;

}  // namespace comm
}  // namespace kinv
