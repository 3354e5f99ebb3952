// The FFT machinery shared by BlurFFT and Blur's FFT path: the filter's spectra on an (H, W)
// grid, a complex work buffer and the plans, reused while the input shape stays the same.
#pragma once

#include <kinv/fft/fft.hpp>

#include <cstdint>
#include <mutex>

namespace kinv {
namespace impl {

/// A circular convolution y = k * x (or its adjoint, a circular correlation) through FFTs, for
/// x of shape (B, C, H, W) and a filter of shape (b, c, h, w), b in {1, B}, c in {1, C}. Taps
/// beyond the grid (h > H or w > W) fold onto it, as periodic padding folds them.
///
/// Real-to-complex transforms read the input planes where they are and write half spectra
/// (H (W / 2 + 1) values per plane) to a work buffer; one pass multiplies them by the filter's
/// half spectra (1 / (H W) folded in); complex-to-real transforms write the result planes
/// straight to the output (to a real scratch buffer first when accumulating). The buffers are
/// kept while the batch fits, so a steady state allocates nothing.
///
/// apply() holds a mutex: concurrent calls on one engine are serialised, not raced.
template <class T>
class BlurFFTEngine {
 public:
  /// Computes the filter's spectra for (H, W) grids (on `space`, fenced).
  void prepare(const ExecutionSpace& space, const Tensor<T>& filter, std::int64_t H,
               std::int64_t W);
  /// out (+)= A in (adjoint = false) or A^T in (true); recomputes the spectra first when in's
  /// grid differs from the prepared one. Grows the work buffers when the batch needs more.
  void apply(const char* label, const ExecutionSpace& space, const Tensor<T>& filter,
             const Tensor<T>& in, const Tensor<T>& out, bool adjoint, bool accumulate);

 private:
  void prepare_locked(const ExecutionSpace& space, const Tensor<T>& filter, std::int64_t H,
                      std::int64_t W);

  std::mutex m_mutex;
  std::int64_t m_H = -1, m_W = -1;
  // Half spectra of the (b, c) filter planes, scaled by 1 / (H W): b * c grids of H (W / 2 + 1).
  fft::ComplexView<T> m_spectra;
  fft::ComplexView<T> m_work;           // half spectra of the input planes
  Kokkos::View<T*, MemorySpace> m_sum;  // the result before it is added (accumulate only)
  fft::PlanCache<T> m_plans;
};

extern template class BlurFFTEngine<float>;
extern template class BlurFFTEngine<double>;

}  // namespace impl
}  // namespace kinv
