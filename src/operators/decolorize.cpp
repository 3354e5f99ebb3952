#include <kinv/operators/decolorize.hpp>
#include <kinv/operators/impl/pointwise_functors.hpp>

#include <cmath>
#include <sstream>
#include <type_traits>

namespace kinv {

namespace {
// The number of elements after the channel axis.
std::int64_t pixels(const Shape& s) {
  std::int64_t p = 1;
  for (int d = 2; d < s.rank(); ++d) p *= s[d];
  return p;
}
}  // namespace

template <class T>
Decolorize<T>::Decolorize(std::int64_t channels, const std::string& srf) : m_channels(channels) {
  if (channels < 1) this->value_error("channels must be >= 1, got " + std::to_string(channels));
  std::vector<double> w;
  if (srf == "rec601") {
    // deepinv's rec601 weights.
    w = {0.4472 * 0.66851, 0.8781 * 0.66851, 0.1706 * 0.66851};
  } else if (srf == "flat" || srf == "average") {
    w.assign(static_cast<std::size_t>(channels), 1.0 / static_cast<double>(channels));
  } else {
    this->value_error("srf '" + srf +
                      "' is not one of 'rec601', 'flat' or 'average' (or pass "
                      "the weights)");
  }
  init(std::move(w));
}

template <class T>
Decolorize<T>::Decolorize(std::int64_t channels, const std::vector<double>& srf)
    : m_channels(channels) {
  if (channels < 1) this->value_error("channels must be >= 1, got " + std::to_string(channels));
  init(srf);
}

template <class T>
void Decolorize<T>::init(std::vector<double> w) {
  const auto C = static_cast<std::size_t>(m_channels);
  if (w.empty()) this->value_error("the srf is empty");
  if (w.size() > C)
    this->value_error("the srf has " + std::to_string(w.size()) + " weights, more than the " +
                      std::to_string(m_channels) + " channels");
  double sum = 0.0;
  for (double v : w) {
    if (!std::isfinite(v)) this->value_error("the srf has a non-finite weight");
    sum += v;
  }
  // deepinv asserts torch.allclose(srf.sum(), 1, rtol=1e-4) (atol 1e-8).
  if (!(std::fabs(sum - 1.0) <= 1e-8 + 1e-4)) {
    std::ostringstream s;
    s.precision(17);
    s << "the srf must sum to 1 (within 1e-4), its sum is " << sum;
    this->value_error(s.str());
  }
  w.resize(C, 0.0);  // zeros for the missing channels, as deepinv pads
  std::vector<T> wt(C);
  for (std::size_t c = 0; c < C; ++c) wt[c] = static_cast<T>(w[c]);
  m_srf = from_vector<T>("kinv::Decolorize::srf", Shape{m_channels}, wt);
}

template <class T>
Shape Decolorize<T>::output_shape(const Shape& input) const {
  if (input.rank() < 2 || input[1] != m_channels)
    throw ShapeError(
        name() + ": input shape (" + std::to_string(m_channels) + " channels on axis 1)",
        "(B, " + std::to_string(m_channels) + ", ...)", input.to_string(), this->index());
  return input.with(1, 1);
}

template <class T>
Shape Decolorize<T>::input_shape(const Shape& output) const {
  if (output.rank() < 2 || output[1] != 1)
    throw ShapeError(name() + ": output shape (one grey channel on axis 1)", "(B, 1, ...)",
                     output.to_string(), this->index());
  return output.with(1, m_channels);
}

namespace {
// Host backends run the block kernels (no division per element, vectorised); GPUs keep one
// thread per element, which coalesces. The choice is `if constexpr (runs_on_host)`, so a device
// build does not use blocks_of.
[[maybe_unused]] std::int64_t blocks_of(std::int64_t P) {
  return (P + impl::channel_block - 1) / impl::channel_block;
}

// Calls f(std::integral_constant<int, C>) when C is a channel count the single-pass host
// kernels take; false otherwise.
template <class F>
bool with_fused_channels(std::int64_t C, F&& f) {
  static_assert(impl::fused_channels == 4, "one case per channel count");
  switch (C) {
    case 1:
      f(std::integral_constant<int, 1>{});
      return true;
    case 2:
      f(std::integral_constant<int, 2>{});
      return true;
    case 3:
      f(std::integral_constant<int, 3>{});
      return true;
    case 4:
      f(std::integral_constant<int, 4>{});
      return true;
    default:
      return false;
  }
}
}  // namespace

template <class T>
void Decolorize<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  const std::int64_t P = pixels(x.shape());
  const ExecutionSpace& space = this->execution_space();
  if constexpr (runs_on_host) {
    if (P > 0) {
      const std::int64_t blocks = blocks_of(P);
      const auto policy = impl::range(space, (y.size() / P) * blocks);
      if (with_fused_channels(m_channels, [&](auto nc) {
            Kokkos::parallel_for("kinv::Decolorize::A", policy,
                                 impl::ChannelWeightedSumFused<T, decltype(nc)::value>{
                                     x.view(), m_srf.view(), y.view(), P, blocks});
          }))
        return;
      Kokkos::parallel_for("kinv::Decolorize::A", policy,
                           impl::ChannelWeightedSumBlocks<T>{x.view(), m_srf.view(), y.view(),
                                                             m_channels, P, blocks});
      return;
    }
  }
  Kokkos::parallel_for(
      "kinv::Decolorize::A", impl::range(space, y.size()),
      impl::ChannelWeightedSum<T>{x.view(), m_srf.view(), y.view(), m_channels, P});
}

template <class T>
void Decolorize<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const {
  const std::int64_t P = pixels(y.shape());
  const ExecutionSpace& space = this->execution_space();
  if constexpr (runs_on_host) {
    if (P > 0) {
      const std::int64_t blocks = blocks_of(P);
      const auto policy = impl::range(space, (y.size() / P) * blocks);
      if (with_fused_channels(m_channels, [&](auto nc) {
            constexpr int NC = decltype(nc)::value;
            if (accumulate)
              Kokkos::parallel_for("kinv::Decolorize::A_adjoint", policy,
                                   impl::ChannelBroadcastFused<T, NC, true>{y.view(), m_srf.view(),
                                                                            x.view(), P, blocks});
            else
              Kokkos::parallel_for("kinv::Decolorize::A_adjoint", policy,
                                   impl::ChannelBroadcastFused<T, NC, false>{y.view(), m_srf.view(),
                                                                             x.view(), P, blocks});
          }))
        return;
      if (accumulate)
        Kokkos::parallel_for("kinv::Decolorize::A_adjoint", policy,
                             impl::ChannelBroadcastBlocks<T, true>{y.view(), m_srf.view(), x.view(),
                                                                   m_channels, P, blocks});
      else
        Kokkos::parallel_for("kinv::Decolorize::A_adjoint", policy,
                             impl::ChannelBroadcastBlocks<T, false>{
                                 y.view(), m_srf.view(), x.view(), m_channels, P, blocks});
      return;
    }
  }
  const auto policy = impl::range(space, x.size());
  if (accumulate)
    Kokkos::parallel_for(
        "kinv::Decolorize::A_adjoint", policy,
        impl::ChannelBroadcast<T, true>{y.view(), m_srf.view(), x.view(), m_channels, P});
  else
    Kokkos::parallel_for(
        "kinv::Decolorize::A_adjoint", policy,
        impl::ChannelBroadcast<T, false>{y.view(), m_srf.view(), x.view(), m_channels, P});
}

template class Decolorize<float>;
template class Decolorize<double>;

}  // namespace kinv
