#include <kinv/operators/downsampling.hpp>
#include <kinv/operators/impl/blur_functors.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

namespace kinv {

// ---------------------------------------------------------------------------------------------
// Filter names

DownsamplingFilter parse_downsampling_filter(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "none") return DownsamplingFilter::None;
  if (s == "gaussian") return DownsamplingFilter::Gaussian;
  if (s == "bilinear") return DownsamplingFilter::Bilinear;
  if (s == "bicubic") return DownsamplingFilter::Bicubic;
  if (s == "sinc") return DownsamplingFilter::Sinc;
  throw ValueError("Downsampling: filter '" + name +
                   "' is not one of 'none', 'gaussian', 'bilinear', 'bicubic' or 'sinc'");
}

std::string to_string(DownsamplingFilter filter) {
  switch (filter) {
    case DownsamplingFilter::None:
      return "none";
    case DownsamplingFilter::Gaussian:
      return "gaussian";
    case DownsamplingFilter::Bilinear:
      return "bilinear";
    case DownsamplingFilter::Bicubic:
      return "bicubic";
    case DownsamplingFilter::Sinc:
      return "sinc";
  }
  throw ValueError("unknown DownsamplingFilter value " + std::to_string(static_cast<int>(filter)));
}

// ---------------------------------------------------------------------------------------------
// Filters (computed in double on the host, as deepinv's formulas, then rounded to T)

namespace {

void check_factor(const char* what, std::int64_t factor) {
  if (factor < 1)
    throw ValueError(std::string(what) + ": the factor must be an integer >= 1, got " +
                     std::to_string(factor));
}

// The normalised outer product w w^T as a (1, 1, n, n) tensor.
template <class T>
Tensor<T> separable(const char* label, const std::vector<double>& w) {
  const std::size_t n = w.size();
  std::vector<double> k(n * n);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      k[i * n + j] = w[i] * w[j];
      sum += k[i * n + j];
    }
  std::vector<T> out(k.size());
  for (std::size_t i = 0; i < k.size(); ++i) out[i] = static_cast<T>(k[i] / sum);
  const auto e = static_cast<std::int64_t>(n);
  return from_vector<T>(label, Shape{1, 1, e, e}, out);
}

// The modified Bessel function of the first kind of order 0 (torch.i0), by its power series
// sum_k ((x / 2)^k / k!)^2, which converges for every x (the terms peak near k = x / 2).
double bessel_i0(double x) {
  const double q = 0.25 * x * x;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 500; ++k) {
    term *= q / (static_cast<double>(k) * static_cast<double>(k));
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

}  // namespace

template <class T>
Tensor<T> bilinear_filter(std::int64_t factor) {
  check_factor("bilinear_filter", factor);
  const double f = static_cast<double>(factor);
  std::vector<double> w(static_cast<std::size_t>(2 * factor));
  for (std::size_t k = 0; k < w.size(); ++k) {
    const double x = (-f + 0.5 + static_cast<double>(k)) / f;
    w[k] = 1.0 - std::fabs(x);
  }
  return separable<T>("kinv::bilinear_filter", w);
}

template <class T>
Tensor<T> bicubic_filter(std::int64_t factor) {
  check_factor("bicubic_filter", factor);
  const double f = static_cast<double>(factor);
  const double a = -0.5;
  std::vector<double> w(static_cast<std::size_t>(4 * factor));
  for (std::size_t k = 0; k < w.size(); ++k) {
    const double x = std::fabs((-2.0 * f + 0.5 + static_cast<double>(k)) / f);
    double v = 0.0;
    if (x <= 1.0)
      v = (a + 2.0) * x * x * x - (a + 3.0) * x * x + 1.0;
    else if (x < 2.0)
      v = a * x * x * x - 5.0 * a * x * x + 8.0 * a * x - 4.0 * a;
    w[k] = v;
  }
  return separable<T>("kinv::bicubic_filter", w);
}

template <class T>
Tensor<T> sinc_filter(double factor, std::int64_t length, bool windowed) {
  if (!(std::isfinite(factor) && factor > 0.0))
    throw ValueError("sinc_filter: the factor must be positive and finite, got " +
                     std::to_string(factor));
  if (length < 1)
    throw ValueError("sinc_filter: the length must be >= 1, got " + std::to_string(length));
  const double pi = compat::pi<double>();
  const double half = 0.5 * static_cast<double>(length - 1);
  std::vector<double> w(static_cast<std::size_t>(length));
  for (std::size_t k = 0; k < w.size(); ++k) {
    const double t = (static_cast<double>(k) - half) / factor;
    w[k] = t == 0.0 ? 1.0 : std::sin(pi * t) / (pi * t);
  }
  if (windowed && length > 1) {
    // deepinv's Kaiser beta, with its rounded constants.
    const double deltaf = 2.0 * (2.0 - 1.4142136) / factor;
    const double A = 2.285 * static_cast<double>(length - 1) * 3.14159 * deltaf + 7.95;
    double beta = 0.0;
    if (A <= 21.0)
      beta = 0.0;
    else if (A <= 50.0)
      beta = 0.5842 * std::pow(A - 21.0, 0.4) + 0.07886 * (A - 21.0);
    else
      beta = 0.1102 * (A - 8.7);
    const double i0_beta = bessel_i0(beta);
    for (std::size_t k = 0; k < w.size(); ++k) {
      const double r = (static_cast<double>(k) - half) / half;
      w[k] *= bessel_i0(beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / i0_beta;
    }
  }
  return separable<T>("kinv::sinc_filter", w);
}

template <class T>
Tensor<T> downsampling_filter(DownsamplingFilter filter, std::int64_t factor) {
  check_factor("downsampling_filter", factor);
  switch (filter) {
    case DownsamplingFilter::None:
      return from_vector<T>("kinv::Downsampling::identity", Shape{1, 1, 1, 1}, {T(1)});
    case DownsamplingFilter::Gaussian:
      return gaussian_kernel<T>(static_cast<double>(factor));
    case DownsamplingFilter::Bilinear:
      return bilinear_filter<T>(factor);
    case DownsamplingFilter::Bicubic:
      return bicubic_filter<T>(factor);
    case DownsamplingFilter::Sinc:
      return sinc_filter<T>(static_cast<double>(factor), 4 * factor);
  }
  throw ValueError("unknown DownsamplingFilter value " + std::to_string(static_cast<int>(filter)));
}

// ---------------------------------------------------------------------------------------------
// Downsampling

namespace {

std::string extent_or(std::int64_t filter_extent, const char* name) {
  return filter_extent == 1 ? std::string(name) : std::to_string(filter_extent);
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

template <class T>
Downsampling<T>::Downsampling(DownsamplingFilter filter, std::int64_t factor, Padding padding,
                              const Shape& img_size)
    : m_factor(factor),
      m_kind(filter),
      m_has_filter(filter != DownsamplingFilter::None),
      m_padding(padding) {
  if (factor < 1)
    this->value_error("the factor must be an integer >= 1, got " + std::to_string(factor));
  (void)to_string(filter);
  m_filter = downsampling_filter<T>(filter, factor);
  init(img_size);
}

template <class T>
Downsampling<T>::Downsampling(const std::string& filter, std::int64_t factor,
                              const std::string& padding, const Shape& img_size)
    : Downsampling(parse_downsampling_filter(filter), factor, parse_padding(padding), img_size) {}

template <class T>
Downsampling<T>::Downsampling(const Tensor<T>& filter, std::int64_t factor, Padding padding,
                              const Shape& img_size)
    : m_factor(factor),
      m_kind(DownsamplingFilter::None),
      m_has_filter(true),
      m_filter(filter),
      m_padding(padding) {
  if (factor < 1)
    this->value_error("the factor must be an integer >= 1, got " + std::to_string(factor));
  if (filter.rank() != 2 && filter.rank() != 4)
    this->value_error("the filter must have shape (b, c, h, w) or (h, w), got " +
                      filter.shape().to_string());
  if (filter.size() == 0)
    this->value_error("the filter is empty (shape " + filter.shape().to_string() + ")");
  if (filter.rank() == 2)
    m_filter = filter.reshaped(Shape{1, 1, filter.extent(0), filter.extent(1)});
  init(img_size);
}

template <class T>
void Downsampling<T>::init(const Shape& img_size) {
  (void)to_string(m_padding);  // validates the enum value
  if (img_size.rank() != 0 && img_size.rank() != 3)
    this->value_error("img_size must be (C, H, W) or empty, got " + img_size.to_string());
  if (img_size.rank() == 3 && (img_size[0] < 1 || img_size[1] < 1 || img_size[2] < 1))
    this->value_error("img_size must have positive extents, got " + img_size.to_string());
  m_img_size = img_size;
  if (img_size.rank() == 3) {
    // Fails now, not at the first call, when the filter cannot be applied to this size.
    std::int64_t Hc = 0, Wc = 0;
    const std::int64_t b = m_filter.extent(0);
    check_input(Shape{b, m_filter.extent(1) == 1 ? img_size[0] : m_filter.extent(1), img_size[1],
                      img_size[2]},
                Hc, Wc);
  }
}

template <class T>
void Downsampling<T>::input_error(const std::string& what, const std::string& expected,
                                  const Shape& actual) const {
  throw ShapeError(name() + ": " + what, expected, actual.to_string(), this->index());
}

template <class T>
void Downsampling<T>::check_input(const Shape& s, std::int64_t& Hc, std::int64_t& Wc) const {
  const Shape& f = m_filter.shape();
  if (s.rank() != 4) input_error("input rank", "a rank-4 shape (B, C, H, W)", s);
  if ((f[0] != 1 && f[0] != s[0]) || (f[1] != 1 && f[1] != s[1]))
    input_error("input shape (the filter " + f.to_string() +
                    " broadcasts over the batch and channel axes where its extent is 1)",
                "(" + extent_or(f[0], "B") + ", " + extent_or(f[1], "C") + ", H, W)", s);
  if (m_img_size.rank() == 3 &&
      (s[1] != m_img_size[0] || s[2] != m_img_size[1] || s[3] != m_img_size[2]))
    input_error("input shape (img_size is fixed)",
                "(B, " + std::to_string(m_img_size[0]) + ", " + std::to_string(m_img_size[1]) +
                    ", " + std::to_string(m_img_size[2]) + ")",
                s);
  const std::int64_t H = s[2], W = s[3], h = f[2], w = f[3];
  if (H < 1 || W < 1) input_error("input shape (an empty image)", "(B, C, H >= 1, W >= 1)", s);
  const std::int64_t ph = h / 2, pw = w / 2;
  const std::string hs = std::to_string(h), ws = std::to_string(w);
  const std::string phs = std::to_string(ph), pws = std::to_string(pw);
  Hc = H;
  Wc = W;
  switch (m_padding) {
    case Padding::Valid:
      if (H < h || W < w)
        input_error("input shape (valid padding needs an image at least as large as the filter " +
                        f.to_string() + ")",
                    "(B, C, H >= " + hs + ", W >= " + ws + ")", s);
      Hc = H - h + 1;
      Wc = W - w + 1;
      break;
    case Padding::Circular:
      if (ph > H || pw > W)
        input_error("input shape (circular padding by (" + phs + ", " + pws + ") for the filter " +
                        f.to_string() + " wraps around more than once)",
                    "(B, C, H >= " + phs + ", W >= " + pws + ")", s);
      break;
    case Padding::Reflect:
      if ((ph > 0 && ph >= H) || (pw > 0 && pw >= W))
        input_error("input shape (reflect padding by (" + phs + ", " + pws + ") for the filter " +
                        f.to_string() + " must be smaller than the image)",
                    "(B, C, H > " + phs + ", W > " + pws + ")", s);
      break;
    case Padding::Replicate:
    case Padding::Constant:
      break;
  }
}

template <class T>
Shape Downsampling<T>::output_shape(const Shape& input) const {
  std::int64_t Hc = 0, Wc = 0;
  check_input(input, Hc, Wc);
  return Shape{input[0], input[1], ceil_div(Hc, m_factor), ceil_div(Wc, m_factor)};
}

template <class T>
Shape Downsampling<T>::input_shape(const Shape& output) const {
  if (output.rank() != 4) input_error("output rank", "a rank-4 shape (B, C, Hy, Wy)", output);
  const Shape candidate =
      m_img_size.rank() == 3
          ? Shape{output[0], m_img_size[0], m_img_size[1], m_img_size[2]}
          : Shape{output[0], output[1], output[2] * m_factor, output[3] * m_factor};
  if (output[2] < 1 || output[3] < 1 || output_shape(candidate) != output) {
    const Shape expected = output_shape(candidate);
    input_error("output shape (the adjoint's input shape is " + candidate.to_string() +
                    (m_img_size.rank() == 3
                         ? std::string(" from img_size")
                         : std::string(" = factor x the output's; set img_size for other sizes")) +
                    ")",
                expected.to_string(), output);
  }
  return candidate;
}

template <class T>
void Downsampling<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  impl::blur_forward<T>(
      "kinv::Downsampling::A", this->execution_space(), x, m_filter, y,
      impl::make_blur_geometry(m_filter.shape(), m_padding, x.shape(), m_factor, m_factor),
      m_padding);
}

template <class T>
void Downsampling<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x,
                                      bool accumulate) const {
  impl::blur_adjoint<T>(
      "kinv::Downsampling::A_adjoint", this->execution_space(), y, m_filter, x,
      impl::make_blur_geometry(m_filter.shape(), m_padding, x.shape(), m_factor, m_factor),
      m_padding, accumulate);
}

template Tensor<float> bilinear_filter<float>(std::int64_t);
template Tensor<double> bilinear_filter<double>(std::int64_t);
template Tensor<float> bicubic_filter<float>(std::int64_t);
template Tensor<double> bicubic_filter<double>(std::int64_t);
template Tensor<float> sinc_filter<float>(double, std::int64_t, bool);
template Tensor<double> sinc_filter<double>(double, std::int64_t, bool);
template Tensor<float> downsampling_filter<float>(DownsamplingFilter, std::int64_t);
template Tensor<double> downsampling_filter<double>(DownsamplingFilter, std::int64_t);
template class Downsampling<float>;
template class Downsampling<double>;

}  // namespace kinv
