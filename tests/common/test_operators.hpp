// Operators used by the distributed tests: the library's own, plus a shape-changing test
// operator, mixed so that a stack has heterogeneous output shapes.
#pragma once

#include <kinv/operators/blur.hpp>
#include <kinv/operators/inpainting.hpp>
#include <kinv/operators/tomography.hpp>
#include <kinv/physics/stacked.hpp>

#include "test_helpers.hpp"

namespace kinv {
namespace test {

// Kernels of Crop (at namespace scope: CUDA cannot launch functors that are private members).
template <class T>
struct CropForward {
  Kokkos::View<const T*, MemorySpace> x;
  Kokkos::View<T*, MemorySpace> y;
  std::int64_t H, W, h, w;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t j = i % w, r = (i / w) % h, bc = i / (w * h);
    y(i) = x((bc * H + r) * W + j);
  }
};

template <class T>
struct CropAdjoint {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<T*, MemorySpace> x;
  std::int64_t H, W, h, w;
  bool acc;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t j = i % W, r = (i / W) % H, bc = i / (W * H);
    const T v = (r < h && j < w) ? y((bc * h + r) * w + j) : T(0);
    x(i) = acc ? x(i) + v : v;
  }
};

/// y = x[..., :H - dh, :W - dw] (a crop); the adjoint zero-pads. Shape-changing and exact.
template <class T>
class Crop : public LinearPhysics<T> {
 public:
  Crop(std::int64_t dh, std::int64_t dw) : m_dh(dh), m_dw(dw) {}
  std::string name() const override { return "Crop"; }
  Shape output_shape(const Shape& in) const override {
    if (in.rank() != 4 || in[2] <= m_dh || in[3] <= m_dw)
      this->shape_error("input shape (rank 4, larger than the crop)",
                        Shape{1, 1, m_dh + 1, m_dw + 1}, in);
    return in.with(2, in[2] - m_dh).with(3, in[3] - m_dw);
  }
  Shape input_shape(const Shape& out) const override {
    if (out.rank() != 4) this->shape_error("measurement shape", Shape{1, 1, 1, 1}, out);
    return out.with(2, out[2] + m_dh).with(3, out[3] + m_dw);
  }

 protected:
  void apply_A(const Tensor<T>& x, const Tensor<T>& y) const override {
    Kokkos::parallel_for(
        "kinv::test::Crop::A", impl::range(this->execution_space(), y.size()),
        CropForward<T>{x.view(), y.view(), x.extent(2), x.extent(3), y.extent(2), y.extent(3)});
  }
  void apply_A_adjoint(const Tensor<T>& y, const Tensor<T>& x, bool acc) const override {
    Kokkos::parallel_for("kinv::test::Crop::A_adjoint",
                         impl::range(this->execution_space(), x.size()),
                         CropAdjoint<T>{y.view(), x.view(), x.extent(2), x.extent(3), y.extent(2),
                                        y.extent(3), acc});
  }

 private:
  std::int64_t m_dh, m_dw;
};

/// Operator i of the mixed test stack for (B, C, H, W) inputs with H, W >= 8: masks, crops,
/// blurs (valid and reflect padding) and, for square images, tomography angle subsets.
template <class T>
std::unique_ptr<LinearPhysics<T>> mixed_operator(std::int64_t i, std::int64_t C, std::int64_t H,
                                                 std::int64_t W) {
  switch (i % 4) {
    case 0:
      return std::make_unique<Inpainting<T>>(Shape{C, H, W}, 0.5,
                                             100 + static_cast<std::uint64_t>(i));
    case 1:
      return std::make_unique<Crop<T>>(1 + i % 3, i % 2);
    case 2:
      return std::make_unique<Blur<T>>(gaussian_kernel<T>(0.5 + 0.1 * static_cast<double>(i % 3)),
                                       i % 8 == 2 ? Padding::Valid : Padding::Reflect);
    default:
      if (H != W) return std::make_unique<Blur<T>>(gaussian_kernel<T>(0.7), Padding::Circular);
      TomographyOptions o;
      for (std::int64_t j = 0; j < 5; ++j)
        o.angles.push_back(7.0 * static_cast<double>(i) + 36.0 * static_cast<double>(j));
      return std::make_unique<Tomography<T>>(W, o);
  }
}

/// Operator i of a stack whose results all have the input's shape.
template <class T>
std::unique_ptr<LinearPhysics<T>> same_shape_operator(std::int64_t i, std::int64_t C,
                                                      std::int64_t H, std::int64_t W) {
  if (i % 2 == 1)
    return std::make_unique<Blur<T>>(gaussian_kernel<T>(0.4 + 0.2 * static_cast<double>(i)),
                                     Padding::Circular);
  return std::make_unique<Inpainting<T>>(Shape{C, H, W}, 0.3 + 0.1 * (i % 5),
                                         7 + static_cast<std::uint64_t>(i));
}

/// The single-process reference of a stack built by `make(i)`.
template <class T, class F>
StackedLinearPhysics<T> stacked_reference(std::int64_t n, F make) {
  StackedLinearPhysics<T> s;
  for (std::int64_t i = 0; i < n; ++i) s.push_back(make(i));
  return s;
}

}  // namespace test
}  // namespace kinv
