// Level-1 BLAS on kinv tensors and tensor lists (dot, norm, axpby, scale, copies): the vector
// algebra the solvers in optim/solvers.hpp are written in. Kokkos Kernels does the work; its
// headers stay in src/optim/vector_ops.cpp, where float and double are instantiated.
#pragma once

#include <kinv/core/rng.hpp>
#include <kinv/core/tensor.hpp>

#include <cstdint>

namespace kinv {

// Every function here is deterministic: the same input gives the same bits on every MPI rank
// that runs the same Kokkos backend with the same number of threads, so ranks that run a
// solver redundantly take identical branches. Reductions (dot, norm2) fence and return to the
// host. Shapes must agree exactly (ShapeError otherwise); list lengths too.

/// <x, y>, the sum over all elements.
template <class T>
T dot(const Tensor<T>& x, const Tensor<T>& y);
/// sum_i <x_i, y_i>, summed over the list in index order.
template <class T>
T dot(const TensorList<T>& x, const TensorList<T>& y);

/// ||x||_2 over all elements.
template <class T>
T norm2(const Tensor<T>& x);
/// sqrt(sum_i ||x_i||^2).
template <class T>
T norm2(const TensorList<T>& x);

/// y = a x + b y (y may alias x). With b == 0, y's previous values are not read.
template <class T>
void axpby(T a, const Tensor<T>& x, T b, const Tensor<T>& y);
template <class T>
void axpby(T a, const TensorList<T>& x, T b, const TensorList<T>& y);

/// x *= a.
template <class T>
void scale(T a, const Tensor<T>& x);
template <class T>
void scale(T a, const TensorList<T>& x);

/// A new zero tensor of x's shape.
template <class T>
Tensor<T> zeros_like(const Tensor<T>& x);
/// A new list of zero tensors of x's shapes.
template <class T>
TensorList<T> zeros_like(const TensorList<T>& x);

/// A new list holding copies of x's tensors.
template <class T>
TensorList<T> clone(const TensorList<T>& x);

/// Copies src into dst element by element; lengths and shapes must agree.
template <class T>
void deep_copy(const TensorList<T>& dst, const TensorList<T>& src);

/// Total number of elements.
template <class T>
std::int64_t numel(const Tensor<T>& x) {
  return x.size();
}
template <class T>
std::int64_t numel(const TensorList<T>& x) {
  std::int64_t n = 0;
  for (const auto& t : x) n += t.size();
  return n;
}

/// Whether x and y have the same shape (for lists: same length and shapes).
template <class T>
bool same_shape(const Tensor<T>& x, const Tensor<T>& y) {
  return x.shape() == y.shape();
}
template <class T>
bool same_shape(const TensorList<T>& x, const TensorList<T>& y) {
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i].shape() != y[i].shape()) return false;
  return true;
}

/// Throws ShapeError naming `what` unless x and y have the same shape.
template <class T>
void check_same_shape(const char* what, const Tensor<T>& expected, const Tensor<T>& actual);
template <class T>
void check_same_shape(const char* what, const TensorList<T>& expected, const TensorList<T>& actual);

/// Fills x with standard normal samples: element i gets standard_normal(stream, i), so the
/// values depend on (stream, shape) only, not on the rank or backend that draws them.
template <class T>
void fill_standard_normal(const Tensor<T>& x, const RandomStream& stream);

#define KINV_OPTIM_VECTOR_OPS_EXTERN(T)                                                      \
  extern template T dot<T>(const Tensor<T>&, const Tensor<T>&);                              \
  extern template T dot<T>(const TensorList<T>&, const TensorList<T>&);                      \
  extern template T norm2<T>(const Tensor<T>&);                                              \
  extern template T norm2<T>(const TensorList<T>&);                                          \
  extern template void axpby<T>(T, const Tensor<T>&, T, const Tensor<T>&);                   \
  extern template void axpby<T>(T, const TensorList<T>&, T, const TensorList<T>&);           \
  extern template void scale<T>(T, const Tensor<T>&);                                        \
  extern template void scale<T>(T, const TensorList<T>&);                                    \
  extern template Tensor<T> zeros_like<T>(const Tensor<T>&);                                 \
  extern template TensorList<T> zeros_like<T>(const TensorList<T>&);                         \
  extern template TensorList<T> clone<T>(const TensorList<T>&);                              \
  extern template void deep_copy<T>(const TensorList<T>&, const TensorList<T>&);             \
  extern template void check_same_shape<T>(const char*, const Tensor<T>&, const Tensor<T>&); \
  extern template void check_same_shape<T>(const char*, const TensorList<T>&,                \
                                           const TensorList<T>&);                            \
  extern template void fill_standard_normal<T>(const Tensor<T>&, const RandomStream&);

KINV_OPTIM_VECTOR_OPS_EXTERN(float)
KINV_OPTIM_VECTOR_OPS_EXTERN(double)
#undef KINV_OPTIM_VECTOR_OPS_EXTERN

}  // namespace kinv
