#include <kinv/physics/noise.hpp>

#include <cmath>
#include <sstream>

namespace kinv {

namespace {

template <class T>
struct GaussianNoiseFunctor {
  Kokkos::View<T*, MemorySpace> y;
  RandomStream stream;
  T sigma;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    y(i) += sigma * static_cast<T>(standard_normal(stream, static_cast<std::uint64_t>(i)));
  }
};

template <class T>
struct ClipFunctor {
  Kokkos::View<T*, MemorySpace> y;
  T lo, hi;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const T v = y(i);
    y(i) = v < lo ? lo : (v > hi ? hi : v);
  }
};

/// y <- gain * P(max(y, 0) / gain) (or without the factor gain), plus sigma * N(0, 1) when
/// sigma > 0. The Gaussian uses the element's sub-block 0, the Poisson sampler sub-blocks 1 on,
/// so the two parts are independent.
template <class T>
struct PoissonNoiseFunctor {
  Kokkos::View<T*, MemorySpace> y;
  RandomStream stream;
  double gain, scale, sigma;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const auto e = static_cast<std::uint64_t>(i);
    const double z = static_cast<double>(y(i)) / gain;
    double v = scale * poisson(stream, e, z > 0 ? z : 0.0, 1);
    if (sigma > 0) v += sigma * standard_normal(stream, e);
    y(i) = static_cast<T>(v);
  }
};

template <class T>
struct UniformNoiseFunctor {
  Kokkos::View<T*, MemorySpace> y;
  RandomStream stream;
  T a;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const double u = uniform(stream, static_cast<std::uint64_t>(i));
    y(i) += static_cast<T>((u - 0.5) * 2) * a;
  }
};

template <class T>
struct QuantizeFunctor {
  Kokkos::View<T*, MemorySpace> y;
  T lo, hi, step;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const T v = y(i);
    const T c = v < lo ? lo : (v > hi ? hi : v);
    const T q = lo + step * compat::math::floor((c - lo) / step + T(0.5));
    y(i) = q > hi ? hi : q;
  }
};

template <class T>
struct MinFunctor {
  Kokkos::View<const T*, MemorySpace> y;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i, T& m) const {
    if (y(i) < m) m = y(i);
  }
};

std::string show(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

/// Throws unless every entry of y is >= 0 (Poisson noise is defined on non-negative means).
template <class T>
void require_non_negative(const char* model, const Tensor<T>& y, const ExecutionSpace& space) {
  if (y.size() == 0) return;
  T m = T(0);
  Kokkos::parallel_reduce("kinv::" + std::string(model) + "::check", impl::range(space, y.size()),
                          MinFunctor<T>{y.view()}, Kokkos::Min<T>(m));
  if (m < T(0))
    throw ValueError(std::string(model) + ": the input must be non-negative, its minimum is " +
                     show(m) + " (set clip_positive to clip it at 0)");
}

}  // namespace

template <class T>
GaussianNoise<T>::GaussianNoise(T sigma, std::uint64_t seed) : NoiseModel<T>(seed), m_sigma(sigma) {
  if (!(sigma >= T(0)) || !std::isfinite(static_cast<double>(sigma)))
    throw ValueError("GaussianNoise: sigma must be finite and >= 0, got " + show(sigma));
}

template <class T>
void GaussianNoise<T>::apply(const Tensor<T>& y, const RandomStream& stream,
                             const ExecutionSpace& space) const {
  if (m_sigma == T(0)) return;
  Kokkos::parallel_for("kinv::GaussianNoise", impl::range(space, y.size()),
                       GaussianNoiseFunctor<T>{y.view(), stream, m_sigma});
}

template <class T>
ClipSensor<T>::ClipSensor(T lo, T hi) : m_lo(lo), m_hi(hi) {
  if (!(lo <= hi))
    throw ValueError("ClipSensor: need lo <= hi, got [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
}

template <class T>
void ClipSensor<T>::apply(const Tensor<T>& y, const ExecutionSpace& space) const {
  Kokkos::parallel_for("kinv::ClipSensor", impl::range(space, y.size()),
                       ClipFunctor<T>{y.view(), m_lo, m_hi});
}

template <class T>
PoissonNoise<T>::PoissonNoise(T gain, bool normalize, bool clip_positive, std::uint64_t seed)
    : NoiseModel<T>(seed), m_gain(gain), m_normalize(normalize), m_clip(clip_positive) {
  if (!(gain > T(0)) || !std::isfinite(static_cast<double>(gain)))
    throw ValueError("PoissonNoise: gain must be positive and finite, got " + show(gain));
}

template <class T>
void PoissonNoise<T>::apply(const Tensor<T>& y, const RandomStream& stream,
                            const ExecutionSpace& space) const {
  if (!m_clip) require_non_negative("PoissonNoise", y, space);
  const double g = static_cast<double>(m_gain);
  Kokkos::parallel_for("kinv::PoissonNoise", impl::range(space, y.size()),
                       PoissonNoiseFunctor<T>{y.view(), stream, g, m_normalize ? g : 1.0, 0.0});
}

template <class T>
PoissonGaussianNoise<T>::PoissonGaussianNoise(T gain, T sigma, bool clip_positive,
                                              std::uint64_t seed)
    : NoiseModel<T>(seed), m_gain(gain), m_sigma(sigma), m_clip(clip_positive) {
  if (!(gain > T(0)) || !std::isfinite(static_cast<double>(gain)))
    throw ValueError("PoissonGaussianNoise: gain must be positive and finite, got " + show(gain));
  if (!(sigma >= T(0)) || !std::isfinite(static_cast<double>(sigma)))
    throw ValueError("PoissonGaussianNoise: sigma must be finite and >= 0, got " + show(sigma));
}

template <class T>
void PoissonGaussianNoise<T>::apply(const Tensor<T>& y, const RandomStream& stream,
                                    const ExecutionSpace& space) const {
  if (!m_clip) require_non_negative("PoissonGaussianNoise", y, space);
  const double g = static_cast<double>(m_gain);
  Kokkos::parallel_for(
      "kinv::PoissonGaussianNoise", impl::range(space, y.size()),
      PoissonNoiseFunctor<T>{y.view(), stream, g, g, static_cast<double>(m_sigma)});
}

template <class T>
UniformNoise<T>::UniformNoise(T a, std::uint64_t seed) : NoiseModel<T>(seed), m_a(a) {
  if (!(a >= T(0)) || !std::isfinite(static_cast<double>(a)))
    throw ValueError("UniformNoise: a must be finite and >= 0, got " + show(a));
}

template <class T>
void UniformNoise<T>::apply(const Tensor<T>& y, const RandomStream& stream,
                            const ExecutionSpace& space) const {
  if (m_a == T(0)) return;
  Kokkos::parallel_for("kinv::UniformNoise", impl::range(space, y.size()),
                       UniformNoiseFunctor<T>{y.view(), stream, m_a});
}

template <class T>
QuantizeSensor<T>::QuantizeSensor(T lo, T hi, std::int64_t levels)
    : m_lo(lo), m_hi(hi), m_step(0), m_levels(levels) {
  if (!(lo < hi))
    throw ValueError("QuantizeSensor: need lo < hi, got [" + show(lo) + ", " + show(hi) + "]");
  if (levels < 2)
    throw ValueError("QuantizeSensor: need at least 2 levels, got " + std::to_string(levels));
  m_step = (hi - lo) / static_cast<T>(levels - 1);
}

template <class T>
void QuantizeSensor<T>::apply(const Tensor<T>& y, const ExecutionSpace& space) const {
  Kokkos::parallel_for("kinv::QuantizeSensor", impl::range(space, y.size()),
                       QuantizeFunctor<T>{y.view(), m_lo, m_hi, m_step});
}

template class GaussianNoise<float>;
template class GaussianNoise<double>;
template class ClipSensor<float>;
template class ClipSensor<double>;
template class PoissonNoise<float>;
template class PoissonNoise<double>;
template class PoissonGaussianNoise<float>;
template class PoissonGaussianNoise<double>;
template class UniformNoise<float>;
template class UniformNoise<double>;
template class QuantizeSensor<float>;
template class QuantizeSensor<double>;

}  // namespace kinv
