#include <kinv/config.hpp>
#include <kinv/operators/blur.hpp>
#include <kinv/operators/impl/blur_functors.hpp>
#if KINV_HAVE_FFT
#include <kinv/operators/impl/blur_fft_engine.hpp>
#endif

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

namespace kinv {

// ---------------------------------------------------------------------------------------------
// Padding names

Padding parse_padding(const std::string& name) {
  // deepinv compares lower-cased names and takes "zeros" for "constant".
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "valid") return Padding::Valid;
  if (s == "circular") return Padding::Circular;
  if (s == "replicate") return Padding::Replicate;
  if (s == "reflect") return Padding::Reflect;
  if (s == "constant" || s == "zeros") return Padding::Constant;
  throw ValueError("padding '" + name +
                   "' is not one of 'valid', 'circular', 'replicate', 'reflect', 'constant' or "
                   "'zeros'");
}

std::string to_string(Padding padding) {
  switch (padding) {
    case Padding::Valid:
      return "valid";
    case Padding::Circular:
      return "circular";
    case Padding::Replicate:
      return "replicate";
    case Padding::Reflect:
      return "reflect";
    case Padding::Constant:
      return "constant";
  }
  throw ValueError("unknown Padding value " + std::to_string(static_cast<int>(padding)));
}

BlurAlgorithm parse_blur_algorithm(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "auto") return BlurAlgorithm::Auto;
  if (s == "direct") return BlurAlgorithm::Direct;
  if (s == "fft") return BlurAlgorithm::FFT;
  throw ValueError("blur algorithm '" + name + "' is not one of 'auto', 'direct' or 'fft'");
}

std::string to_string(BlurAlgorithm algorithm) {
  switch (algorithm) {
    case BlurAlgorithm::Auto:
      return "auto";
    case BlurAlgorithm::Direct:
      return "direct";
    case BlurAlgorithm::FFT:
      return "fft";
  }
  throw ValueError("unknown BlurAlgorithm value " + std::to_string(static_cast<int>(algorithm)));
}

// ---------------------------------------------------------------------------------------------
// gaussian_kernel

template <class T>
Tensor<T> gaussian_kernel(double sigma_h, double sigma_w, double angle_degrees) {
  if (!(std::isfinite(sigma_h) && sigma_h > 0.0 && std::isfinite(sigma_w) && sigma_w > 0.0))
    throw ValueError("gaussian_kernel: sigma must be positive and finite, got (" +
                     std::to_string(sigma_h) + ", " + std::to_string(sigma_w) + ")");
  if (!std::isfinite(angle_degrees))
    throw ValueError("gaussian_kernel: the angle must be finite, got " +
                     std::to_string(angle_degrees));
  // deepinv: c = int(max(sigma) / 0.3 + 1), size 2 c + 1.
  const double half = std::max(sigma_h, sigma_w) / 0.3 + 1.0;
  constexpr double max_half = 16384.0;
  if (half >= max_half)
    throw ValueError("gaussian_kernel: sigma " + std::to_string(std::max(sigma_h, sigma_w)) +
                     " gives a kernel wider than " + std::to_string(2 * max_half + 1) + " pixels");
  const std::int64_t c = static_cast<std::int64_t>(half);
  const std::int64_t n = 2 * c + 1;

  const double a = angle_degrees * (compat::pi<double>() / 180.0);
  const double ca = std::cos(a), sa = std::sin(a);
  const double centre = 0.5 * static_cast<double>(n - 1);
  std::vector<double> k(static_cast<std::size_t>(n * n));
  double sum = 0.0;
  for (std::int64_t iy = 0; iy < n; ++iy)
    for (std::int64_t ix = 0; ix < n; ++ix) {
      const double x = static_cast<double>(ix) - centre;  // width axis
      const double y = static_cast<double>(iy) - centre;  // height axis
      const double xr = ca * x - sa * y;
      const double yr = sa * x + ca * y;
      const double v = std::exp(-0.5 * xr * xr / (sigma_w * sigma_w)) *
                       std::exp(-0.5 * yr * yr / (sigma_h * sigma_h));
      k[static_cast<std::size_t>(iy * n + ix)] = v;
      sum += v;
    }
  std::vector<T> out(k.size());
  for (std::size_t i = 0; i < k.size(); ++i) out[i] = static_cast<T>(k[i] / sum);
  return from_vector<T>("kinv::gaussian_kernel", Shape{1, 1, n, n}, out);
}

template <class T>
Tensor<T> gaussian_kernel(double sigma, double angle_degrees) {
  if (!(std::isfinite(sigma) && sigma > 0.0))
    throw ValueError("gaussian_kernel: sigma must be positive and finite, got " +
                     std::to_string(sigma));
  return gaussian_kernel<T>(sigma, sigma, angle_degrees);
}

// ---------------------------------------------------------------------------------------------
// Blur

namespace {

// deepinv's conv2d pads (left, right) = (p - i, p) with p = f // 2, i = (f - 1) % 2.
struct AxisPad {
  std::int64_t p, left;
};
AxisPad axis_pad(std::int64_t f) { return AxisPad{f / 2, f / 2 - (f - 1) % 2}; }

// [begin, end) clamped to [0, n), empty when end <= begin.
void clamp_range(std::int64_t& begin, std::int64_t& end, std::int64_t n) {
  begin = std::max<std::int64_t>(begin, 0);
  end = std::min<std::int64_t>(end, n);
  if (end < begin) end = begin;
}

// Output pixels all of whose taps read inside the image.
impl::BlurInterior forward_interior(const impl::BlurGeometry& g) {
  impl::BlurInterior in;
  in.row_begin = g.kh - 1 - g.oh;
  in.row_end = g.H - g.oh;
  in.col_begin = g.kw - 1 - g.ow;
  in.col_end = g.W - g.ow;
  clamp_range(in.row_begin, in.row_end, g.Ho);
  clamp_range(in.col_begin, in.col_end, g.Wo);
  return in;
}

// Input pixels read by every tap through themselves only: the taps' outputs are all inside,
// and (except with zero padding) no padded position maps onto them, which for every mode
// leaves the pixels more than p = f // 2 away from both edges.
impl::BlurInterior adjoint_interior(const impl::BlurGeometry& g, Padding padding) {
  impl::BlurInterior in;
  in.row_begin = g.oh;
  in.row_end = g.Ho - g.kh + g.oh + 1;
  in.col_begin = g.ow;
  in.col_end = g.Wo - g.kw + g.ow + 1;
  if (padding != Padding::Valid && padding != Padding::Constant) {
    in.row_begin = std::max(in.row_begin, g.oh + 1);
    in.row_end = std::min(in.row_end, g.H - 1 - g.oh);
    in.col_begin = std::max(in.col_begin, g.ow + 1);
    in.col_end = std::min(in.col_end, g.W - 1 - g.ow);
  }
  clamp_range(in.row_begin, in.row_end, g.H);
  clamp_range(in.col_begin, in.col_end, g.W);
  return in;
}

// Host backends run the row kernels (a vectorisable unit-stride loop over columns); GPUs keep
// one thread per element, which coalesces. Strided outputs (Downsampling) run the strided row
// kernels on host backends and the element kernels on GPUs. The choice is `if constexpr` on
// runs_on_host, so each build compiles only its own kernels.
[[maybe_unused]] bool unit_stride(const impl::BlurGeometry& g) { return g.sh == 1 && g.sw == 1; }

template <class T, Padding P>
void run_forward(const std::string& label, const ExecutionSpace& space, const Tensor<T>& x,
                 const Tensor<T>& k, const Tensor<T>& y, const impl::BlurGeometry& g) {
  const impl::BlurForward<T, P> element{x.view(), k.view(), y.view(), g, forward_interior(g)};
  if constexpr (runs_on_host) {
    if (unit_stride(g)) {
      const std::int64_t rows = g.Wo > 0 ? y.size() / g.Wo : 0;
      Kokkos::parallel_for(label, impl::range(space, rows), impl::BlurForwardRows<T, P>{element});
    } else {
      const std::int64_t rows = g.Ws > 0 ? y.size() / g.Ws : 0;
      if (g.kh == 1 && g.kw == 1)
        Kokkos::parallel_for(label, impl::range(space, impl::PointForwardRows<T>::tasks(rows)),
                             impl::PointForwardRows<T>{x.view(), k.view(), y.view(), g, rows});
      else
        Kokkos::parallel_for(label, impl::range(space, rows),
                             impl::BlurForwardStridedRows<T, P>{element});
    }
  } else {
    Kokkos::parallel_for(label, impl::range(space, y.size()), element);
  }
}

}  // namespace

namespace impl {

template <class T, bool Accumulate>
void run_point_adjoint(const std::string& label, const ExecutionSpace& space, const Tensor<T>& y,
                       const Tensor<T>& k, const Tensor<T>& x, const BlurGeometry& g) {
  const std::int64_t n = x.size();
  const bool two = g.sh == 2 && g.sw == 2;
  if (n <= std::numeric_limits<int>::max()) {
    using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<int>>;
    const Policy policy(space, 0, static_cast<int>(n));
    if (two)
      Kokkos::parallel_for(
          label, policy,
          PointAdjointElements<T, Accumulate, int, 2>(y.view(), k.view(), x.view(), g));
    else
      Kokkos::parallel_for(
          label, policy,
          PointAdjointElements<T, Accumulate, int, 0>(y.view(), k.view(), x.view(), g));
  } else {
    using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;
    const Policy policy(space, 0, n);
    Kokkos::parallel_for(
        label, policy,
        PointAdjointElements<T, Accumulate, std::int64_t, 0>(y.view(), k.view(), x.view(), g));
  }
}

template void run_point_adjoint<float, false>(const std::string&, const ExecutionSpace&,
                                              const Tensor<float>&, const Tensor<float>&,
                                              const Tensor<float>&, const BlurGeometry&);
template void run_point_adjoint<float, true>(const std::string&, const ExecutionSpace&,
                                             const Tensor<float>&, const Tensor<float>&,
                                             const Tensor<float>&, const BlurGeometry&);
template void run_point_adjoint<double, false>(const std::string&, const ExecutionSpace&,
                                               const Tensor<double>&, const Tensor<double>&,
                                               const Tensor<double>&, const BlurGeometry&);
template void run_point_adjoint<double, true>(const std::string&, const ExecutionSpace&,
                                              const Tensor<double>&, const Tensor<double>&,
                                              const Tensor<double>&, const BlurGeometry&);

}  // namespace impl

namespace {

using impl::run_point_adjoint;

template <class T, Padding P>
void run_adjoint(const std::string& label, const ExecutionSpace& space, const Tensor<T>& y,
                 const Tensor<T>& k, const Tensor<T>& x, const impl::BlurGeometry& g,
                 bool accumulate) {
  const impl::BlurInterior in = adjoint_interior(g, P);
  if constexpr (runs_on_host) {
    if (unit_stride(g)) {
      // Columns whose taps land on output columns without folding: for circular padding every
      // such column (its adjoint is a circular correlation), else the interior's.
      std::int64_t cb = in.col_begin, ce = in.col_end;
      if (P == Padding::Circular) {
        cb = g.ow;
        ce = g.Wo - g.kw + g.ow + 1;
        clamp_range(cb, ce, g.W);
      }
      const auto policy = impl::range(space, g.W > 0 ? x.size() / g.W : 0);
      if (accumulate)
        Kokkos::parallel_for(
            label, policy,
            impl::BlurAdjointRows<T, P, true>{{y.view(), k.view(), x.view(), g, in}, cb, ce});
      else
        Kokkos::parallel_for(
            label, policy,
            impl::BlurAdjointRows<T, P, false>{{y.view(), k.view(), x.view(), g, in}, cb, ce});
      return;
    }
    const auto policy = impl::range(space, g.W > 0 ? x.size() / g.W : 0);
    if (g.kh == 1 && g.kw == 1) {
      if (accumulate)
        Kokkos::parallel_for(label, policy,
                             impl::PointAdjointRows<T, true>{y.view(), k.view(), x.view(), g});
      else
        Kokkos::parallel_for(label, policy,
                             impl::PointAdjointRows<T, false>{y.view(), k.view(), x.view(), g});
      return;
    }
    if (accumulate)
      Kokkos::parallel_for(
          label, policy,
          impl::BlurAdjointStridedRows<T, P, true>{{y.view(), k.view(), x.view(), g, in}});
    else
      Kokkos::parallel_for(
          label, policy,
          impl::BlurAdjointStridedRows<T, P, false>{{y.view(), k.view(), x.view(), g, in}});
  } else {
    if (g.kh == 1 && g.kw == 1 && (g.sh > 1 || g.sw > 1)) {
      if (accumulate)
        run_point_adjoint<T, true>(label, space, y, k, x, g);
      else
        run_point_adjoint<T, false>(label, space, y, k, x, g);
      return;
    }
    const auto policy = impl::range(space, x.size());
    if (accumulate)
      Kokkos::parallel_for(label, policy,
                           impl::BlurAdjoint<T, P, true>{y.view(), k.view(), x.view(), g, in});
    else
      Kokkos::parallel_for(label, policy,
                           impl::BlurAdjoint<T, P, false>{y.view(), k.view(), x.view(), g, in});
  }
}

}  // namespace

namespace impl {

BlurGeometry make_blur_geometry(const Shape& filter, Padding padding, const Shape& input,
                                std::int64_t sh, std::int64_t sw) {
  impl::BlurGeometry g;
  g.C = input[1];
  g.H = input[2];
  g.W = input[3];
  g.kh = filter[2];
  g.kw = filter[3];
  if (padding == Padding::Valid) {
    g.Ho = g.H - g.kh + 1;
    g.Wo = g.W - g.kw + 1;
    g.oh = g.kh - 1;
    g.ow = g.kw - 1;
    g.lo_h = 0;
    g.hi_h = g.H - 1;
    g.lo_w = 0;
    g.hi_w = g.W - 1;
  } else {
    const AxisPad ph = axis_pad(g.kh), pw = axis_pad(g.kw);
    g.Ho = g.H;
    g.Wo = g.W;
    g.oh = ph.p;
    g.ow = pw.p;
    g.lo_h = -ph.left;
    g.hi_h = g.H - 1 + ph.p;
    g.lo_w = -pw.left;
    g.hi_w = g.W - 1 + pw.p;
  }
  g.kb = filter[0] == 1 ? 0 : filter[1] * g.kh * g.kw;
  g.kc = filter[1] == 1 ? 0 : g.kh * g.kw;
  g.sh = sh;
  g.sw = sw;
  g.Hs = (g.Ho + sh - 1) / sh;
  g.Ws = (g.Wo + sw - 1) / sw;
  return g;
}

template <class T>
void blur_forward(const std::string& label, const ExecutionSpace& space, const Tensor<T>& x,
                  const Tensor<T>& k, const Tensor<T>& y, const BlurGeometry& g, Padding padding) {
  switch (padding) {
    case Padding::Valid:
      run_forward<T, Padding::Valid>(label, space, x, k, y, g);
      break;
    case Padding::Circular:
      run_forward<T, Padding::Circular>(label, space, x, k, y, g);
      break;
    case Padding::Replicate:
      run_forward<T, Padding::Replicate>(label, space, x, k, y, g);
      break;
    case Padding::Reflect:
      run_forward<T, Padding::Reflect>(label, space, x, k, y, g);
      break;
    case Padding::Constant:
      run_forward<T, Padding::Constant>(label, space, x, k, y, g);
      break;
  }
}

template <class T>
void blur_adjoint(const std::string& label, const ExecutionSpace& space, const Tensor<T>& y,
                  const Tensor<T>& k, const Tensor<T>& x, const BlurGeometry& g, Padding padding,
                  bool accumulate) {
  switch (padding) {
    case Padding::Valid:
      run_adjoint<T, Padding::Valid>(label, space, y, k, x, g, accumulate);
      break;
    case Padding::Circular:
      run_adjoint<T, Padding::Circular>(label, space, y, k, x, g, accumulate);
      break;
    case Padding::Replicate:
      run_adjoint<T, Padding::Replicate>(label, space, y, k, x, g, accumulate);
      break;
    case Padding::Reflect:
      run_adjoint<T, Padding::Reflect>(label, space, y, k, x, g, accumulate);
      break;
    case Padding::Constant:
      run_adjoint<T, Padding::Constant>(label, space, y, k, x, g, accumulate);
      break;
  }
}

template void blur_forward<float>(const std::string&, const ExecutionSpace&, const Tensor<float>&,
                                  const Tensor<float>&, const Tensor<float>&, const BlurGeometry&,
                                  Padding);
template void blur_forward<double>(const std::string&, const ExecutionSpace&, const Tensor<double>&,
                                   const Tensor<double>&, const Tensor<double>&,
                                   const BlurGeometry&, Padding);
template void blur_adjoint<float>(const std::string&, const ExecutionSpace&, const Tensor<float>&,
                                  const Tensor<float>&, const Tensor<float>&, const BlurGeometry&,
                                  Padding, bool);
template void blur_adjoint<double>(const std::string&, const ExecutionSpace&, const Tensor<double>&,
                                   const Tensor<double>&, const Tensor<double>&,
                                   const BlurGeometry&, Padding, bool);

}  // namespace impl

namespace {

std::string extent_or(std::int64_t filter_extent, const char* name) {
  return filter_extent == 1 ? std::string(name) : std::to_string(filter_extent);
}

}  // namespace

template <class T>
struct Blur<T>::FFTPath {
#if KINV_HAVE_FFT
  impl::BlurFFTEngine<T> engine;
#endif
};

template <class T>
Blur<T>::Blur(const Tensor<T>& filter, Padding padding, BlurAlgorithm algorithm)
    : m_filter(filter), m_padding(padding), m_algorithm(algorithm) {
  if (filter.rank() != 2 && filter.rank() != 4)
    this->value_error("the filter must have shape (b, c, h, w) or (h, w), got " +
                      filter.shape().to_string());
  if (filter.size() == 0)
    this->value_error("the filter is empty (shape " + filter.shape().to_string() + ")");
  if (filter.rank() == 2)
    m_filter = filter.reshaped(Shape{1, 1, filter.extent(0), filter.extent(1)});
  // Validates the enum values.
  (void)to_string(padding);
  (void)to_string(algorithm);
  if (algorithm == BlurAlgorithm::FFT && padding != Padding::Circular)
    this->value_error("the FFT algorithm computes circular convolutions only; padding is '" +
                      to_string(padding) + "' (use Padding::Circular, or Direct / Auto)");
#if !KINV_HAVE_FFT
  if (algorithm == BlurAlgorithm::FFT)
    this->value_error("the FFT algorithm needs kinv built with KINV_ENABLE_FFT");
#endif
  m_use_fft = KINV_HAVE_FFT && padding == Padding::Circular &&
              (algorithm == BlurAlgorithm::FFT ||
               (algorithm == BlurAlgorithm::Auto &&
                m_filter.extent(2) * m_filter.extent(3) >= blur_fft_min_taps<T>()));
  if (m_use_fft) m_fft = std::make_unique<FFTPath>();
}

template <class T>
Blur<T>::Blur(const Tensor<T>& filter, const std::string& padding, BlurAlgorithm algorithm)
    : Blur(filter, parse_padding(padding), algorithm) {}

template <class T>
Blur<T>::~Blur() = default;

template <class T>
void Blur<T>::input_error(const std::string& what, const std::string& expected,
                          const Shape& actual) const {
  throw ShapeError(name() + ": " + what, expected, actual.to_string(), this->index());
}

template <class T>
void Blur<T>::check_batch_and_channels(const char* what, const Shape& s) const {
  const Shape& f = m_filter.shape();
  if (s.rank() != 4) input_error(std::string(what) + " rank", "a rank-4 shape (B, C, H, W)", s);
  if ((f[0] != 1 && f[0] != s[0]) || (f[1] != 1 && f[1] != s[1]))
    input_error(std::string(what) + " shape (the filter " + f.to_string() +
                    " broadcasts over the batch and channel axes where its extent is 1)",
                "(" + extent_or(f[0], "B") + ", " + extent_or(f[1], "C") + ", H, W)", s);
}

template <class T>
Shape Blur<T>::output_shape(const Shape& input) const {
  check_batch_and_channels("input", input);
  const std::int64_t H = input[2], W = input[3];
  const std::int64_t h = m_filter.extent(2), w = m_filter.extent(3);
  const std::string hs = std::to_string(h), ws = std::to_string(w);
  const AxisPad ph = axis_pad(h), pw = axis_pad(w);
  const std::string phs = std::to_string(ph.p), pws = std::to_string(pw.p);
  switch (m_padding) {
    case Padding::Valid:
      if (H < h || W < w)
        input_error("input shape (valid padding needs an image at least as large as the filter " +
                        m_filter.shape().to_string() + ")",
                    "(B, C, H >= " + hs + ", W >= " + ws + ")", input);
      return Shape{input[0], input[1], H - h + 1, W - w + 1};
    case Padding::Circular:
      if (ph.p > H || pw.p > W)
        input_error("input shape (circular padding by (" + phs + ", " + pws +
                        ") wraps around more than once)",
                    "(B, C, H >= " + phs + ", W >= " + pws + ")", input);
      return input;
    case Padding::Reflect:
      if ((ph.p > 0 && ph.p >= H) || (pw.p > 0 && pw.p >= W))
        input_error("input shape (reflect padding by (" + phs + ", " + pws +
                        ") must be smaller than the image)",
                    "(B, C, H > " + phs + ", W > " + pws + ")", input);
      return input;
    case Padding::Replicate:
    case Padding::Constant:
      return input;
  }
  return input;
}

template <class T>
Shape Blur<T>::input_shape(const Shape& output) const {
  if (m_padding != Padding::Valid) return output_shape(output);
  check_batch_and_channels("output", output);
  if (output[2] < 1 || output[3] < 1)
    input_error("output shape (a valid blur has at least one output pixel)", "(B, C, >= 1, >= 1)",
                output);
  return Shape{output[0], output[1], output[2] + m_filter.extent(2) - 1,
               output[3] + m_filter.extent(3) - 1};
}

template <class T>
void Blur<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
#if KINV_HAVE_FFT
  if (m_use_fft) {
    m_fft->engine.apply("kinv::Blur::A", this->execution_space(), m_filter, x, y, false, false);
    return;
  }
#endif
  impl::blur_forward<T>("kinv::Blur::A", this->execution_space(), x, m_filter, y,
                        impl::make_blur_geometry(m_filter.shape(), m_padding, x.shape()),
                        m_padding);
}

template <class T>
void Blur<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const {
#if KINV_HAVE_FFT
  if (m_use_fft) {
    m_fft->engine.apply("kinv::Blur::A_adjoint", this->execution_space(), m_filter, y, x, true,
                        accumulate);
    return;
  }
#endif
  impl::blur_adjoint<T>("kinv::Blur::A_adjoint", this->execution_space(), y, m_filter, x,
                        impl::make_blur_geometry(m_filter.shape(), m_padding, x.shape()), m_padding,
                        accumulate);
}

template Tensor<float> gaussian_kernel<float>(double, double);
template Tensor<double> gaussian_kernel<double>(double, double);
template Tensor<float> gaussian_kernel<float>(double, double, double);
template Tensor<double> gaussian_kernel<double>(double, double, double);
template <class T>
double Blur<T>::cost_estimate() const {
  // The FFT path: two transforms of about 5 log2(H W) each, taken at a 512 x 512 image (the
  // image size is known only at the call).
  if (m_use_fft) return 181.0;
  return static_cast<double>(m_filter.extent(2) * m_filter.extent(3));
}

template class Blur<float>;
template class Blur<double>;

}  // namespace kinv
