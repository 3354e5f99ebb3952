// kinv::DistributedProcessing: applies a processor (a denoiser, a prior's step, any callable
// on a batch of windows) to a large signal cut into windows dealt round robin over the ranks
// of a DistributedContext (deepinv.distributed.DistributedProcessing).
//
// Each rank processes its windows; the processed windows are all-gathered and every rank
// blends all of them in window order with the same deterministic kernel, so the result is the
// same on every rank and for any number of ranks. Every call with gather = true is collective.
#pragma once

#include <kinv/distributed/context.hpp>
#include <kinv/distributed/tiling.hpp>

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace kinv {

/// The form every processor is normalised to: out <- processor(in), both of shape
/// (n B, C, window...) for a batch of n windows.
template <class T>
using Processor = std::function<void(const Tensor<T>& in, const Tensor<T>& out)>;

/// Options of a DistributedProcessing (deepinv's strategy, strategy_kwargs, max_batch_size).
template <class T>
struct ProcessingOptions {
  /// "overlap_tiling" (tiles with a halo of `tiling.overlap` on each side) or "basic" (the
  /// same with overlap 0: non-overlapping tiles when the stride is the patch size).
  std::string strategy = "overlap_tiling";
  TilingOptions tiling;
  /// When set, used instead of the named strategy (and `tiling` is ignored). It is prepare()d
  /// for each new input shape; one instance must not be shared by two DistributedProcessing.
  std::shared_ptr<SignalStrategy<T>> custom;
  /// Most windows per processor call; 0: all of this rank's windows in one call.
  std::int64_t max_batch_size = 0;
};

namespace impl {
template <class>
struct always_false_processor : std::false_type {};

/// Accepts `void(const Tensor<T>& in, const Tensor<T>& out)` and `Tensor<T>(const Tensor<T>&)`;
/// a returned tensor of the wrong shape is a ShapeError.
template <class T, class F>
Processor<T> normalize_processor(F f) {
  if constexpr (std::is_invocable_v<F&, const Tensor<T>&, const Tensor<T>&>) {
    return [f](const Tensor<T>& in, const Tensor<T>& out) mutable { f(in, out); };
  } else if constexpr (std::is_invocable_r_v<Tensor<T>, F&, const Tensor<T>&>) {
    return [f](const Tensor<T>& in, const Tensor<T>& out) mutable {
      const Tensor<T> r = f(in);
      if (r.shape() != out.shape())
        throw_shape_error("DistributedProcessing: the processor's output for a batch of shape " +
                              in.shape().to_string(),
                          out.shape(), r.shape());
      if (r.data() != out.data()) Kokkos::deep_copy(out.view(), r.view());
    };
  } else {
    static_assert(always_false_processor<F>::value,
                  "a kinv processor is void(const Tensor<T>& in, const Tensor<T>& out) or "
                  "Tensor<T>(const Tensor<T>& in)");
    return {};
  }
}
}  // namespace impl

template <class T>
class DistributedProcessing {
 public:
  using value_type = T;

  /// Validates the options on every rank (collective): the same ValueError everywhere.
  template <class F>
  DistributedProcessing(DistributedContext& ctx, F processor, ProcessingOptions<T> options = {})
      : DistributedProcessing(ctx, impl::normalize_processor<T>(std::move(processor)),
                              std::move(options), 0) {}
  ~DistributedProcessing();
  DistributedProcessing(const DistributedProcessing&) = delete;
  DistributedProcessing& operator=(const DistributedProcessing&) = delete;

  /// The processed signal (x's shape). With `gather` (collective) every rank gets the whole
  /// blended result; without, this rank's share only (no communication): its windows times
  /// their normalised weights, zeros elsewhere, so that the sum over ranks is the gathered
  /// result up to rounding. An error on any rank (bad shape, a processor that throws or
  /// returns the wrong shape) is thrown on every rank: the same kinv::ValueError or
  /// kinv::ShapeError naming the first failing rank, or a kinv::RemoteError for other kinds.
  Tensor<T> operator()(const Tensor<T>& x, bool gather = true);
  /// Same, into `out` (x's shape): no allocation once the shapes are set up.
  void operator()(const Tensor<T>& x, const Tensor<T>& out, bool gather = true);

  /// The strategy (prepared for the last input shape).
  SignalStrategy<T>& strategy() const noexcept { return *m_strategy; }
  /// Number of windows for the last input shape (0 before the first call).
  std::int64_t num_patches() const noexcept { return m_prepared ? m_num : 0; }
  /// This rank's windows for the last input shape, increasing (ctx.local_indices).
  const std::vector<std::int64_t>& local_indices() const noexcept { return m_local; }
  /// Padding the tiling applied for the last input shape (Constant when reflect padding was
  /// asked for but an overlap is not smaller than its extent). A custom strategy that is not
  /// a TilingStrategy reports TilingOptions' padding.
  TilePadding padding_used() const;
  const ProcessingOptions<T>& options() const noexcept { return m_options; }

 private:
  DistributedProcessing(DistributedContext& ctx, Processor<T> processor,
                        ProcessingOptions<T> options, int);
  void prepare(const Shape& signal);
  void compute_local(const Tensor<T>& x);
  void check_alive() const;

  comm::Communicator m_comm;
  Processor<T> m_processor;
  ProcessingOptions<T> m_options;
  std::shared_ptr<SignalStrategy<T>> m_strategy;

  // Local layout for the prepared shape.
  bool m_prepared = false;
  Shape m_shape;
  std::int64_t m_num = 0;
  Shape m_window;
  std::vector<std::int64_t> m_local;
  std::vector<std::int64_t> m_counts, m_displs;          // elements per rank in the gathered buffer
  Kokkos::View<std::int64_t*, MemorySpace> m_local_dev;  // this rank's tiles
  Kokkos::View<std::int64_t*, MemorySpace> m_slots_all;  // tile -> slot in the gathered
  Kokkos::View<std::int64_t*, MemorySpace> m_slots_partial;  // tile -> local slot, or -1

  // Collective agreement on the input shape.
  bool m_agreed = false;
  Shape m_agreed_shape;

  comm::Buffer<T> m_in;    // extracted windows of one batch
  comm::Buffer<T> m_send;  // this rank's processed windows
  comm::Buffer<T> m_recv;  // everyone's processed windows
};

extern template class DistributedProcessing<float>;
extern template class DistributedProcessing<double>;

}  // namespace kinv
