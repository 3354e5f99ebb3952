// Decolorize: colour to grey by a spectral response function (deepinv.physics.Decolorize).
#pragma once

#include <kinv/physics/physics.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kinv {

/// y(b, 0, ...) = sum_c srf(c) x(b, c, ...) for x of shape (B, C, ...) with C = channels(),
/// giving (B, 1, ...); A^T y (b, c, ...) = srf(c) y(b, 0, ...). The weights are deepinv's:
/// "rec601" (the default) is (0.4472, 0.8781, 0.1706) x 0.66851 for C = 3, "flat" (or
/// "average") is 1 / C each; a user SRF shorter than C is padded with zeros. deepinv computes
/// A as a decomposable operator (x * srf / |srf|, summed, times |srf|), equal to this up to
/// rounding.
template <class T>
class Decolorize : public LinearPhysics<T> {
 public:
  /// srf: "rec601", "flat" or "average"; anything else throws ValueError (as does "rec601"
  /// with channels < 3).
  explicit Decolorize(std::int64_t channels = 3, const std::string& srf = "rec601");
  /// A user SRF of length <= channels whose sum is 1 (within deepinv's relative 1e-4).
  Decolorize(std::int64_t channels, const std::vector<double>& srf);

  std::string name() const override { return "Decolorize"; }
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override;

  std::int64_t channels() const noexcept { return m_channels; }
  /// The weights, of shape (C).
  const Tensor<T>& srf() const noexcept { return m_srf; }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;

 private:
  void init(std::vector<double> srf);
  std::int64_t m_channels;
  Tensor<T> m_srf;
};

extern template class Decolorize<float>;
extern template class Decolorize<double>;

}  // namespace kinv
