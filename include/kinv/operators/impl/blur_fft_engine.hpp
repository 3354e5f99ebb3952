// The FFT machinery shared by BlurFFT and Blur's FFT path: the filter's spectra on an (H, W)
// grid, a complex work buffer and the plans, reused while the input shape stays the same.
#pragma once

#include <kinv/fft/fft.hpp>

#include <cstdint>
#include <memory>
#include <mutex>

namespace kinv {
namespace impl {

/// What FFT convolutions on one execution space instance share: the plans, the complex work
/// buffer and the real scratch buffer. Work on one instance runs in order, so every engine
/// (every blur of a stack) on it can use the same buffers: a rank holding N FFT blurs keeps
/// one work buffer and one set of plans (with one cuFFT work area between them), not N. The
/// buffers grow to the largest batch asked for and are kept. Engines hold the workspace through
/// a shared_ptr; it goes when the last of them does.
template <class T>
struct FFTWorkspace {
  explicit FFTWorkspace(const ExecutionSpace& s) : space(s) {}
  /// The workspace of `space`'s instance (made on first use, shared while anyone holds it).
  static std::shared_ptr<FFTWorkspace> of(const ExecutionSpace& space);

  const ExecutionSpace space;
  std::mutex mutex;  // host threads calling engines on the same instance take turns
  fft::PlanCache<T> plans;
  fft::ComplexView<T> work;           // half spectra of the input planes
  Kokkos::View<T*, MemorySpace> sum;  // real scratch (accumulation, misaligned tensors)
};

/// A circular convolution y = k * x (or its adjoint, a circular correlation) through FFTs, for
/// x of shape (B, C, H, W) and a filter of shape (b, c, h, w), b in {1, B}, c in {1, C}. Taps
/// beyond the grid (h > H or w > W) fold onto it, as periodic padding folds them.
///
/// Real-to-complex transforms read the input planes where they are and write half spectra
/// (H (W / 2 + 1) values per plane) to a work buffer; one pass multiplies them by the filter's
/// half spectra (1 / (H W) folded in); complex-to-real transforms write the result planes
/// straight to the output (to a real scratch buffer first when accumulating). Planes go through
/// in chunks of at most kWorkPoints spectrum values (one plane when a plane has more), so the
/// work buffer of large images holds one plane, not the batch. The engine owns only the
/// filter's spectra: real ones (half the memory, and a cheaper product) when every filter plane
/// is even on the grid, as centred symmetric filters (Gaussians) are. Plans and buffers are its
/// instance's FFTWorkspace, kept while the chunk fits, so a steady state allocates nothing.
///
/// apply() holds the engine's mutex, then the workspace's: concurrent calls on one engine, or on
/// engines of one instance, are serialised, not raced.
template <class T>
class BlurFFTEngine {
 public:
  /// Spectrum values per chunk of planes (128 Ki: 1 MiB of complex floats); a plane with more
  /// goes alone.
  static constexpr std::int64_t kWorkPoints = std::int64_t(1) << 17;

  /// Computes the filter's spectra for (H, W) grids (on `space`, fenced).
  void prepare(const ExecutionSpace& space, const Tensor<T>& filter, std::int64_t H,
               std::int64_t W);
  /// out (+)= A in (adjoint = false) or A^T in (true); recomputes the spectra first when in's
  /// grid differs from the prepared one. Grows the work buffers when the batch needs more.
  void apply(const char* label, const ExecutionSpace& space, const Tensor<T>& filter,
             const Tensor<T>& in, const Tensor<T>& out, bool adjoint, bool accumulate);

 private:
  void prepare_locked(FFTWorkspace<T>& ws, const Tensor<T>& filter, std::int64_t H, std::int64_t W);
  /// The workspace of `space`'s instance (looked up again when the instance changes).
  FFTWorkspace<T>& workspace(const ExecutionSpace& space);

  std::mutex m_mutex;
  std::int64_t m_H = -1, m_W = -1;
  // Half spectra of the (b, c) filter planes, scaled by 1 / (H W): b * c grids of H (W / 2 + 1),
  // complex (m_spectra) or, when every plane is even, real (m_real_spectra; m_spectra empty).
  fft::ComplexView<T> m_spectra;
  Kokkos::View<T*, MemorySpace> m_real_spectra;
  std::shared_ptr<FFTWorkspace<T>> m_workspace;
};

extern template struct FFTWorkspace<float>;
extern template struct FFTWorkspace<double>;
extern template class BlurFFTEngine<float>;
extern template class BlurFFTEngine<double>;

}  // namespace impl
}  // namespace kinv
