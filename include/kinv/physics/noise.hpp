// Noise models (y -> N(y)) and sensor models (y -> S(y)) that Physics::forward applies after A.
// Noise draws come from a counter-based generator keyed by (seed, operator index, draw), so a
// forward pass gives the same bits whatever rank computes it.
#pragma once

#include <kinv/core/rng.hpp>
#include <kinv/core/tensor.hpp>

#include <cstdint>
#include <string>

namespace kinv {

/// y <- N(y), in place, with random numbers from `stream`.
template <class T>
class NoiseModel {
 public:
  explicit NoiseModel(std::uint64_t seed = 0) : m_seed(seed) {}
  virtual ~NoiseModel() = default;
  virtual std::string name() const = 0;
  virtual void apply(const Tensor<T>& y, const RandomStream& stream,
                     const ExecutionSpace& space) const = 0;
  std::uint64_t seed() const noexcept { return m_seed; }
  void set_seed(std::uint64_t seed) noexcept { m_seed = seed; }

 private:
  std::uint64_t m_seed;
};

/// Additive white Gaussian noise y + sigma * n, n ~ N(0, 1) (deepinv.physics.GaussianNoise).
template <class T>
class GaussianNoise : public NoiseModel<T> {
 public:
  explicit GaussianNoise(T sigma = T(0.1), std::uint64_t seed = 0);
  std::string name() const override { return "GaussianNoise"; }
  T sigma() const noexcept { return m_sigma; }
  void apply(const Tensor<T>& y, const RandomStream& stream,
             const ExecutionSpace& space) const override;

 private:
  T m_sigma;
};

/// Poisson noise y = gain * P(y / gain) (normalised, deepinv's default) or P(y / gain)
/// (deepinv.physics.PoissonNoise). The input must be non-negative unless `clip_positive`, which
/// clips y / gain at 0 first; a negative input otherwise throws ValueError.
template <class T>
class PoissonNoise : public NoiseModel<T> {
 public:
  explicit PoissonNoise(T gain = T(1), bool normalize = true, bool clip_positive = false,
                        std::uint64_t seed = 0);
  std::string name() const override { return "PoissonNoise"; }
  T gain() const noexcept { return m_gain; }
  bool normalize() const noexcept { return m_normalize; }
  bool clip_positive() const noexcept { return m_clip; }
  void apply(const Tensor<T>& y, const RandomStream& stream,
             const ExecutionSpace& space) const override;

 private:
  T m_gain;
  bool m_normalize, m_clip;
};

/// Poisson-Gaussian noise y = gain * P(y / gain) + sigma * n, n ~ N(0, 1)
/// (deepinv.physics.PoissonGaussianNoise); the same input rules as PoissonNoise.
template <class T>
class PoissonGaussianNoise : public NoiseModel<T> {
 public:
  explicit PoissonGaussianNoise(T gain = T(1), T sigma = T(0.1), bool clip_positive = false,
                                std::uint64_t seed = 0);
  std::string name() const override { return "PoissonGaussianNoise"; }
  T gain() const noexcept { return m_gain; }
  T sigma() const noexcept { return m_sigma; }
  void apply(const Tensor<T>& y, const RandomStream& stream,
             const ExecutionSpace& space) const override;

 private:
  T m_gain, m_sigma;
  bool m_clip;
};

/// Uniform noise y + e, e ~ U(-a, a) (deepinv.physics.UniformNoise).
template <class T>
class UniformNoise : public NoiseModel<T> {
 public:
  explicit UniformNoise(T a = T(0.1), std::uint64_t seed = 0);
  std::string name() const override { return "UniformNoise"; }
  T a() const noexcept { return m_a; }
  void apply(const Tensor<T>& y, const RandomStream& stream,
             const ExecutionSpace& space) const override;

 private:
  T m_a;
};

/// y <- S(y), in place: what the sensor records of the noisy measurement.
template <class T>
class SensorModel {
 public:
  virtual ~SensorModel() = default;
  virtual std::string name() const = 0;
  virtual void apply(const Tensor<T>& y, const ExecutionSpace& space) const = 0;
};

/// Clips every value to [lo, hi] (a saturating sensor).
template <class T>
class ClipSensor : public SensorModel<T> {
 public:
  ClipSensor(T lo, T hi);
  std::string name() const override { return "ClipSensor"; }
  void apply(const Tensor<T>& y, const ExecutionSpace& space) const override;

 private:
  T m_lo, m_hi;
};

/// Quantises to `levels` evenly spaced values over [lo, hi] (an ADC of log2(levels) bits):
/// y <- lo + step * round((clip(y, lo, hi) - lo) / step), step = (hi - lo) / (levels - 1),
/// halves rounded up.
template <class T>
class QuantizeSensor : public SensorModel<T> {
 public:
  QuantizeSensor(T lo, T hi, std::int64_t levels);
  std::string name() const override { return "QuantizeSensor"; }
  T step() const noexcept { return m_step; }
  void apply(const Tensor<T>& y, const ExecutionSpace& space) const override;

 private:
  T m_lo, m_hi, m_step;
  std::int64_t m_levels;
};

extern template class GaussianNoise<float>;
extern template class GaussianNoise<double>;
extern template class ClipSensor<float>;
extern template class ClipSensor<double>;
extern template class PoissonNoise<float>;
extern template class PoissonNoise<double>;
extern template class PoissonGaussianNoise<float>;
extern template class PoissonGaussianNoise<double>;
extern template class UniformNoise<float>;
extern template class UniformNoise<double>;
extern template class QuantizeSensor<float>;
extern template class QuantizeSensor<double>;

}  // namespace kinv
