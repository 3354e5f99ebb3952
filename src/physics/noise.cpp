#include <kinv/physics/noise.hpp>

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

}  // namespace

template <class T>
GaussianNoise<T>::GaussianNoise(T sigma, std::uint64_t seed) : NoiseModel<T>(seed), m_sigma(sigma) {
  if (!(sigma >= T(0)))
    throw ValueError("GaussianNoise: sigma must be >= 0, got " + std::to_string(sigma));
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

template class GaussianNoise<float>;
template class GaussianNoise<double>;
template class ClipSensor<float>;
template class ClipSensor<double>;

}  // namespace kinv
