// kinv::Tensor<T>: a contiguous Kokkos View plus its logical row-major shape, and
// kinv::TensorList<T>, the list type that stacked operators return.
#pragma once

#include <kinv/core/error.hpp>
#include <kinv/core/shape.hpp>
#include <kinv/core/types.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace kinv {

/// A row-major tensor in MemorySpace: a flat contiguous View and a Shape.
///
/// Copies are shallow (they share storage), like Kokkos Views. A Tensor either owns its
/// allocation or wraps a user's View without copying; a wrapped View stays alive as long as
/// any Tensor refers to it.
template <class T>
class Tensor {
  static_assert(std::is_floating_point<T>::value || std::is_integral<T>::value,
                "kinv::Tensor holds real scalars");

 public:
  using value_type = T;
  using execution_space = ExecutionSpace;
  using memory_space = MemorySpace;
  using view_type = Kokkos::View<T*, memory_space>;

  Tensor() = default;

  /// Allocates a zero-initialised tensor.
  Tensor(const std::string& label, const Shape& shape)
      : m_view(Kokkos::view_alloc(label), static_cast<std::size_t>(shape.size())), m_shape(shape) {}

  /// Allocates without initialising the values (for outputs that are overwritten).
  static Tensor uninitialized(const std::string& label, const Shape& shape) {
    return Tensor(view_type(Kokkos::view_alloc(Kokkos::WithoutInitializing, label),
                            static_cast<std::size_t>(shape.size())),
                  shape);
  }

  /// Gives a flat View (which may be a range of a larger buffer) the logical shape `shape`.
  Tensor(view_type view, const Shape& shape) : m_view(std::move(view)), m_shape(shape) {
    check_size(static_cast<std::int64_t>(m_view.size()), shape);
  }

  /// Wraps a user's contiguous row-major View of any rank without copying.
  template <class ViewType, std::enable_if_t<Kokkos::is_view<ViewType>::value &&
                                                 !std::is_same<ViewType, view_type>::value,
                                             int> = 0>
  Tensor(const ViewType& view, const Shape& shape) : m_shape(shape) {
    wrap(view);
  }

  /// Wraps a user's contiguous row-major View, taking its extents as the shape.
  template <class ViewType, std::enable_if_t<Kokkos::is_view<ViewType>::value &&
                                                 !std::is_same<ViewType, view_type>::value,
                                             int> = 0>
  explicit Tensor(const ViewType& view) : m_shape(extents_of(view)) {
    wrap(view);
  }

  /// The flat contiguous View holding the values.
  const view_type& view() const noexcept { return m_view; }
  const Shape& shape() const noexcept { return m_shape; }
  int rank() const noexcept { return m_shape.rank(); }
  std::int64_t extent(int i) const { return m_shape[i]; }
  /// Number of elements.
  std::int64_t size() const noexcept { return static_cast<std::int64_t>(m_view.size()); }
  T* data() const noexcept { return m_view.data(); }
  std::string label() const { return m_view.label(); }

  /// Same storage, another shape of the same size.
  Tensor reshaped(const Shape& shape) const {
    check_size(size(), shape);
    Tensor t = *this;
    t.m_shape = shape;
    return t;
  }

 private:
  static void check_size(std::int64_t n, const Shape& shape) {
    if (n != shape.size())
      throw ShapeError("Tensor: a View of " + std::to_string(n) + " elements cannot have shape",
                       "a shape of " + std::to_string(n) + " elements",
                       shape.to_string() + " (" + std::to_string(shape.size()) + " elements)");
  }

  template <class ViewType>
  static Shape extents_of(const ViewType& v) {
    std::vector<std::int64_t> e;
    for (int i = 0; i < compat::view_rank<ViewType>(); ++i)
      e.push_back(static_cast<std::int64_t>(v.extent(i)));
    return Shape(e);
  }

  template <class ViewType>
  void wrap(const ViewType& v) {
    static_assert(std::is_same<typename ViewType::non_const_value_type, T>::value,
                  "kinv::Tensor<T> wraps Views of T");
    static_assert(std::is_same<typename ViewType::value_type, T>::value,
                  "kinv::Tensor<T> cannot wrap a View of const T");
    static_assert(std::is_same<typename ViewType::memory_space, memory_space>::value,
                  "kinv::Tensor wraps Views in kinv::MemorySpace only");
    constexpr int r = compat::view_rank<ViewType>();
    if (!v.span_is_contiguous())
      throw ValueError("Tensor: the View '" + v.label() + "' is not contiguous");
    // Row-major: stride(i) == product of the extents after i (extent-1 axes do not matter).
    std::size_t strides[r + 1];
    v.stride(strides);
    std::size_t expect = 1;
    for (int i = r - 1; i >= 0; --i) {
      if (v.extent(i) > 1 && strides[i] != expect)
        throw ValueError("Tensor: the View '" + v.label() +
                         "' is not row-major (use Kokkos::LayoutRight)");
      expect *= v.extent(i);
    }
    check_size(static_cast<std::int64_t>(v.size()), m_shape);
    m_keepalive = std::make_shared<ViewType>(v);
    m_view = view_type(v.data(), v.size());
  }

  view_type m_view;
  Shape m_shape;
  std::shared_ptr<void> m_keepalive;  // the wrapped user View, if any
};

/// A list of tensors, one per operator of a stack: it behaves like a std::vector.
template <class T>
class TensorList : public std::vector<Tensor<T>> {
 public:
  using std::vector<Tensor<T>>::vector;
  TensorList() = default;
  explicit TensorList(std::vector<Tensor<T>> v) : std::vector<Tensor<T>>(std::move(v)) {}
};

// ---------------------------------------------------------------------------------------------
// Small helpers, mostly for tests and examples (they fence).

/// Copies src into dst; their shapes must be equal.
template <class T>
void deep_copy(const Tensor<T>& dst, const Tensor<T>& src) {
  if (dst.shape() != src.shape()) throw_shape_error("kinv::deep_copy", dst.shape(), src.shape());
  Kokkos::deep_copy(dst.view(), src.view());
}

/// Sets every element to `value`.
template <class T>
void fill(const Tensor<T>& t, T value) {
  Kokkos::deep_copy(t.view(), value);
}

/// A new tensor with a copy of the values.
template <class T>
Tensor<T> clone(const Tensor<T>& t, const std::string& label = "kinv::clone") {
  auto c = Tensor<T>::uninitialized(label, t.shape());
  Kokkos::deep_copy(c.view(), t.view());
  return c;
}

/// The values, copied to a host std::vector.
template <class T>
std::vector<T> to_vector(const Tensor<T>& t) {
  std::vector<T> out(static_cast<std::size_t>(t.size()));
  Kokkos::View<T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(out.data(),
                                                                                 out.size());
  Kokkos::deep_copy(h, t.view());
  return out;
}

/// A new tensor holding `values` (row-major) with shape `shape`.
template <class T>
Tensor<T> from_vector(const std::string& label, const Shape& shape, const std::vector<T>& values) {
  if (static_cast<std::int64_t>(values.size()) != shape.size())
    throw ShapeError("kinv::from_vector: values for shape " + shape.to_string(),
                     std::to_string(shape.size()) + " values", std::to_string(values.size()));
  auto t = Tensor<T>::uninitialized(label, shape);
  Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(
      values.data(), values.size());
  Kokkos::deep_copy(t.view(), h);
  return t;
}

}  // namespace kinv
