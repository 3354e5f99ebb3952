#include <kinv/operators/sparse_matrix.hpp>

// Kokkos Kernels 3.4's transpose spmv functor trips GCC's -Wmaybe-uninitialized on a member it
// sets before use. The warning is reported at the header's lines, so the pragma must come
// before the include (and, being raised after parsing, it cannot be popped afterwards).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <KokkosSparse_spmv.hpp>

#include <algorithm>
#include <limits>
#include <numeric>

namespace kinv {

namespace {
constexpr std::int64_t int_max = std::numeric_limits<int>::max();
}  // namespace

template <class T>
SparseMatrixPhysics<T>::SparseMatrixPhysics(const matrix_type& matrix, const Shape& in_shape,
                                            const Shape& out_shape)
    : m_matrix(matrix), m_in_shape(in_shape), m_out_shape(out_shape) {
  check_shapes();
  validate_matrix();
}

template <class T>
SparseMatrixPhysics<T>::SparseMatrixPhysics(const CrsArrays<T>& crs, const Shape& in_shape,
                                            const Shape& out_shape)
    : m_in_shape(in_shape), m_out_shape(out_shape) {
  check_shapes();
  const std::int64_t rows = out_shape.size(), cols = in_shape.size();
  if (static_cast<std::int64_t>(crs.row_map.size()) != rows + 1)
    this->value_error("row_map must have prod(out_shape) + 1 = " + std::to_string(rows + 1) +
                      " entries, got " + std::to_string(crs.row_map.size()));
  if (crs.row_map.front() != 0)
    this->value_error("row_map[0] must be 0, got " + std::to_string(crs.row_map.front()));
  for (std::int64_t i = 0; i < rows; ++i)
    if (crs.row_map[i + 1] < crs.row_map[i])
      this->value_error("row_map must be non-decreasing, but row_map[" + std::to_string(i + 1) +
                        "] = " + std::to_string(crs.row_map[i + 1]) + " < row_map[" +
                        std::to_string(i) + "] = " + std::to_string(crs.row_map[i]));
  const std::int64_t nnz = crs.row_map.back();
  if (static_cast<std::int64_t>(crs.entries.size()) != nnz ||
      static_cast<std::int64_t>(crs.values.size()) != nnz)
    this->value_error("row_map ends at nnz = " + std::to_string(nnz) + ", but entries has " +
                      std::to_string(crs.entries.size()) + " and values " +
                      std::to_string(crs.values.size()) + " elements");
  for (std::size_t k = 0; k < crs.entries.size(); ++k)
    if (crs.entries[k] < 0 || crs.entries[k] >= cols)
      this->value_error("column index entries[" + std::to_string(k) +
                        "] = " + std::to_string(crs.entries[k]) +
                        " is outside [0, prod(in_shape) = " + std::to_string(cols) + ")");
  upload(crs);
}

template <class T>
SparseMatrixPhysics<T>::SparseMatrixPhysics(const CooArrays<T>& coo, const Shape& in_shape,
                                            const Shape& out_shape)
    : m_in_shape(in_shape), m_out_shape(out_shape) {
  check_shapes();
  const std::int64_t rows = out_shape.size(), cols = in_shape.size();
  const std::size_t n = coo.values.size();
  if (coo.rows.size() != n || coo.cols.size() != n)
    this->value_error("COO arrays must have equal lengths, got rows " +
                      std::to_string(coo.rows.size()) + ", cols " +
                      std::to_string(coo.cols.size()) + ", values " + std::to_string(n));
  for (std::size_t k = 0; k < n; ++k) {
    if (coo.rows[k] < 0 || coo.rows[k] >= rows)
      this->value_error("row index rows[" + std::to_string(k) +
                        "] = " + std::to_string(coo.rows[k]) +
                        " is outside [0, prod(out_shape) = " + std::to_string(rows) + ")");
    if (coo.cols[k] < 0 || coo.cols[k] >= cols)
      this->value_error("column index cols[" + std::to_string(k) +
                        "] = " + std::to_string(coo.cols[k]) +
                        " is outside [0, prod(in_shape) = " + std::to_string(cols) + ")");
  }
  // Sort by (row, column), stable so that duplicates are summed in input order.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return coo.rows[a] != coo.rows[b] ? coo.rows[a] < coo.rows[b] : coo.cols[a] < coo.cols[b];
  });
  CrsArrays<T> crs;
  crs.row_map.assign(static_cast<std::size_t>(rows + 1), 0);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t j = order[k];
    if (k > 0 && coo.rows[j] == coo.rows[order[k - 1]] && coo.cols[j] == coo.cols[order[k - 1]]) {
      crs.values.back() += coo.values[j];
      continue;
    }
    crs.entries.push_back(coo.cols[j]);
    crs.values.push_back(coo.values[j]);
    ++crs.row_map[static_cast<std::size_t>(coo.rows[j]) + 1];
  }
  for (std::int64_t i = 0; i < rows; ++i) crs.row_map[i + 1] += crs.row_map[i];
  upload(crs);
}

template <class T>
void SparseMatrixPhysics<T>::check_shapes() {
  for (const Shape* s : {&m_in_shape, &m_out_shape})
    if (s->rank() < 1 || s->size() == 0)
      this->value_error(std::string(s == &m_in_shape ? "in_shape " : "out_shape ") +
                        s->to_string() + " must be non-empty");
  if (m_in_shape.size() > int_max || m_out_shape.size() > int_max)
    this->value_error("the matrix " + std::to_string(m_out_shape.size()) + " x " +
                      std::to_string(m_in_shape.size()) + " exceeds int indices");
}

template <class T>
void SparseMatrixPhysics<T>::upload(const CrsArrays<T>& crs) {
  const std::int64_t rows = m_out_shape.size(), cols = m_in_shape.size();
  const std::int64_t nnz = static_cast<std::int64_t>(crs.values.size());
  if (nnz > int_max) this->value_error(std::to_string(nnz) + " stored entries exceed int offsets");
  typename matrix_type::row_map_type::non_const_type row_map(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::SparseMatrixPhysics::row_map"),
      static_cast<std::size_t>(rows + 1));
  typename matrix_type::index_type::non_const_type entries(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::SparseMatrixPhysics::entries"),
      static_cast<std::size_t>(nnz));
  typename matrix_type::values_type values(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::SparseMatrixPhysics::values"),
      static_cast<std::size_t>(nnz));
  auto h_row_map = Kokkos::create_mirror_view(row_map);
  auto h_entries = Kokkos::create_mirror_view(entries);
  auto h_values = Kokkos::create_mirror_view(values);
  for (std::int64_t i = 0; i <= rows; ++i)
    h_row_map(i) = static_cast<size_type>(crs.row_map[static_cast<std::size_t>(i)]);
  for (std::int64_t k = 0; k < nnz; ++k) {
    h_entries(k) = static_cast<ordinal_type>(crs.entries[static_cast<std::size_t>(k)]);
    h_values(k) = crs.values[static_cast<std::size_t>(k)];
  }
  Kokkos::deep_copy(row_map, h_row_map);
  Kokkos::deep_copy(entries, h_entries);
  Kokkos::deep_copy(values, h_values);
  m_matrix = matrix_type("kinv::SparseMatrixPhysics::matrix", static_cast<ordinal_type>(rows),
                         static_cast<ordinal_type>(cols), static_cast<size_type>(nnz), values,
                         row_map, entries);
}

template <class T>
void SparseMatrixPhysics<T>::validate_matrix() const {
  const std::int64_t rows = m_out_shape.size(), cols = m_in_shape.size();
  const auto& rm = m_matrix.graph.row_map;
  const auto& ent = m_matrix.graph.entries;
  if (static_cast<std::int64_t>(m_matrix.numRows()) != rows ||
      static_cast<std::int64_t>(rm.extent(0)) != rows + 1)
    this->value_error("the matrix has " + std::to_string(m_matrix.numRows()) +
                      " rows (row_map of " + std::to_string(rm.extent(0)) +
                      " entries), expected prod(out_shape) = " + std::to_string(rows));
  if (static_cast<std::int64_t>(m_matrix.numCols()) != cols)
    this->value_error("the matrix has " + std::to_string(m_matrix.numCols()) +
                      " columns, expected prod(in_shape) = " + std::to_string(cols));
  if (m_matrix.values.extent(0) != ent.extent(0))
    this->value_error("the matrix has " + std::to_string(ent.extent(0)) + " column indices but " +
                      std::to_string(m_matrix.values.extent(0)) + " values");
  // One pass on the host at construction: the arrays are small next to their use.
  const auto h_rm = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), rm);
  const auto h_ent = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ent);
  const std::int64_t nnz = static_cast<std::int64_t>(ent.extent(0));
  if (h_rm(0) != 0 || static_cast<std::int64_t>(h_rm(rows)) != nnz)
    this->value_error("row_map must run from 0 to nnz = " + std::to_string(nnz) + ", got " +
                      std::to_string(h_rm(0)) + " to " + std::to_string(h_rm(rows)));
  for (std::int64_t i = 0; i < rows; ++i)
    if (h_rm(i + 1) < h_rm(i))
      this->value_error("row_map must be non-decreasing, but row_map[" + std::to_string(i + 1) +
                        "] = " + std::to_string(h_rm(i + 1)) + " < row_map[" + std::to_string(i) +
                        "] = " + std::to_string(h_rm(i)));
  for (std::int64_t k = 0; k < nnz; ++k)
    if (h_ent(k) < 0 || h_ent(k) >= cols)
      this->value_error("column index entries[" + std::to_string(k) + "] = " +
                        std::to_string(h_ent(k)) + " is outside [0, " + std::to_string(cols) + ")");
}

template <class T>
Shape SparseMatrixPhysics<T>::output_shape(const Shape& input) const {
  if (!input.tail_equals(m_in_shape))
    this->shape_error("input shape (B, *in_shape)",
                      m_in_shape.prepend(input.rank() > 0 ? input[0] : 1), input);
  return m_out_shape.prepend(input[0]);
}

template <class T>
Shape SparseMatrixPhysics<T>::input_shape(const Shape& output) const {
  if (!output.tail_equals(m_out_shape))
    this->shape_error("measurement shape (B, *out_shape)",
                      m_out_shape.prepend(output.rank() > 0 ? output[0] : 1), output);
  return m_in_shape.prepend(output[0]);
}

// A row-major (B, len) batch is a column-major (len, B) multivector: one spmv for the batch.
template <class T>
void SparseMatrixPhysics<T>::apply_A(const Tensor<T>& x, const Tensor<T>& y) const {
  using ConstMulti = Kokkos::View<const T**, Kokkos::LayoutLeft, device_type,
                                  Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using Multi =
      Kokkos::View<T**, Kokkos::LayoutLeft, device_type, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  const std::int64_t b = x.extent(0);
  if (b == 0) return;
  const auto& space = this->execution_space();
  (void)space;
  KokkosSparse::spmv(KINV_KK_SPACE(space) "N", T(1), m_matrix,
                     ConstMulti(x.data(), m_in_shape.size(), b), T(0),
                     Multi(y.data(), m_out_shape.size(), b));
}

template <class T>
void SparseMatrixPhysics<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x,
                                             bool accumulate) const {
  using ConstMulti = Kokkos::View<const T**, Kokkos::LayoutLeft, device_type,
                                  Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using Multi =
      Kokkos::View<T**, Kokkos::LayoutLeft, device_type, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  const std::int64_t b = y.extent(0);
  if (b == 0) return;
  const auto& space = this->execution_space();
  const Multi xm(x.data(), m_in_shape.size(), b);
  // Kokkos Kernels 3.4's transpose spmv scales x by beta = 0 with a multiplication, so NaN or
  // Inf left in an uninitialised output would survive: zero it here and accumulate.
  if (!accumulate) Kokkos::deep_copy(space, xm, T(0));
  KokkosSparse::spmv(KINV_KK_SPACE(space) "T", T(1), m_matrix,
                     ConstMulti(y.data(), m_out_shape.size(), b), T(1), xm);
}

template <class T>
double SparseMatrixPhysics<T>::cost_estimate() const {
  const auto n = static_cast<double>(m_in_shape.size());
  return n > 0 ? static_cast<double>(m_matrix.nnz()) / n : 1.0;
}

template class SparseMatrixPhysics<float>;
template class SparseMatrixPhysics<double>;

}  // namespace kinv
