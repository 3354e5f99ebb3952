// CompressedSensing: y = A x with a dense random Gaussian matrix
// (deepinv.physics.CompressedSensing), generated on the device from the counter-based RNG and
// applied with Kokkos Kernels BLAS.
#pragma once

#include <kinv/physics/physics.hpp>

#include <cstdint>

namespace kinv {

/// y = A x for x of shape (B, *img_size), flattened per batch entry; y has shape (B, m).
///
/// A is m x n with i.i.d. entries N(0, 1/m) and n = prod(img_size), as in deepinv. With
/// `channelwise`, every channel is measured by the same m x (prod(img_size[1:])) matrix and y has
/// shape (B, C, m). The matrix is a pure function of `seed`: it is the same on every rank, every
/// backend and every thread count (it is not deepinv's torch.randn draw). A^T is the exact
/// transpose. Batches of more than one signal go through one gemm, single signals through gemv.
template <class T>
class CompressedSensing : public LinearPhysics<T> {
 public:
  /// A random operator with m >= 1 measurements for signals of shape img_size (e.g. (C, H, W)).
  CompressedSensing(std::int64_t m, const Shape& img_size, std::uint64_t seed = 0,
                    bool channelwise = false);
  /// A given m x n matrix (row-major, shape (m, n)), e.g. deepinv's `_A`; kept by reference.
  CompressedSensing(const Tensor<T>& matrix, const Shape& img_size, bool channelwise = false);

  std::string name() const override { return "CompressedSensing"; }
  double cost_estimate() const override { return static_cast<double>(m_m); }
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override;

  /// The matrix A, shape (m, n), row-major.
  const Tensor<T>& matrix() const noexcept { return m_matrix; }
  std::int64_t num_measurements() const noexcept { return m_m; }
  const Shape& img_size() const noexcept { return m_img_size; }
  bool channelwise() const noexcept { return m_channelwise; }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;

 private:
  void check_img_size();
  // Number of vectors the matrix multiplies for `batch` signals.
  std::int64_t columns(std::int64_t batch) const;

  Tensor<T> m_matrix;
  Shape m_img_size;
  std::int64_t m_m = 0, m_n = 0;
  bool m_channelwise = false;
};

extern template class CompressedSensing<float>;
extern template class CompressedSensing<double>;

}  // namespace kinv
