// Blur: a true 2-D convolution with deepinv's kernel centre and padding modes
// (deepinv.physics.Blur on top of deepinv.physics.functional.conv2d / conv_transpose2d), and
// gaussian_kernel, deepinv's 2-D gaussian_blur.
#pragma once

#include <kinv/physics/physics.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace kinv {

/// How Blur extends the image beyond its border (deepinv's `padding` argument).
enum class Padding {
  Valid,      ///< no padding: the output is (H - h + 1, W - w + 1)
  Circular,   ///< periodic extension (pad <= extent, as torch requires)
  Replicate,  ///< the edge value repeats
  Reflect,    ///< mirror without repeating the edge (torch "reflect"; pad < extent)
  Constant,   ///< zeros ("zeros" parses to this too)
};

/// How Blur computes a circular convolution. Other paddings always run Direct.
enum class BlurAlgorithm {
  Auto,    ///< FFT for Padding::Circular when the filter has >= blur_fft_min_taps<T>() taps
  Direct,  ///< the gather kernels, O(h w) per pixel
  FFT,     ///< through FFTs (Padding::Circular only), O(log(H W)) per pixel whatever the filter
};
// Without KINV_ENABLE_FFT, Auto always runs Direct and asking for FFT throws ValueError.

/// Parses "auto", "direct" or "fft"; anything else throws ValueError listing the valid names.
BlurAlgorithm parse_blur_algorithm(const std::string& name);
/// "auto", "direct" or "fft".
std::string to_string(BlurAlgorithm algorithm);

/// The filter size (h w taps) from which BlurAlgorithm::Auto takes the FFT path for circular
/// padding: 30, so 5 x 5 filters run direct and 7 x 7 ones through FFTs. Measured on one core of
/// the x86-64 development machine (Serial, SSE2 code, measured FFTW plans, real-to-complex
/// transforms; the machine was loaded, so single figures scatter by up to 2x), 512^2 RGB, CPU
/// time per call: float direct 3x3 7.6 ms, 5x5 17.8, 7x7 34.4, 9x9 57.7 against 15.3-15.8 for
/// the FFT whatever the filter; double direct 5x5 21.8, 7x7 34.2 against 19.8-22.1 for the FFT.
/// The FFT's cost grows only with log(H W) per pixel, the direct one with the taps. The same
/// rule is used on GPUs, where it was not measured.
template <class T>
constexpr std::int64_t blur_fft_min_taps() {
  return 30;
}

/// Parses "valid", "circular", "replicate", "reflect", "constant" or "zeros" (as deepinv does);
/// anything else throws ValueError listing the valid names.
Padding parse_padding(const std::string& name);
/// "valid", "circular", "replicate", "reflect" or "constant".
std::string to_string(Padding padding);

/// A normalised 2-D Gaussian kernel of shape (1, 1, n, n), deepinv's gaussian_blur: isotropic
/// with standard deviation `sigma` (in pixels), rotated by `angle_degrees`. The size is
/// n = 2 c + 1 with c = int(sigma / 0.3 + 1). Throws ValueError unless sigma > 0 and finite.
template <class T>
Tensor<T> gaussian_kernel(double sigma, double angle_degrees = 0.0);

/// An anisotropic Gaussian kernel with standard deviations (sigma_h, sigma_w) along the
/// (height, width) axes (deepinv's sigma tuple order) before a rotation by `angle_degrees`
/// (x' = cos a x - sin a y, y' = sin a x + cos a y, x along the width, y along the height).
/// The size rule uses max(sigma_h, sigma_w).
template <class T>
Tensor<T> gaussian_kernel(double sigma_h, double sigma_w, double angle_degrees);

/// y = k * x, a true convolution (not a cross-correlation) of each channel of x of shape
/// (B, C, H, W) with a filter of shape (b, c, h, w), b in {1, B} and c in {1, C} broadcast as
/// in deepinv's conv2d, or (h, w).
///
/// Except for Padding::Valid the output has the input's shape and
///   y[i, j] = sum_{u, v} k[u, v] x_pad(i + h // 2 - u, j + w // 2 - v),
/// x_pad extending x by the padding mode (h // 2 - (h - 1) % 2 rows above, h // 2 below).
/// So the tap k[h // 2, w // 2] meets x[i, j] for even sizes too (deepinv's docstring centre
/// h // 2 - 1 is that of the flipped filter). With Padding::Valid the output is
/// (H - h + 1, W - w + 1) and y[i, j] = sum_{u, v} k[u, v] x(i + h - 1 - u, j + w - 1 - v).
/// A_adjoint is the exact adjoint, boundary folding included (deepinv's conv_transpose2d).
/// The filter is kept by reference (like a Tensor copy, it shares storage).
///
/// With Padding::Circular the operator can run through FFTs (see BlurAlgorithm; Auto picks the
/// faster one by filter size): the result equals the direct convolution to rounding. As Blur
/// takes no image size, the FFT path computes the filter's spectra and plans on the first call
/// for an input (H, W) and reuses them (and its work buffer) while the shape stays the same, so
/// a steady state allocates nothing; a new (H, W) recomputes them. It therefore reads the
/// filter's values once per shape: changing them in place afterwards is not seen. Concurrent
/// calls on one object are safe: the direct path keeps no state, and the FFT path serialises
/// calls with a mutex (they share the work buffer).
template <class T>
class Blur : public LinearPhysics<T> {
 public:
  /// Throws ValueError for BlurAlgorithm::FFT with a padding other than Circular.
  explicit Blur(const Tensor<T>& filter, Padding padding = Padding::Valid,
                BlurAlgorithm algorithm = BlurAlgorithm::Auto);
  /// Padding by name, see parse_padding.
  Blur(const Tensor<T>& filter, const std::string& padding,
       BlurAlgorithm algorithm = BlurAlgorithm::Auto);
  ~Blur() override;

  std::string name() const override { return "Blur"; }
  double cost_estimate() const override;
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override;

  /// The filter, of shape (b, c, h, w) (a rank-2 filter is viewed as (1, 1, h, w)).
  const Tensor<T>& filter() const noexcept { return m_filter; }
  Padding padding() const noexcept { return m_padding; }
  /// The algorithm asked for at construction.
  BlurAlgorithm algorithm() const noexcept { return m_algorithm; }
  /// Whether A and A_adjoint run through FFTs (the choice does not depend on the image).
  bool uses_fft() const noexcept { return m_use_fft; }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;

 private:
  void check_batch_and_channels(const char* what, const Shape& s) const;
  [[noreturn]] void input_error(const std::string& what, const std::string& expected,
                                const Shape& actual) const;

  struct FFTPath;

  Tensor<T> m_filter;
  Padding m_padding;
  BlurAlgorithm m_algorithm;
  bool m_use_fft = false;
  std::unique_ptr<FFTPath> m_fft;  // null on the direct path
};

extern template Tensor<float> gaussian_kernel<float>(double, double);
extern template Tensor<double> gaussian_kernel<double>(double, double);
extern template Tensor<float> gaussian_kernel<float>(double, double, double);
extern template Tensor<double> gaussian_kernel<double>(double, double, double);
extern template class Blur<float>;
extern template class Blur<double>;

}  // namespace kinv
