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

extern template class GaussianNoise<float>;
extern template class GaussianNoise<double>;
extern template class ClipSensor<float>;
extern template class ClipSensor<double>;

}  // namespace kinv
