// Downsampling: y = S (h * x), a low-pass filter then decimation by an integer factor
// (deepinv.physics.Downsampling), and deepinv's anti-aliasing filters (bilinear_filter,
// bicubic_filter, sinc_filter of deepinv.physics.functional).
#pragma once

#include <kinv/operators/blur.hpp>
#include <kinv/physics/physics.hpp>

#include <cstdint>
#include <string>

namespace kinv {

/// The filters deepinv's Downsampling builds by name (None: plain decimation).
enum class DownsamplingFilter { None, Gaussian, Bilinear, Bicubic, Sinc };

/// Parses "none", "gaussian", "bilinear", "bicubic" or "sinc" (case-insensitive); anything else
/// throws ValueError listing the valid names.
DownsamplingFilter parse_downsampling_filter(const std::string& name);
/// "none", "gaussian", "bilinear", "bicubic" or "sinc".
std::string to_string(DownsamplingFilter filter);

/// deepinv's bilinear_filter: (1, 1, 2 f, 2 f), the outer product of w(x) = 1 - |x| at
/// x = (-f + 1/2 + k) / f, k = 0 .. 2 f - 1, normalised to sum 1. Throws ValueError if f < 1.
template <class T>
Tensor<T> bilinear_filter(std::int64_t factor);

/// deepinv's bicubic_filter: (1, 1, 4 f, 4 f), the outer product of Keys' cubic (a = -1/2) at
/// x = (-2 f + 1/2 + k) / f, k = 0 .. 4 f - 1, normalised to sum 1. Throws ValueError if f < 1.
template <class T>
Tensor<T> bicubic_filter(std::int64_t factor);

/// deepinv's sinc_filter: (1, 1, L, L), the outer product of sinc(n / factor),
/// n = k - (L - 1) / 2, times (if `windowed`) a Kaiser window whose beta follows deepinv's rule
/// (with its constants 1.4142136 and 3.14159), normalised to sum 1. Throws ValueError unless
/// factor > 0 and length >= 1.
template <class T>
Tensor<T> sinc_filter(double factor, std::int64_t length = 11, bool windowed = true);

/// The filter deepinv's Downsampling uses for `filter` and `factor`: gaussian_kernel(factor),
/// bilinear_filter(factor), bicubic_filter(factor), sinc_filter(factor, 4 factor), or, for
/// None, the (1, 1, 1, 1) identity filter (decimation only).
template <class T>
Tensor<T> downsampling_filter(DownsamplingFilter filter, std::int64_t factor);

/// y = (h * x)[..., ::factor, ::factor] for x of shape (B, C, H, W): the convolution of Blur
/// (same filter shapes, broadcasting, kernel centre and padding modes) keeping the outputs at
/// rows and columns 0, factor, 2 factor, ... (deepinv's offset 0). The output has
/// ceil(Hc / factor) x ceil(Wc / factor) pixels, Hc x Wc being the convolution's extent (H x W,
/// or (H - h + 1) x (W - w + 1) with Padding::Valid); any H, W is accepted, as in deepinv.
/// Only the kept outputs are computed. A_adjoint is the exact adjoint (zero-filled upsampling
/// followed by deepinv's conv_transpose2d).
///
/// The input shape of A_adjoint: (B, C, H, W) from `img_size` = (C, H, W) when given (then A
/// accepts only that image size), else (B, C, factor Hy, factor Wy) as deepinv's dynamic size;
/// a measurement no such input maps to is a ShapeError.
template <class T>
class Downsampling : public LinearPhysics<T> {
 public:
  /// A filter by kind (deepinv's filter names; None decimates only), built for `factor`.
  explicit Downsampling(DownsamplingFilter filter, std::int64_t factor = 2,
                        Padding padding = Padding::Circular, const Shape& img_size = Shape());
  /// A filter by name ("none", "gaussian", "bilinear", "bicubic", "sinc") and padding by name.
  Downsampling(const std::string& filter, std::int64_t factor = 2,
               const std::string& padding = "circular", const Shape& img_size = Shape());
  /// A user filter of shape (b, c, h, w) or (h, w), as Blur takes it (kept by reference).
  Downsampling(const Tensor<T>& filter, std::int64_t factor = 2,
               Padding padding = Padding::Circular, const Shape& img_size = Shape());

  std::string name() const override { return "Downsampling"; }
  double cost_estimate() const override {
    return m_has_filter ? static_cast<double>(m_filter.extent(2) * m_filter.extent(3)) : 1.0;
  }
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override;

  std::int64_t factor() const noexcept { return m_factor; }
  /// The filter kind; None for decimation only, and also for a user filter (has_filter()).
  DownsamplingFilter filter_kind() const noexcept { return m_kind; }
  /// Whether a filter is applied before decimation (false: deepinv's filter=None).
  bool has_filter() const noexcept { return m_has_filter; }
  /// The filter, of shape (b, c, h, w) ((1, 1, 1, 1) identity when !has_filter()).
  const Tensor<T>& filter() const noexcept { return m_filter; }
  Padding padding() const noexcept { return m_padding; }
  /// (C, H, W) if fixed, else an empty shape.
  const Shape& img_size() const noexcept { return m_img_size; }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;

 private:
  void init(const Shape& img_size);
  [[noreturn]] void input_error(const std::string& what, const std::string& expected,
                                const Shape& actual) const;
  /// The convolution's extents for an input of shape (B, C, H, W), checked.
  void check_input(const Shape& input, std::int64_t& Hc, std::int64_t& Wc) const;

  std::int64_t m_factor;
  DownsamplingFilter m_kind;
  bool m_has_filter;
  Tensor<T> m_filter;
  Padding m_padding;
  Shape m_img_size;
};

extern template Tensor<float> bilinear_filter<float>(std::int64_t);
extern template Tensor<double> bilinear_filter<double>(std::int64_t);
extern template Tensor<float> bicubic_filter<float>(std::int64_t);
extern template Tensor<double> bicubic_filter<double>(std::int64_t);
extern template Tensor<float> sinc_filter<float>(double, std::int64_t, bool);
extern template Tensor<double> sinc_filter<double>(double, std::int64_t, bool);
extern template Tensor<float> downsampling_filter<float>(DownsamplingFilter, std::int64_t);
extern template Tensor<double> downsampling_filter<double>(DownsamplingFilter, std::int64_t);
extern template class Downsampling<float>;
extern template class Downsampling<double>;

}  // namespace kinv
