// SparseMatrixPhysics: y = A x for a user's sparse matrix in CRS form (e.g. a precomputed CT
// system matrix), applied with KokkosSparse::spmv. deepinv has no such class; it is kinv's own.
#pragma once

#include <kinv/physics/physics.hpp>

#include <KokkosSparse_CrsMatrix.hpp>

#include <cstdint>
#include <vector>

namespace kinv {

/// Host CRS arrays: row i holds entries[row_map[i] .. row_map[i+1]) with their values.
template <class T>
struct CrsArrays {
  std::vector<std::int64_t> row_map;  ///< num_rows + 1 offsets, from 0 to nnz, non-decreasing
  std::vector<std::int64_t> entries;  ///< column index of each stored value
  std::vector<T> values;
};

/// Host COO triplets: A(rows[k], cols[k]) += values[k]; duplicates are summed (as scipy does).
template <class T>
struct CooArrays {
  std::vector<std::int64_t> rows;
  std::vector<std::int64_t> cols;
  std::vector<T> values;
};

/// y = A x with A of size prod(out_shape) x prod(in_shape): x of shape (B, *in_shape) is
/// flattened per batch entry, y has shape (B, *out_shape). A x is KokkosSparse::spmv.
///
/// A^T y is a gather, not spmv("T"): at construction the class records A's structure by column
/// (for each column, its entries' rows and their positions in A's values, rows ascending), and
/// each x_j is then summed by one thread over column j in that order. The adjoint uses no
/// atomics, so it is bitwise the same on every backend and thread count; it reads A's values at
/// every call, so values changed in a device matrix after construction are seen by both A and
/// A^T. The column structure costs 2 ints per stored entry and one per column.
///
/// The matrix type uses int column indices and int row offsets: both Kokkos Kernels 3.4
/// (Debian's Trilinos) and 4.x instantiate them, and they bound the matrix to 2^31 - 1
/// rows, columns and stored entries. Every constructor validates the matrix and throws
/// kinv::ValueError when it is inconsistent.
template <class T>
class SparseMatrixPhysics : public LinearPhysics<T> {
 public:
  using ordinal_type = int;
  using size_type = int;
  using device_type = Kokkos::Device<ExecutionSpace, MemorySpace>;
  using matrix_type = KokkosSparse::CrsMatrix<T, ordinal_type, device_type, void, size_type>;

  /// A device matrix, kept by reference (not copied).
  SparseMatrixPhysics(const matrix_type& matrix, const Shape& in_shape, const Shape& out_shape);
  /// A matrix from host CRS arrays (copied to the device).
  SparseMatrixPhysics(const CrsArrays<T>& crs, const Shape& in_shape, const Shape& out_shape);
  /// A matrix from host COO triplets in any order, duplicates summed (copied to the device).
  SparseMatrixPhysics(const CooArrays<T>& coo, const Shape& in_shape, const Shape& out_shape);

  std::string name() const override { return "SparseMatrixPhysics"; }
  double cost_estimate() const override;
  Shape output_shape(const Shape& input) const override;
  Shape input_shape(const Shape& output) const override;

  const matrix_type& matrix() const noexcept { return m_matrix; }
  const Shape& in_shape() const noexcept { return m_in_shape; }
  const Shape& out_shape() const noexcept { return m_out_shape; }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override;
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool accumulate) const override;

 private:
  void check_shapes();
  void validate_matrix();
  void upload(const CrsArrays<T>& crs);
  void build_columns(const size_type* row_map, const ordinal_type* entries);

  matrix_type m_matrix;
  Shape m_in_shape, m_out_shape;
  // A by column: column j's entries are m_col_rows / m_col_pos[m_col_map[j] .. m_col_map[j+1]),
  // holding each entry's row and its index in m_matrix.values, rows ascending.
  Kokkos::View<size_type*, MemorySpace> m_col_map;
  Kokkos::View<ordinal_type*, MemorySpace> m_col_rows;
  Kokkos::View<size_type*, MemorySpace> m_col_pos;
};

extern template class SparseMatrixPhysics<float>;
extern template class SparseMatrixPhysics<double>;

}  // namespace kinv
