// kinv::Shape: the logical extents of a row-major tensor, e.g. (B, C, H, W).
#pragma once

#include <kinv/core/error.hpp>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace kinv {

/// Extents of a row-major tensor, at most `max_rank` of them.
class Shape {
 public:
  static constexpr int max_rank = 8;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> extents) { assign(extents.begin(), extents.end()); }
  explicit Shape(const std::vector<std::int64_t>& extents) {
    assign(extents.begin(), extents.end());
  }

  int rank() const noexcept { return m_rank; }
  std::int64_t operator[](int i) const {
    if (i < 0 || i >= m_rank)
      throw ValueError("Shape index " + std::to_string(i) + " out of range for " + to_string());
    return m_extents[i];
  }
  /// Extent counted from the end: back(0) is the last extent (W for (B, C, H, W)).
  std::int64_t back(int i = 0) const { return (*this)[m_rank - 1 - i]; }
  /// Number of elements (1 for rank 0).
  std::int64_t size() const noexcept {
    std::int64_t n = 1;
    for (int i = 0; i < m_rank; ++i) n *= m_extents[i];
    return n;
  }
  std::vector<std::int64_t> extents() const {
    return std::vector<std::int64_t>(m_extents.begin(), m_extents.begin() + m_rank);
  }
  /// Copy with extent i replaced.
  Shape with(int i, std::int64_t extent) const {
    Shape s = *this;
    (void)s[i];  // range check
    if (extent < 0) throw ValueError("negative extent " + std::to_string(extent));
    s.m_extents[i] = extent;
    return s;
  }

  /// (b, extents...): this shape with a leading (batch) extent.
  Shape prepend(std::int64_t b) const {
    std::vector<std::int64_t> e{b};
    for (int i = 0; i < m_rank; ++i) e.push_back(m_extents[i]);
    return Shape(e);
  }
  /// True when this shape is (any, tail...): one more extent than `tail`, then tail's.
  bool tail_equals(const Shape& tail) const noexcept {
    if (m_rank != tail.m_rank + 1) return false;
    for (int i = 0; i < tail.m_rank; ++i)
      if (m_extents[i + 1] != tail.m_extents[i]) return false;
    return true;
  }

  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    if (a.m_rank != b.m_rank) return false;
    for (int i = 0; i < a.m_rank; ++i)
      if (a.m_extents[i] != b.m_extents[i]) return false;
    return true;
  }
  friend bool operator!=(const Shape& a, const Shape& b) noexcept { return !(a == b); }

  /// "(1, 3, 512, 512)"
  std::string to_string() const {
    std::string s = "(";
    for (int i = 0; i < m_rank; ++i) {
      if (i) s += ", ";
      s += std::to_string(m_extents[i]);
    }
    return s + ")";
  }

 private:
  template <class It>
  void assign(It first, It last) {
    const auto n = last - first;
    if (n > max_rank)
      throw ValueError("Shape of rank " + std::to_string(n) + " exceeds the maximum rank " +
                       std::to_string(max_rank));
    m_rank = static_cast<int>(n);
    for (int i = 0; first != last; ++first, ++i) {
      if (*first < 0) throw ValueError("Shape extent " + std::to_string(*first) + " is negative");
      m_extents[i] = *first;
    }
  }

  int m_rank = 0;
  std::array<std::int64_t, max_rank> m_extents{};
};

/// Throws ShapeError naming `what`, the expected and the actual shape.
[[noreturn]] inline void throw_shape_error(const std::string& what, const Shape& expected,
                                           const Shape& actual, std::int64_t operator_index = -1) {
  throw ShapeError(what, expected.to_string(), actual.to_string(), operator_index);
}

}  // namespace kinv
