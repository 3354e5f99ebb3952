#include <kinv/operators/compressed_sensing.hpp>

#include <KokkosBlas2_gemv.hpp>
#include <KokkosBlas3_gemm.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace kinv {

namespace impl {
/// Fills a row-major m x n matrix with N(0, scale^2) entries: entry k = i * n + j is a pure
/// function of (stream, k), so any backend and thread count gives the same matrix.
template <class T>
struct GaussianMatrixFill {
  Kokkos::View<T*, MemorySpace> a;
  RandomStream stream;
  double scale;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t k) const {
    a(k) = static_cast<T>(standard_normal(stream, static_cast<std::uint64_t>(k)) * scale);
  }
};

// The matrix's stream is tagged so that it never coincides with a noise stream of the same seed
// (noise streams use the operator index here, which stays below 2^32 in practice).
constexpr std::uint64_t compressed_sensing_stream_tag = std::uint64_t(0x43534d41) << 32;  // "CSMA"
}  // namespace impl

template <class T>
CompressedSensing<T>::CompressedSensing(std::int64_t m, const Shape& img_size, std::uint64_t seed,
                                        bool channelwise)
    : m_img_size(img_size), m_m(m), m_channelwise(channelwise) {
  if (m < 1)
    this->value_error("the number of measurements m must be >= 1, got " + std::to_string(m));
  check_img_size();
  m_matrix = Tensor<T>::uninitialized("kinv::CompressedSensing::matrix", Shape{m_m, m_n});
  RandomStream s;
  s.seed = seed;
  s.operator_index = impl::compressed_sensing_stream_tag;
  Kokkos::parallel_for(
      "kinv::CompressedSensing::random_matrix",
      impl::range(this->execution_space(), m_matrix.size()),
      impl::GaussianMatrixFill<T>{m_matrix.view(), s, 1.0 / std::sqrt(static_cast<double>(m))});
}

template <class T>
CompressedSensing<T>::CompressedSensing(const Tensor<T>& matrix, const Shape& img_size,
                                        bool channelwise)
    : m_matrix(matrix), m_img_size(img_size), m_channelwise(channelwise) {
  if (matrix.rank() != 2 || matrix.extent(0) < 1)
    this->shape_error("matrix shape (m, n) with m >= 1", Shape{1, 1}, matrix.shape());
  m_m = matrix.extent(0);
  check_img_size();
  if (matrix.extent(1) != m_n)
    this->shape_error("matrix shape (m, n) for img_size " + img_size.to_string() +
                          (channelwise ? " (channelwise)" : ""),
                      Shape{m_m, m_n}, matrix.shape());
}

template <class T>
void CompressedSensing<T>::check_img_size() {
  const int min_rank = m_channelwise ? 2 : 1;
  if (m_img_size.rank() < min_rank || m_img_size.size() == 0)
    this->value_error("img_size " + m_img_size.to_string() + " must be non-empty" +
                      (m_channelwise ? " with a channel axis first, e.g. (C, H, W)" : ""));
  const std::int64_t n = m_channelwise ? m_img_size.size() / m_img_size[0] : m_img_size.size();
  // Kokkos Kernels indexes the matrix with int in places: keep both extents and m * n in range.
  if (m_m > std::numeric_limits<int>::max() || n > std::numeric_limits<int>::max() ||
      m_m > std::numeric_limits<std::int64_t>::max() / n)
    this->value_error("the matrix " + std::to_string(m_m) + " x " + std::to_string(n) +
                      " is too large");
  m_n = n;
}

template <class T>
std::int64_t CompressedSensing<T>::columns(std::int64_t batch) const {
  return m_channelwise ? batch * m_img_size[0] : batch;
}

template <class T>
Shape CompressedSensing<T>::output_shape(const Shape& input) const {
  if (!input.tail_equals(m_img_size))
    this->shape_error("input shape (B, *img_size)",
                      m_img_size.prepend(input.rank() > 0 ? input[0] : 1), input);
  if (m_channelwise) return Shape{input[0], m_img_size[0], m_m};
  return Shape{input[0], m_m};
}

template <class T>
Shape CompressedSensing<T>::input_shape(const Shape& output) const {
  const std::int64_t b = output.rank() > 0 ? output[0] : 1;
  if (m_channelwise) {
    if (output.rank() != 3 || output[1] != m_img_size[0] || output[2] != m_m)
      this->shape_error("measurement shape (B, C, m)", Shape{b, m_img_size[0], m_m}, output);
  } else if (output.rank() != 2 || output[1] != m_m) {
    this->shape_error("measurement shape (B, m)", Shape{b, m_m}, output);
  }
  return m_img_size.prepend(output[0]);
}

// Layout: the row-major m x n matrix is the column-major n x m matrix At = A^T, and a row-major
// (cols, len) batch is a column-major (len, cols) multivector, so Y = A X is At^T X and the
// adjoint X = A^T Y is At Y, all LayoutLeft (the layout Kokkos Kernels instantiates).
template <class T>
void CompressedSensing<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  using Matrix = Kokkos::View<const T**, Kokkos::LayoutLeft, MemorySpace,
                              Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using ConstMulti = Matrix;
  using Multi =
      Kokkos::View<T**, Kokkos::LayoutLeft, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using ConstVec = Kokkos::View<const T*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using Vec = Kokkos::View<T*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  const std::int64_t cols = columns(x.extent(0));
  if (cols == 0) return;
  const Matrix at(m_matrix.data(), m_n, m_m);
  const auto& space = this->execution_space();
  const compat::KernelsOrder<ExecutionSpace> order(space);
  if (cols == 1)
    KokkosBlas::gemv(KINV_KK_SPACE(space) "T", T(1), at, ConstVec(x.data(), m_n), T(0),
                     Vec(y.data(), m_m));
  else
    KokkosBlas::gemm(KINV_KK_SPACE(space) "T", "N", T(1), at, ConstMulti(x.data(), m_n, cols), T(0),
                     Multi(y.data(), m_m, cols));
}

template <class T>
void CompressedSensing<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x,
                                           bool accumulate) const {
  using Matrix = Kokkos::View<const T**, Kokkos::LayoutLeft, MemorySpace,
                              Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using ConstMulti = Matrix;
  using Multi =
      Kokkos::View<T**, Kokkos::LayoutLeft, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using ConstVec = Kokkos::View<const T*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using Vec = Kokkos::View<T*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  const std::int64_t cols = columns(y.extent(0));
  if (cols == 0) return;
  const Matrix at(m_matrix.data(), m_n, m_m);
  const T beta = accumulate ? T(1) : T(0);
  const auto& space = this->execution_space();
  const compat::KernelsOrder<ExecutionSpace> order(space);
  if (cols == 1)
    KokkosBlas::gemv(KINV_KK_SPACE(space) "N", T(1), at, ConstVec(y.data(), m_m), beta,
                     Vec(x.data(), m_n));
  else
    KokkosBlas::gemm(KINV_KK_SPACE(space) "N", "N", T(1), at, ConstMulti(y.data(), m_m, cols), beta,
                     Multi(x.data(), m_n, cols));
}

template class CompressedSensing<float>;
template class CompressedSensing<double>;

}  // namespace kinv
