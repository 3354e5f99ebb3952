// Must not compile: a kinv::Tensor wraps Views in kinv::MemorySpace only (docs/errors.md,
// E28). Built by the test compile_fail.wrong_memory_space, which expects the static_assert's
// message.
#include <kinv/core/tensor.hpp>

int main() {
  Kokkos::View<double*, Kokkos::AnonymousSpace> elsewhere;
  kinv::Tensor<double> t(elsewhere, kinv::Shape{0});
  return static_cast<int>(t.size());
}
