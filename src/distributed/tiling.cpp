#include <kinv/core/profiling.hpp>
#include <kinv/distributed/tiling.hpp>

#include <algorithm>
#include <cmath>
#include <ostream>

namespace kinv {

// ---------------------------------------------------------------------------------------------
// Names

TilePadding parse_tile_padding(const std::string& name) {
  if (name == "reflect") return TilePadding::Reflect;
  if (name == "constant") return TilePadding::Constant;
  throw ValueError("unknown tile padding '" + name + "': valid names are 'reflect', 'constant'");
}

std::string to_string(TilePadding p) {
  switch (p) {
    case TilePadding::Reflect:
      return "reflect";
    case TilePadding::Constant:
      return "constant";
  }
  throw ValueError("invalid TilePadding value " + std::to_string(static_cast<int>(p)));
}

std::ostream& operator<<(std::ostream& os, TilePadding p) { return os << to_string(p); }

Blend parse_blend(const std::string& name) {
  if (name == "smooth") return Blend::Smooth;
  if (name == "crop") return Blend::Crop;
  throw ValueError("unknown blend '" + name + "': valid names are 'smooth', 'crop'");
}

std::string to_string(Blend b) {
  switch (b) {
    case Blend::Smooth:
      return "smooth";
    case Blend::Crop:
      return "crop";
  }
  throw ValueError("invalid Blend value " + std::to_string(static_cast<int>(b)));
}

std::ostream& operator<<(std::ostream& os, Blend b) { return os << to_string(b); }

// ---------------------------------------------------------------------------------------------
// Geometry

namespace {

std::string list(const std::vector<std::int64_t>& v) {
  std::string s = "{";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "}";
}

// The value of a broadcastable option for tiled axis i.
std::int64_t at(const std::vector<std::int64_t>& v, std::size_t i) {
  return v.size() == 1 ? v[0] : v.at(i);
}

void check_length(const char* name, const std::vector<std::int64_t>& v, std::size_t n,
                  const char* why) {
  if (v.size() != 1 && v.size() != n)
    throw ValueError(std::string("tiling: ") + name + " has " + std::to_string(v.size()) +
                     " values " + list(v) + ", expected 1 or " + std::to_string(n) + " (" + why +
                     ")");
}

}  // namespace

void validate_tiling_options(const TilingOptions& o) {
  (void)to_string(o.padding);
  (void)to_string(o.blend);
  if (o.patch_size.empty()) throw ValueError("tiling: patch_size is empty");
  if (o.overlap.empty()) throw ValueError("tiling: overlap is empty");
  for (auto p : o.patch_size)
    if (p <= 0) throw ValueError("tiling: patch_size must be > 0, got " + list(o.patch_size));
  for (auto r : o.overlap)
    if (r < 0) throw ValueError("tiling: overlap must be >= 0, got " + list(o.overlap));
  for (auto s : o.stride)
    if (s <= 0) throw ValueError("tiling: stride must be > 0, got " + list(o.stride));
  // Lengths: one per tiled dimension, or one value for all.
  std::size_t n = 1;
  const char* why = "the longest option";
  if (!o.tiling_dims.empty()) {
    n = o.tiling_dims.size();
    why = "one per entry of tiling_dims";
  } else {
    for (const auto* v : {&o.patch_size, &o.overlap, &o.stride}) n = std::max(n, v->size());
  }
  check_length("patch_size", o.patch_size, n, why);
  check_length("overlap", o.overlap, n, why);
  if (!o.stride.empty()) {
    check_length("stride", o.stride, n, why);
    for (std::size_t i = 0; i < n; ++i)
      if (at(o.stride, i) > at(o.patch_size, i))
        throw ValueError("tiling: stride " + std::to_string(at(o.stride, i)) +
                         " is larger than patch_size " + std::to_string(at(o.patch_size, i)) +
                         " (tiled dimension " + std::to_string(i) +
                         "): the tiles would leave gaps");
  }
}

TilingGeometry TilingGeometry::compute(const Shape& signal, const TilingOptions& o) {
  validate_tiling_options(o);
  const int R = signal.rank();
  if (R < 3)
    throw ShapeError("tiling: the signal must be (B, C, ...) with at least one dimension to tile",
                     "a shape of rank >= 3", signal.to_string());
  std::vector<int> dims;
  if (o.tiling_dims.empty()) {
    for (int d = 2; d < R; ++d) dims.push_back(d);
  } else {
    for (int d : o.tiling_dims) {
      const int nd = d < 0 ? d + R : d;
      if (nd < 0 || nd >= R)
        throw ValueError("tiling: tiling_dims entry " + std::to_string(d) +
                         " is out of range for a signal of shape " + signal.to_string());
      if (nd < 2)
        throw ValueError("tiling: tiling_dims entry " + std::to_string(d) +
                         " is the batch or channel dimension (0, 1) of " + signal.to_string() +
                         "; only dimensions 2.." + std::to_string(R - 1) + " can be tiled");
      if (std::find(dims.begin(), dims.end(), nd) != dims.end())
        throw ValueError("tiling: tiling_dims names dimension " + std::to_string(nd) + " twice");
      dims.push_back(nd);
    }
  }
  const std::size_t n = dims.size();
  const char* why = "one per tiled dimension";
  check_length("patch_size", o.patch_size, n, why);
  check_length("overlap", o.overlap, n, why);
  if (!o.stride.empty()) check_length("stride", o.stride, n, why);

  TilingGeometry g;
  g.signal = signal;
  g.padding_used = o.padding;
  g.num_tiles = 1;
  std::vector<std::int64_t> window = signal.extents();
  for (std::size_t i = 0; i < n; ++i) {
    TileAxis a;
    a.dim = dims[i];
    a.extent = signal[a.dim];
    a.patch = at(o.patch_size, i);
    a.overlap = at(o.overlap, i);
    a.stride = o.stride.empty() ? a.patch : at(o.stride, i);
    a.window = a.patch + 2 * a.overlap;
    if (a.extent == 0)
      throw ValueError("tiling: dimension " + std::to_string(a.dim) + " of " + signal.to_string() +
                       " has extent 0: there are no tiles");
    if (a.patch > a.extent)
      throw ValueError("tiling: patch_size " + std::to_string(a.patch) +
                       " is larger than the extent " + std::to_string(a.extent) + " of dimension " +
                       std::to_string(a.dim) + " of " + signal.to_string());
    if (a.overlap >= a.extent) g.padding_used = TilePadding::Constant;
    // deepinv: starts every stride while the tile ends before the padded end; the last one
    // is moved to end exactly there.
    const std::int64_t padded = a.extent + 2 * a.overlap;
    a.starts = {0};
    while (a.starts.back() + a.window < padded) a.starts.push_back(a.starts.back() + a.stride);
    a.starts.back() = padded - a.window;
    std::sort(a.starts.begin(), a.starts.end());
    a.starts.erase(std::unique(a.starts.begin(), a.starts.end()), a.starts.end());
    for (std::size_t j = 0; j < a.starts.size(); ++j)
      a.trims.push_back(
          j == 0 ? 0 : std::max<std::int64_t>(0, a.starts[j - 1] + a.patch - a.starts[j]));
    window[a.dim] = a.window;
    g.num_tiles *= a.num_tiles();
    g.axes.push_back(std::move(a));
  }
  g.window = Shape(window);
  return g;
}

std::vector<std::int64_t> TilingGeometry::tile_coords(std::int64_t k) const {
  if (k < 0 || k >= num_tiles)
    throw ValueError("tile index " + std::to_string(k) + " out of range [0, " +
                     std::to_string(num_tiles) + ")");
  std::vector<std::int64_t> j(axes.size());
  for (std::size_t i = axes.size(); i-- > 0;) {
    j[i] = k % axes[i].num_tiles();
    k /= axes[i].num_tiles();
  }
  return j;
}

// ---------------------------------------------------------------------------------------------
// Kernels

namespace {

using Arr = Kokkos::Array<std::int64_t, Shape::max_rank>;
using IndexDeviceView = Kokkos::View<const std::int64_t*, MemorySpace>;

// Everything the kernels need to know about a tiling, by value.
struct Grid {
  int rank = 0;
  int naxes = 0;
  Arr sig{}, win{}, wstride{};  // signal and window extents, window strides
  Arr axis_of{};                // per signal dimension: its axis, or -1
  Arr axis_dim{};               // per axis: its signal dimension
  Arr ntiles{}, gstride{};      // per axis: tiles, and tile-index stride
  Arr origin_off{}, cover_off{}, profile_off{};
  std::int64_t win_numel = 0;
  bool constant = false;
};

Grid make_grid(const TilingGeometry& g) {
  Grid r;
  r.rank = g.signal.rank();
  r.naxes = static_cast<int>(g.axes.size());
  for (int d = 0; d < r.rank; ++d) {
    r.sig[d] = g.signal[d];
    r.win[d] = g.window[d];
    r.axis_of[d] = -1;
  }
  std::int64_t s = 1;
  for (int d = r.rank - 1; d >= 0; --d) {
    r.wstride[d] = s;
    s *= r.win[d];
  }
  r.win_numel = s;
  std::int64_t origin = 0, cover = 0, profile = 0, gs = 1;
  for (int a = r.naxes - 1; a >= 0; --a) {
    r.gstride[a] = gs;
    gs *= g.axes[a].num_tiles();
  }
  for (int a = 0; a < r.naxes; ++a) {
    const auto& ax = g.axes[a];
    r.axis_dim[a] = ax.dim;
    r.axis_of[ax.dim] = a;
    r.ntiles[a] = ax.num_tiles();
    r.origin_off[a] = origin;
    r.cover_off[a] = cover;
    r.profile_off[a] = profile;
    origin += ax.num_tiles();
    cover += 2 * ax.extent;
    profile += ax.num_tiles() * ax.window;
  }
  r.constant = g.padding_used == TilePadding::Constant;
  return r;
}

template <class T>
struct ExtractWindows {
  Grid g;
  Kokkos::View<const T*, MemorySpace> x;
  Kokkos::View<T*, MemorySpace> windows;
  IndexDeviceView tiles;
  Kokkos::View<const std::int64_t*, MemorySpace> origin;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t e) const {
    const std::int64_t slot = e / g.win_numel;
    std::int64_t r = e - slot * g.win_numel;
    const std::int64_t k = tiles(slot);
    std::int64_t src = 0, stride = 1;
    bool zero = false;
    for (int d = g.rank - 1; d >= 0; --d) {
      const std::int64_t q = r % g.win[d];
      r /= g.win[d];
      std::int64_t i = q;
      const auto a = g.axis_of[d];
      if (a >= 0) {
        const std::int64_t j = (k / g.gstride[a]) % g.ntiles[a];
        i = origin(g.origin_off[a] + j) + q;
        const std::int64_t D = g.sig[d];
        if (i < 0 || i >= D) {
          if (g.constant) {
            zero = true;
          } else {  // overlap < D: one reflection suffices
            if (i < 0) i = -i;
            if (i >= D) i = 2 * (D - 1) - i;
          }
        }
      }
      src += i * stride;
      stride *= g.sig[d];
    }
    windows(e) = zero ? T(0) : x(zero ? 0 : src);
  }
};

// Runs over the windows covering signal element e in tile-index order (the first axis varies
// slowest), calling f(k, weight, offset in the window) for those with a positive weight.
// Returns false when no window covers e.
template <class T, class F>
KOKKOS_INLINE_FUNCTION bool for_covering(
    const Grid& g, const Kokkos::View<const std::int64_t*, MemorySpace>& origin,
    const Kokkos::View<const std::int64_t*, MemorySpace>& cover,
    const Kokkos::View<const T*, MemorySpace>& profile, std::int64_t e, F&& f) {
  std::int64_t idx[Shape::max_rank];
  for (int d = g.rank - 1; d >= 0; --d) {
    idx[d] = e % g.sig[d];
    e /= g.sig[d];
  }
  std::int64_t lo[Shape::max_rank], hi[Shape::max_rank], j[Shape::max_rank];
  std::int64_t base = 0;
  for (int d = 0; d < g.rank; ++d)
    if (g.axis_of[d] < 0) base += idx[d] * g.wstride[d];
  for (int a = 0; a < g.naxes; ++a) {
    const std::int64_t at = g.cover_off[a] + 2 * idx[g.axis_dim[a]];
    lo[a] = cover(at);
    hi[a] = cover(at + 1);
    if (lo[a] >= hi[a]) return false;
    j[a] = lo[a];
  }
  while (true) {
    std::int64_t k = 0, off = base;
    T w = T(1);
    for (int a = 0; a < g.naxes; ++a) {
      const int d = static_cast<int>(g.axis_dim[a]);
      const std::int64_t q = idx[d] - origin(g.origin_off[a] + j[a]);
      k += j[a] * g.gstride[a];
      w *= profile(g.profile_off[a] + j[a] * g.win[d] + q);
      off += q * g.wstride[d];
    }
    if (w > T(0)) f(k, w, off);
    int a = g.naxes - 1;
    for (; a >= 0; --a) {
      if (++j[a] < hi[a]) break;
      j[a] = lo[a];
    }
    if (a < 0) break;
  }
  return true;
}

template <class T>
struct BlendWindows {
  Grid g;
  Kokkos::View<const T*, MemorySpace> windows;
  IndexDeviceView slots;
  Kokkos::View<const std::int64_t*, MemorySpace> origin, cover;
  Kokkos::View<const T*, MemorySpace> profile;
  Kokkos::View<T*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t e) const {
    // Running weighted average: where every covering window holds the same value, the first
    // sets it exactly and the others add exactly zero.
    T acc = T(0), W = T(0);
    const auto& win = windows;
    const auto& sl = slots;
    const std::int64_t n = g.win_numel;
    for_covering<T>(g, origin, cover, profile, e, [&](std::int64_t k, T w, std::int64_t off) {
      const T p = win(sl(k) * n + off);
      W += w;
      acc += (w / W) * (p - acc);
    });
    out(e) = acc;
  }
};

template <class T>
struct BlendPartial {
  Grid g;
  Kokkos::View<const T*, MemorySpace> windows;
  IndexDeviceView slots;
  Kokkos::View<const std::int64_t*, MemorySpace> origin, cover;
  Kokkos::View<const T*, MemorySpace> profile;
  Kokkos::View<T*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t e) const {
    T W = T(0), acc = T(0);
    for_covering<T>(g, origin, cover, profile, e, [&](std::int64_t, T w, std::int64_t) { W += w; });
    const auto& win = windows;
    const auto& sl = slots;
    const std::int64_t n = g.win_numel;
    for_covering<T>(g, origin, cover, profile, e, [&](std::int64_t k, T w, std::int64_t off) {
      const std::int64_t s = sl(k);
      if (s >= 0) acc += (w / W) * win(s * n + off);
    });
    out(e) = acc;
  }
};

template <class T>
struct WindowWeights {
  Grid g;
  std::int64_t k;
  Kokkos::View<const T*, MemorySpace> profile;
  Kokkos::View<T*, MemorySpace> w;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t e) const {
    std::int64_t r = e;
    T v = T(1);
    for (int d = g.rank - 1; d >= 0; --d) {
      const std::int64_t q = r % g.win[d];
      r /= g.win[d];
      const auto a = g.axis_of[d];
      if (a >= 0) {
        const std::int64_t j = (k / g.gstride[a]) % g.ntiles[a];
        v *= profile(g.profile_off[a] + j * g.win[d] + q);
      }
    }
    w(e) = v;
  }
};

// Strictly positive raised-cosine ramp over a band of `band` positions: position q in [0, band).
double ramp(std::int64_t q, std::int64_t band) {
  const double pi = 3.141592653589793238462643383279502884;
  return 0.5 - 0.5 * std::cos(pi * (static_cast<double>(q) + 0.5) / static_cast<double>(band));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SignalStrategy

template <class T>
void SignalStrategy<T>::extract_batch(const Tensor<T>& x, const IndexView& tiles,
                                      const Tensor<T>& windows) const {
  const Shape ws = window_shape();
  const auto n = static_cast<std::int64_t>(tiles.extent(0));
  if (windows.shape() != ws.with(0, ws[0] * n))
    throw_shape_error(name() + "::extract_batch: windows", ws.with(0, ws[0] * n), windows.shape());
  Kokkos::View<std::int64_t*, Kokkos::HostSpace> host("kinv::SignalStrategy::tiles",
                                                      static_cast<std::size_t>(n));
  Kokkos::deep_copy(host, tiles);
  for (std::int64_t s = 0; s < n; ++s) {
    const auto v =
        Kokkos::subview(windows.view(), std::make_pair(s * ws.size(), (s + 1) * ws.size()));
    extract(x, host(s), Tensor<T>(v, ws));
  }
}

// ---------------------------------------------------------------------------------------------
// TilingStrategy

template <class T>
TilingStrategy<T>::TilingStrategy(TilingOptions options, std::string name)
    : m_options(std::move(options)), m_name(std::move(name)) {
  validate_tiling_options(m_options);
}

template <class T>
void TilingStrategy<T>::check_prepared(const char* method) const {
  if (!m_prepared) throw StateError("TilingStrategy::" + std::string(method) + " before prepare()");
}

template <class T>
void TilingStrategy<T>::check_signal(const char* method, const Tensor<T>& x) const {
  check_prepared(method);
  if (x.shape() != m_geometry.signal)
    throw_shape_error("TilingStrategy::" + std::string(method) + ": signal", m_geometry.signal,
                      x.shape());
}

template <class T>
void TilingStrategy<T>::prepare(const Shape& signal) {
  m_prepared = false;
  TilingGeometry g = TilingGeometry::compute(signal, m_options);
  std::int64_t n_origin = 0, n_cover = 0, n_profile = 0;
  for (const auto& a : g.axes) {
    n_origin += a.num_tiles();
    n_cover += 2 * a.extent;
    n_profile += a.num_tiles() * a.window;
  }
  std::vector<std::int64_t> origin, cover;
  std::vector<T> profile;
  origin.reserve(static_cast<std::size_t>(n_origin));
  cover.reserve(static_cast<std::size_t>(n_cover));
  profile.reserve(static_cast<std::size_t>(n_profile));
  for (const auto& a : g.axes) {
    const std::int64_t nt = a.num_tiles();
    const std::size_t p0 = profile.size();
    for (std::int64_t j = 0; j < nt; ++j) {
      origin.push_back(a.origin(j));
      for (std::int64_t q = 0; q < a.window; ++q) {
        double w;
        if (m_options.blend == Blend::Crop) {
          w = (q >= a.crop_begin(j) && q < a.crop_end(j)) ? 1.0 : 0.0;
        } else {
          const std::int64_t band = 2 * a.overlap;
          w = 1.0;
          if (q < band) w *= ramp(q, band);
          if (a.window - 1 - q < band) w *= ramp(a.window - 1 - q, band);
        }
        profile.push_back(static_cast<T>(w));
      }
    }
    // Covering tiles of each coordinate: a contiguous range, since starts increase and the
    // positive part of each profile is one interval.
    std::vector<std::int64_t> lo(static_cast<std::size_t>(a.extent), nt),
        hi(static_cast<std::size_t>(a.extent), 0);
    for (std::int64_t j = 0; j < nt; ++j)
      for (std::int64_t q = 0; q < a.window; ++q) {
        const std::int64_t i = a.origin(j) + q;
        if (i < 0 || i >= a.extent || !(profile[p0 + j * a.window + q] > T(0))) continue;
        lo[i] = std::min(lo[i], j);
        hi[i] = std::max(hi[i], j + 1);
      }
    for (std::int64_t i = 0; i < a.extent; ++i) {
      if (lo[i] >= hi[i])
        throw Error("TilingStrategy: no tile covers position " + std::to_string(i) +
                    " of dimension " + std::to_string(a.dim) + " (internal error)");
      cover.push_back(lo[i]);
      cover.push_back(hi[i]);
    }
  }
  auto upload_i = [](Kokkos::View<std::int64_t*, MemorySpace>& v,
                     const std::vector<std::int64_t>& h, const char* label) {
    if (v.extent(0) != h.size())
      v = Kokkos::View<std::int64_t*, MemorySpace>(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), h.size());
    Kokkos::View<const std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>
        hv(h.data(), h.size());
    Kokkos::deep_copy(v, hv);
  };
  upload_i(m_origin, origin, "kinv::TilingStrategy::origin");
  upload_i(m_cover, cover, "kinv::TilingStrategy::cover");
  if (m_profile.extent(0) != profile.size())
    m_profile = Kokkos::View<T*, MemorySpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::TilingStrategy::profile"),
        profile.size());
  Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> hp(
      profile.data(), profile.size());
  Kokkos::deep_copy(m_profile, hp);
  if (m_one.extent(0) != 1)
    m_one = Kokkos::View<std::int64_t*, MemorySpace>("kinv::TilingStrategy::one", 1);
  m_geometry = std::move(g);
  m_prepared = true;
}

template <class T>
void TilingStrategy<T>::extract(const Tensor<T>& x, std::int64_t k, const Tensor<T>& window) const {
  const ProfilingRegion region("kinv::TilingStrategy::extract");
  check_prepared("extract");
  if (k < 0 || k >= m_geometry.num_tiles)
    throw ValueError("TilingStrategy::extract: tile " + std::to_string(k) + " out of range [0, " +
                     std::to_string(m_geometry.num_tiles) + ")");
  Kokkos::deep_copy(m_one, k);
  extract_batch(x, m_one, window);
}

template <class T>
void TilingStrategy<T>::extract_batch(const Tensor<T>& x, const IndexView& tiles,
                                      const Tensor<T>& windows) const {
  const ProfilingRegion region("kinv::TilingStrategy::extract");
  check_signal("extract_batch", x);
  const Shape ws = m_geometry.window;
  const auto n = static_cast<std::int64_t>(tiles.extent(0));
  if (windows.shape() != ws.with(0, ws[0] * n))
    throw_shape_error("TilingStrategy::extract_batch: windows", ws.with(0, ws[0] * n),
                      windows.shape());
  Kokkos::parallel_for(
      "kinv::TilingStrategy::extract", impl::range(ExecutionSpace(), windows.size()),
      ExtractWindows<T>{make_grid(m_geometry), x.view(), windows.view(), tiles, m_origin});
}

template <class T>
void TilingStrategy<T>::weights(std::int64_t k, const Tensor<T>& w) const {
  check_prepared("weights");
  if (k < 0 || k >= m_geometry.num_tiles)
    throw ValueError("TilingStrategy::weights: tile " + std::to_string(k) + " out of range [0, " +
                     std::to_string(m_geometry.num_tiles) + ")");
  if (w.shape() != m_geometry.window)
    throw_shape_error("TilingStrategy::weights: output", m_geometry.window, w.shape());
  Kokkos::parallel_for("kinv::TilingStrategy::weights", impl::range(ExecutionSpace(), w.size()),
                       WindowWeights<T>{make_grid(m_geometry), k, m_profile, w.view()});
}

template <class T>
void TilingStrategy<T>::blend(const Tensor<T>& windows, const IndexView& slots,
                              const Tensor<T>& out) const {
  const ProfilingRegion region("kinv::TilingStrategy::blend");
  check_signal("blend", out);
  if (static_cast<std::int64_t>(slots.extent(0)) != m_geometry.num_tiles)
    throw ShapeError("TilingStrategy::blend: slots", std::to_string(m_geometry.num_tiles),
                     std::to_string(slots.extent(0)));
  Kokkos::parallel_for("kinv::TilingStrategy::blend", impl::range(ExecutionSpace(), out.size()),
                       BlendWindows<T>{make_grid(m_geometry), windows.view(), slots, m_origin,
                                       m_cover, m_profile, out.view()});
}

template <class T>
void TilingStrategy<T>::blend_partial(const Tensor<T>& windows, const IndexView& slots,
                                      const Tensor<T>& out) const {
  check_signal("blend_partial", out);
  if (static_cast<std::int64_t>(slots.extent(0)) != m_geometry.num_tiles)
    throw ShapeError("TilingStrategy::blend_partial: slots", std::to_string(m_geometry.num_tiles),
                     std::to_string(slots.extent(0)));
  Kokkos::parallel_for("kinv::TilingStrategy::blend_partial",
                       impl::range(ExecutionSpace(), out.size()),
                       BlendPartial<T>{make_grid(m_geometry), windows.view(), slots, m_origin,
                                       m_cover, m_profile, out.view()});
}

template class SignalStrategy<float>;
template class SignalStrategy<double>;
template class TilingStrategy<float>;
template class TilingStrategy<double>;

}  // namespace kinv
