// Must not compile: a kinv::Tensor<double> wraps Views of double only (docs/errors.md, E28).
// Built by the test compile_fail.wrong_value_type, which expects the static_assert's message.
#include <kinv/core/tensor.hpp>

int main() {
  Kokkos::View<float*, kinv::MemorySpace> floats("floats", 4);
  kinv::Tensor<double> t(floats, kinv::Shape{4});
  return static_cast<int>(t.size());
}
