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

namespace impl {

/// x(c, j) (+)= sum of A(i, j) y(c, i) over column j's stored entries, rows ascending: A^T y as a
/// gather, one work item per (batch entry c, column j), j fastest. No atomics, a fixed order.
template <class T, class Values, class Offset, class Ordinal, bool Accumulate>
struct SparseAdjointGather {
  Values values;                                  // A's values, in A's (row) order
  Kokkos::View<const Offset*, MemorySpace> map;   // column j: entries map(j) .. map(j + 1)
  Kokkos::View<const Ordinal*, MemorySpace> row;  // each entry's row
  Kokkos::View<const Offset*, MemorySpace> pos;   // each entry's index in values
  Kokkos::View<const T*, MemorySpace> y;          // (B, rows)
  Kokkos::View<T*, MemorySpace> x;                // (B, cols)
  std::int64_t rows, cols;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i) const {
    const std::int64_t c = i / cols, j = i - c * cols;
    const std::int64_t base = c * rows;
    T acc = T(0);
    for (Offset p = map(j); p < map(j + 1); ++p) acc += values(pos(p)) * y(base + row(p));
    if (Accumulate)
      x(i) += acc;
    else
      x(i) = acc;
  }
};

}  // namespace impl

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
  build_columns(h_row_map.data(), h_entries.data());
  Kokkos::deep_copy(row_map, h_row_map);
  Kokkos::deep_copy(entries, h_entries);
  Kokkos::deep_copy(values, h_values);
  m_matrix = matrix_type("kinv::SparseMatrixPhysics::matrix", static_cast<ordinal_type>(rows),
                         static_cast<ordinal_type>(cols), static_cast<size_type>(nnz), values,
                         row_map, entries);
}

template <class T>
void SparseMatrixPhysics<T>::validate_matrix() {
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
  build_columns(h_rm.data(), h_ent.data());
}

// A counting sort of the entries by column, rows visited in order: each column's entries come
// out with their rows ascending (and, within a row, in stored order).
template <class T>
void SparseMatrixPhysics<T>::build_columns(const size_type* row_map, const ordinal_type* entries) {
  const std::int64_t rows = m_out_shape.size(), cols = m_in_shape.size();
  const std::int64_t nnz = row_map[rows];
  m_col_map = Kokkos::View<size_type*, MemorySpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::SparseMatrixPhysics::col_map"),
      static_cast<std::size_t>(cols + 1));
  m_col_rows = Kokkos::View<ordinal_type*, MemorySpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::SparseMatrixPhysics::col_rows"),
      static_cast<std::size_t>(nnz));
  m_col_pos = Kokkos::View<size_type*, MemorySpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::SparseMatrixPhysics::col_pos"),
      static_cast<std::size_t>(nnz));
  auto h_map = Kokkos::create_mirror_view(m_col_map);
  auto h_rows = Kokkos::create_mirror_view(m_col_rows);
  auto h_pos = Kokkos::create_mirror_view(m_col_pos);
  for (std::int64_t j = 0; j <= cols; ++j) h_map(j) = 0;
  for (std::int64_t k = 0; k < nnz; ++k) ++h_map(entries[k] + 1);
  for (std::int64_t j = 0; j < cols; ++j) h_map(j + 1) += h_map(j);
  std::vector<size_type> next(h_map.data(), h_map.data() + cols);
  for (std::int64_t i = 0; i < rows; ++i)
    for (size_type k = row_map[i]; k < row_map[i + 1]; ++k) {
      const size_type p = next[static_cast<std::size_t>(entries[k])]++;
      h_rows(p) = static_cast<ordinal_type>(i);
      h_pos(p) = k;
    }
  Kokkos::deep_copy(m_col_map, h_map);
  Kokkos::deep_copy(m_col_rows, h_rows);
  Kokkos::deep_copy(m_col_pos, h_pos);
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
  const compat::KernelsOrder<ExecutionSpace> order(space);
  KokkosSparse::spmv(KINV_KK_SPACE(space) "N", T(1), m_matrix,
                     ConstMulti(x.data(), m_in_shape.size(), b), T(0),
                     Multi(y.data(), m_out_shape.size(), b));
}

template <class T>
void SparseMatrixPhysics<T>::apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x,
                                             bool accumulate) const {
  using Values = typename matrix_type::values_type::const_type;
  using Add = impl::SparseAdjointGather<T, Values, size_type, ordinal_type, true>;
  using Set = impl::SparseAdjointGather<T, Values, size_type, ordinal_type, false>;
  const std::int64_t rows = m_out_shape.size(), cols = m_in_shape.size();
  const auto policy = impl::range(this->execution_space(), x.size());
  // Set writes every output value, so NaN or Inf left in an uninitialised output cannot survive.
  if (accumulate)
    Kokkos::parallel_for(
        "kinv::SparseMatrixPhysics::A_adjoint", policy,
        Add{m_matrix.values, m_col_map, m_col_rows, m_col_pos, y.view(), x.view(), rows, cols});
  else
    Kokkos::parallel_for(
        "kinv::SparseMatrixPhysics::A_adjoint", policy,
        Set{m_matrix.values, m_col_map, m_col_rows, m_col_pos, y.view(), x.view(), rows, cols});
}

template <class T>
double SparseMatrixPhysics<T>::cost_estimate() const {
  const auto n = static_cast<double>(m_in_shape.size());
  return n > 0 ? static_cast<double>(m_matrix.nnz()) / n : 1.0;
}

template class SparseMatrixPhysics<float>;
template class SparseMatrixPhysics<double>;

}  // namespace kinv
