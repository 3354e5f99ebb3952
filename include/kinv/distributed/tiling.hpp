// Signal strategies for DistributedProcessing: how a large signal is cut into equally shaped
// windows (so that they batch), and how processed windows are blended back into one signal
// (deepinv.distributed.strategies). TilingStrategy is deepinv's tiling_splitting_strategy.
#pragma once

#include <kinv/core/tensor.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace kinv {

/// How a tiled signal is extended beyond its borders (deepinv's pad_mode).
enum class TilePadding {
  Reflect,  ///< mirror without repeating the edge (torch's "reflect"); needs overlap < extent
  Constant  ///< zeros
};
/// "reflect" | "constant"; anything else is a ValueError listing them.
TilePadding parse_tile_padding(const std::string& name);
std::string to_string(TilePadding p);
std::ostream& operator<<(std::ostream& os, TilePadding p);

/// How processed windows are combined where they overlap.
enum class Blend {
  Smooth,  ///< weighted average with raised-cosine ramps over each window's halo band
  Crop     ///< each output pixel from exactly one window (deepinv's crop and trim rule)
};
/// "smooth" | "crop".
Blend parse_blend(const std::string& name);
std::string to_string(Blend b);
std::ostream& operator<<(std::ostream& os, Blend b);

/// Options of the tiling strategies (deepinv's strategy_kwargs). A vector of one value applies
/// to every tiled dimension, like deepinv's int-or-tuple arguments.
struct TilingOptions {
  std::vector<std::int64_t> patch_size{256};  ///< inner size of each tile
  std::vector<std::int64_t> overlap{32};      ///< halo on each side of a tile
  std::vector<std::int64_t> stride;           ///< distance between tile starts; empty = patch_size
  /// Dimensions to tile; empty = every dimension after (B, C): the last 2 of a (B, C, H, W)
  /// signal, the last 3 of (B, C, D, H, W). Negative values count from the end.
  std::vector<int> tiling_dims;
  TilePadding padding = TilePadding::Reflect;
  Blend blend = Blend::Smooth;
};

/// The tile layout along one tiled dimension (deepinv's per-dimension starts and trims).
struct TileAxis {
  int dim = 0;                       ///< signal dimension (non-negative)
  std::int64_t extent = 0;           ///< signal extent D
  std::int64_t patch = 0;            ///< p
  std::int64_t overlap = 0;          ///< halo rf
  std::int64_t stride = 0;           ///< s
  std::int64_t window = 0;           ///< p + 2 rf
  std::vector<std::int64_t> starts;  ///< tile starts in the padded signal (extent D + 2 rf)
  std::vector<std::int64_t> trims;   ///< leading part of each tile's patch that Crop drops

  std::int64_t num_tiles() const noexcept { return static_cast<std::int64_t>(starts.size()); }
  /// Signal coordinate of window position 0 of tile j (start - overlap; may be negative).
  std::int64_t origin(std::int64_t j) const { return starts.at(j) - overlap; }
  /// Crop's window range of tile j: [overlap + trim, overlap + patch) (deepinv's crop slice).
  std::int64_t crop_begin(std::int64_t j) const { return overlap + trims.at(j); }
  std::int64_t crop_end(std::int64_t) const { return overlap + patch; }
  /// Crop's signal range of tile j: [start + trim, start + patch) (deepinv's target slice).
  std::int64_t target_begin(std::int64_t j) const { return starts.at(j) + trims.at(j); }
  std::int64_t target_end(std::int64_t j) const { return starts.at(j) + patch; }
};

/// The tiling of one signal shape: pure host-side geometry, no Kokkos.
struct TilingGeometry {
  Shape signal;
  std::vector<TileAxis> axes;  ///< in tiling_dims order (the first varies slowest over tiles)
  std::int64_t num_tiles = 0;
  Shape window;  ///< the signal shape with each tiled extent set to its window
  TilePadding padding_used = TilePadding::Reflect;

  /// Validates `options` against `signal` and lays out the tiles (ValueError when impossible).
  static TilingGeometry compute(const Shape& signal, const TilingOptions& options);
  /// Per-axis tile coordinates of tile k (k = sum_i j_i * prod_{i' > i} num_tiles_{i'}).
  std::vector<std::int64_t> tile_coords(std::int64_t k) const;
};

/// Checks the shape-independent options (sizes > 0, overlap >= 0, stride <= patch, lengths of
/// the vectors); throws ValueError.
void validate_tiling_options(const TilingOptions& options);

/// How a signal is split into windows and put back together. Every window of one strategy has
/// the same shape (the signal's (B, C, ...) with its own extents), so windows batch along
/// dimension 0. Implementations must be deterministic: blend() may not depend on which rank
/// processed which window.
template <class T>
class SignalStrategy {
 public:
  /// Device list of tile indices or window slots.
  using IndexView = Kokkos::View<const std::int64_t*, MemorySpace>;

  virtual ~SignalStrategy() = default;
  virtual std::string name() const = 0;

  /// Lays the windows out for a signal of shape `signal`; called whenever the input shape
  /// changes, before any other method. Throws ValueError / ShapeError for shapes it cannot
  /// split.
  virtual void prepare(const Shape& signal) = 0;
  /// Shape last given to prepare().
  virtual Shape signal_shape() const = 0;
  virtual std::int64_t num_patches() const = 0;
  /// Shape of every window (of patch k for every k).
  virtual Shape window_shape() const = 0;

  /// Fills `window` (window_shape()) with window k of x, padded as the strategy says.
  virtual void extract(const Tensor<T>& x, std::int64_t k, const Tensor<T>& window) const = 0;
  /// Fills consecutive windows of `windows` (shape (n B, C, ...) for n = tiles.extent(0)) with
  /// the windows of `tiles`. The default calls extract() once per tile.
  virtual void extract_batch(const Tensor<T>& x, const IndexView& tiles,
                             const Tensor<T>& windows) const;

  /// The weight window k gives each of its positions (shape window_shape()); 0 means the
  /// position is not used. Blending is out = sum_k w_k p_k / sum_k w_k over the windows k
  /// covering each output pixel.
  virtual void weights(std::int64_t k, const Tensor<T>& w) const = 0;

  /// out (the signal's shape) <- the blend of every processed window. Window k is the
  /// slots(k)-th window of `windows` (num_patches() entries). Deterministic: a running
  /// weighted average over the covering windows in index order.
  virtual void blend(const Tensor<T>& windows, const IndexView& slots,
                     const Tensor<T>& out) const = 0;
  /// out <- sum over the windows k with slots(k) >= 0 of (w_k / sum_all w) p_k, zeros where
  /// none covers: summed over a partition of the windows, this is blend() up to rounding.
  virtual void blend_partial(const Tensor<T>& windows, const IndexView& slots,
                             const Tensor<T>& out) const = 0;
};

/// deepinv's TilingStrategy: global padding by the overlap, tile starts every stride, the last
/// tile forced to end at the padded end. Blends with Blend::Smooth or Blend::Crop.
template <class T>
class TilingStrategy : public SignalStrategy<T> {
 public:
  using typename SignalStrategy<T>::IndexView;

  /// Validates the shape-independent options (ValueError).
  explicit TilingStrategy(TilingOptions options = {}, std::string name = "overlap_tiling");

  std::string name() const override { return m_name; }
  void prepare(const Shape& signal) override;
  Shape signal_shape() const override { return m_geometry.signal; }
  std::int64_t num_patches() const override { return m_geometry.num_tiles; }
  Shape window_shape() const override { return m_geometry.window; }
  void extract(const Tensor<T>& x, std::int64_t k, const Tensor<T>& window) const override;
  void extract_batch(const Tensor<T>& x, const IndexView& tiles,
                     const Tensor<T>& windows) const override;
  void weights(std::int64_t k, const Tensor<T>& w) const override;
  void blend(const Tensor<T>& windows, const IndexView& slots, const Tensor<T>& out) const override;
  void blend_partial(const Tensor<T>& windows, const IndexView& slots,
                     const Tensor<T>& out) const override;

  const TilingOptions& options() const noexcept { return m_options; }
  /// The layout for the last prepared shape.
  const TilingGeometry& geometry() const noexcept { return m_geometry; }
  /// Padding actually applied: Constant when Reflect was asked for but some overlap is not
  /// smaller than its extent (torch's reflect cannot pad that far; deepinv falls back too).
  TilePadding padding_used() const noexcept { return m_geometry.padding_used; }

 private:
  void check_prepared(const char* method) const;
  void check_signal(const char* method, const Tensor<T>& x) const;

  TilingOptions m_options;
  std::string m_name;
  TilingGeometry m_geometry;
  bool m_prepared = false;
  // Device copies of the geometry, concatenated over axes.
  Kokkos::View<std::int64_t*, MemorySpace> m_origin;  // per axis, per tile
  Kokkos::View<std::int64_t*, MemorySpace> m_cover;   // per axis, per signal coordinate: lo, hi
  Kokkos::View<T*, MemorySpace> m_profile;            // per axis, per tile, per window position
  Kokkos::View<std::int64_t*, MemorySpace> m_one;     // a single tile index, for extract()
};

extern template class SignalStrategy<float>;
extern template class SignalStrategy<double>;
extern template class TilingStrategy<float>;
extern template class TilingStrategy<double>;

}  // namespace kinv
