#include <kinv/optim/vector_ops.hpp>

#include <KokkosBlas1_axpby.hpp>
#include <KokkosBlas1_dot.hpp>
#include <KokkosBlas1_nrm2.hpp>
#include <KokkosBlas1_scal.hpp>

#include <cmath>
#include <string>

namespace kinv {

namespace {

template <class T>
struct StandardNormalFill {
  Kokkos::View<T*, MemorySpace> x;
  RandomStream stream;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    x(i) = static_cast<T>(standard_normal(stream, static_cast<std::uint64_t>(i)));
  }
};

template <class T>
void check_length(const char* what, const TensorList<T>& expected, const TensorList<T>& actual) {
  if (expected.size() != actual.size())
    throw ShapeError(std::string(what) + ": list length", std::to_string(expected.size()),
                     std::to_string(actual.size()));
}

}  // namespace

template <class T>
void check_same_shape(const char* what, const Tensor<T>& expected, const Tensor<T>& actual) {
  if (expected.shape() != actual.shape()) throw_shape_error(what, expected.shape(), actual.shape());
}

template <class T>
void check_same_shape(const char* what, const TensorList<T>& expected,
                      const TensorList<T>& actual) {
  check_length(what, expected, actual);
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (expected[i].shape() != actual[i].shape())
      throw ShapeError(std::string(what) + ": shape of element " + std::to_string(i),
                       expected[i].shape().to_string(), actual[i].shape().to_string());
}

template <class T>
T dot(const Tensor<T>& x, const Tensor<T>& y) {
  check_same_shape("kinv::dot", x, y);
  if (x.size() == 0) return T(0);
  return static_cast<T>(KokkosBlas::dot(x.view(), y.view()));
}

template <class T>
T dot(const TensorList<T>& x, const TensorList<T>& y) {
  check_same_shape("kinv::dot", x, y);
  T s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += dot(x[i], y[i]);
  return s;
}

template <class T>
T norm2(const Tensor<T>& x) {
  if (x.size() == 0) return T(0);
  return static_cast<T>(KokkosBlas::nrm2(x.view()));
}

template <class T>
T norm2(const TensorList<T>& x) {
  T s = 0;
  for (const auto& t : x) {
    const T n = norm2(t);
    s += n * n;
  }
  return std::sqrt(s);
}

template <class T>
void axpby(T a, const Tensor<T>& x, T b, const Tensor<T>& y) {
  check_same_shape("kinv::axpby", y, x);
  if (x.size() == 0) return;
  KokkosBlas::axpby(a, x.view(), b, y.view());
}

template <class T>
void axpby(T a, const TensorList<T>& x, T b, const TensorList<T>& y) {
  check_same_shape("kinv::axpby", y, x);
  for (std::size_t i = 0; i < x.size(); ++i) axpby(a, x[i], b, y[i]);
}

template <class T>
void scale(T a, const Tensor<T>& x) {
  if (x.size() == 0) return;
  KokkosBlas::scal(x.view(), a, x.view());
}

template <class T>
void scale(T a, const TensorList<T>& x) {
  for (const auto& t : x) scale(a, t);
}

template <class T>
Tensor<T> zeros_like(const Tensor<T>& x) {
  return Tensor<T>("kinv::zeros_like", x.shape());
}

template <class T>
TensorList<T> zeros_like(const TensorList<T>& x) {
  TensorList<T> out;
  out.reserve(x.size());
  for (const auto& t : x) out.push_back(zeros_like(t));
  return out;
}

template <class T>
TensorList<T> clone(const TensorList<T>& x) {
  TensorList<T> out;
  out.reserve(x.size());
  for (const auto& t : x) out.push_back(clone(t));
  return out;
}

template <class T>
void deep_copy(const TensorList<T>& dst, const TensorList<T>& src) {
  check_same_shape("kinv::deep_copy", dst, src);
  for (std::size_t i = 0; i < dst.size(); ++i) Kokkos::deep_copy(dst[i].view(), src[i].view());
}

template <class T>
void fill_standard_normal(const Tensor<T>& x, const RandomStream& stream) {
  Kokkos::parallel_for("kinv::fill_standard_normal", impl::range(ExecutionSpace(), x.size()),
                       StandardNormalFill<T>{x.view(), stream});
}

#define KINV_OPTIM_VECTOR_OPS_INSTANTIATE(T)                                                  \
  template T dot<T>(const Tensor<T>&, const Tensor<T>&);                                      \
  template T dot<T>(const TensorList<T>&, const TensorList<T>&);                              \
  template T norm2<T>(const Tensor<T>&);                                                      \
  template T norm2<T>(const TensorList<T>&);                                                  \
  template void axpby<T>(T, const Tensor<T>&, T, const Tensor<T>&);                           \
  template void axpby<T>(T, const TensorList<T>&, T, const TensorList<T>&);                   \
  template void scale<T>(T, const Tensor<T>&);                                                \
  template void scale<T>(T, const TensorList<T>&);                                            \
  template Tensor<T> zeros_like<T>(const Tensor<T>&);                                         \
  template TensorList<T> zeros_like<T>(const TensorList<T>&);                                 \
  template TensorList<T> clone<T>(const TensorList<T>&);                                      \
  template void deep_copy<T>(const TensorList<T>&, const TensorList<T>&);                     \
  template void check_same_shape<T>(const char*, const Tensor<T>&, const Tensor<T>&);         \
  template void check_same_shape<T>(const char*, const TensorList<T>&, const TensorList<T>&); \
  template void fill_standard_normal<T>(const Tensor<T>&, const RandomStream&);

KINV_OPTIM_VECTOR_OPS_INSTANTIATE(float)
KINV_OPTIM_VECTOR_OPS_INSTANTIATE(double)

}  // namespace kinv
