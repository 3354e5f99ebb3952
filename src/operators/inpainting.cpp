#include <kinv/operators/impl/mask_functors.hpp>
#include <kinv/operators/inpainting.hpp>

namespace kinv {

namespace {
template <class T>
struct BernoulliMask {
  Kokkos::View<T*, MemorySpace> mask;
  RandomStream stream;
  double keep;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    mask(i) = uniform(stream, static_cast<std::uint64_t>(i)) < keep ? T(1) : T(0);
  }
};

/// x = y / m where m > 1e-5, else 0 (deepinv's DecomposablePhysics.A_dagger).
template <class T>
struct MaskPseudoInverse {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<const T*, MemorySpace> mask;
  Kokkos::View<T*, MemorySpace> x;
  impl::MaskBroadcast b;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const T m = mask(b.mask_index(i));
    x(i) = m > T(1e-5) ? y(i) / m : T(0);
  }
};
}  // namespace

template <class T>
Inpainting<T>::Inpainting(const Tensor<T>& mask) : m_mask(mask) {
  if (mask.rank() == 0 || mask.size() == 0)
    throw ValueError("Inpainting: the mask is empty (shape " + mask.shape().to_string() + ")");
}

template <class T>
Inpainting<T>::Inpainting(const Shape& img_size, double keep_ratio, std::uint64_t seed,
                          bool pixelwise) {
  if (!(keep_ratio >= 0.0 && keep_ratio <= 1.0))
    throw ValueError("Inpainting: keep_ratio must be in [0, 1], got " + std::to_string(keep_ratio));
  if (img_size.rank() < 1 || img_size.size() == 0)
    throw ValueError("Inpainting: img_size " + img_size.to_string() + " is empty");
  Shape ms = img_size;
  if (pixelwise && img_size.rank() >= 3) ms = img_size.with(0, 1);
  m_mask = Tensor<T>::uninitialized("kinv::Inpainting::mask", ms);
  RandomStream s;
  s.seed = seed;
  Kokkos::parallel_for("kinv::Inpainting::random_mask",
                       impl::range(this->execution_space(), ms.size()),
                       BernoulliMask<T>{m_mask.view(), s, keep_ratio});
}

template <class T>
Shape Inpainting<T>::output_shape(const Shape& input) const {
  impl::MaskBroadcast b;
  if (!impl::make_mask_broadcast(m_mask.shape(), input, b))
    this->shape_error(
        "input shape (the mask " + m_mask.shape().to_string() + " must broadcast to it)",
        m_mask.shape(), input);
  return input;
}

template <class T>
void Inpainting<T>::multiply(const char* label, const Tensor<T>& in, const Tensor<T>& out,
                             bool accumulate) const {
  impl::MaskBroadcast b;
  impl::make_mask_broadcast(m_mask.shape(), in.shape(), b);
  impl::mask_multiply(label, this->execution_space(), in, m_mask, out, b, accumulate);
}

template <class T>
void Inpainting<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  multiply("kinv::Inpainting::A", x, y, false);
}

template <class T>
void Inpainting<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const {
  multiply("kinv::Inpainting::A_adjoint", y, x, accumulate);
}

template <class T>
void Inpainting<T>::apply_noise(const Tensor<T>& y, const RandomStream& stream) const {
  LinearPhysics<T>::apply_noise(y, stream);
  // Masked entries stay zero after noise, as in deepinv.
  impl::MaskBroadcast b;
  impl::make_mask_broadcast(m_mask.shape(), y.shape(), b);
  impl::mask_multiply("kinv::Inpainting::mask_noise", this->execution_space(), y, m_mask, y, b,
                      false);
}

template <class T>
Tensor<T> Inpainting<T>::A_dagger(const Tensor<T>& y, const LeastSquaresOptions& o) const {
  const Shape xs = input_shape(y.shape());
  auto x = Tensor<T>::uninitialized("kinv::Inpainting::A_dagger", xs);
  impl::MaskBroadcast b;
  impl::make_mask_broadcast(m_mask.shape(), xs, b);
  Kokkos::parallel_for("kinv::Inpainting::A_dagger", impl::range(this->execution_space(), y.size()),
                       MaskPseudoInverse<T>{y.view(), m_mask.view(), x.view(), b});
  if (o.info) *o.info = SolverInfo{0, true, 0.0, {}};
  return x;
}

template class Inpainting<float>;
template class Inpainting<double>;

}  // namespace kinv
