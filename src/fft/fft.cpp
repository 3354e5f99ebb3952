#include <kinv/fft/fft.hpp>
#include <kinv/fft/impl/backend.hpp>
#include <kinv/fft/impl/fft_functors.hpp>

#include <cmath>
#include <cstdint>

namespace kinv {
namespace fft {

Geometry Geometry::make(const Shape& grid, std::int64_t batch) {
  if (grid.rank() != 2 && grid.rank() != 3)
    throw ValueError("kinv::fft: a transform grid has 2 or 3 extents, got " + grid.to_string());
  Geometry g;
  g.rank = grid.rank();
  for (int i = 0; i < g.rank; ++i) {
    if (grid[i] < 1)
      throw ValueError("kinv::fft: grid extents must be positive, got " + grid.to_string());
    g.extents[static_cast<std::size_t>(i)] = grid[i];
  }
  if (batch < 1)
    throw ValueError("kinv::fft: the batch must be positive, got " + std::to_string(batch));
  g.batch = batch;
  return g;
}

std::string Geometry::to_string() const {
  std::string s = std::to_string(batch) + " x (";
  for (int i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(extents[static_cast<std::size_t>(i)]);
  return s + ")";
}

std::string backend_name() { return impl::backend_name(); }

template <class T>
Plan<T>::Plan(const Geometry& g, Direction d, Kokkos::complex<T>* in, Kokkos::complex<T>* out)
    : m_impl(std::make_unique<Impl>(g, d, in, out)) {}

template <class T>
Plan<T>::~Plan() = default;

template <class T>
void Plan<T>::execute(const ExecutionSpace& space, Kokkos::complex<T>* in,
                      Kokkos::complex<T>* out) const {
  m_impl->execute(space, in, out);
}

template <class T>
std::size_t Plan<T>::work_bytes() const noexcept {
  return m_impl->work;
}

template <class T>
void Plan<T>::set_work_area(void* area) {
  m_impl->set_work_area(area);
}

template <class T>
RealPlan<T>::RealPlan(const Geometry& g, Direction d, T* real, Kokkos::complex<T>* spectrum)
    : m_impl(std::make_unique<Impl>(g, d, real, spectrum)) {}

template <class T>
RealPlan<T>::~RealPlan() = default;

template <class T>
void RealPlan<T>::execute(const ExecutionSpace& space, T* real,
                          Kokkos::complex<T>* spectrum) const {
  m_impl->execute(space, real, spectrum);
}

template <class T>
std::size_t RealPlan<T>::work_bytes() const noexcept {
  return m_impl->work;
}

template <class T>
void RealPlan<T>::set_work_area(void* area) {
  m_impl->set_work_area(area);
}

template <class T>
void PlanCache<T>::use(const ExecutionSpace& space) {
  if (m_last && compat::same_instance(*m_last, space)) return;
  if (m_last) m_last->fence();  // the plans and their work area are free once it is done
  m_last = space;
}

template <class T>
template <class P>
void PlanCache<T>::attach_work(P& plan) {
  const std::size_t bytes = plan.work_bytes();
  if (bytes == 0) return;
  if (bytes > m_work_area.size()) {
    if (m_last) m_last->fence();  // the other plans may still be using the old area
    m_work_area = Kokkos::View<char*, MemorySpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::fft::work_area"), bytes);
    for (auto& p : m_plans)
      if (p.second->work_bytes() > 0) p.second->set_work_area(m_work_area.data());
    for (auto& p : m_real_plans)
      if (p.second->work_bytes() > 0) p.second->set_work_area(m_work_area.data());
  }
  plan.set_work_area(m_work_area.data());
}

namespace {
// Largest power of two (up to 64) dividing the address: FFTW plans depend on it.
int alignment_class(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  int c = 1;
  while (c < 64 && (a % static_cast<std::uintptr_t>(2 * c)) == 0) c *= 2;
  return c;
}
}  // namespace

template <class T>
void PlanCache<T>::transform(const ExecutionSpace& space, Kokkos::complex<T>* in,
                             Kokkos::complex<T>* out, const Geometry& g, Direction d,
                             Normalization norm) {
  const bool in_place = in == out;
  const Key key{
      g.rank,  g.extents[0],        g.extents[1], g.extents[2],
      g.batch, static_cast<int>(d), in_place,     alignment_class(in) * 128 + alignment_class(out)};
  use(space);
  auto it = m_plans.find(key);
  if (it == m_plans.end()) {
    auto plan = std::make_unique<Plan<T>>(g, d, in, out);
    attach_work(*plan);
    it = m_plans.emplace(key, std::move(plan)).first;
  }
  it->second->execute(space, in, out);
  if (norm == Normalization::Ortho) {
    const T s = static_cast<T>(1.0 / std::sqrt(static_cast<double>(g.points())));
    Kokkos::parallel_for(
        "kinv::fft::normalize", kinv::impl::range(space, g.size()),
        impl::ScaleComplex<T>{
            Kokkos::View<Kokkos::complex<T>*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                out, static_cast<std::size_t>(g.size())),
            s});
  }
}

template <class T>
void PlanCache<T>::transform_real(const ExecutionSpace& space, T* real,
                                  Kokkos::complex<T>* spectrum, const Geometry& g, Direction d) {
  const Key key{g.rank,       g.extents[0],
                g.extents[1], g.extents[2],
                g.batch,      static_cast<int>(d),
                false,        alignment_class(real) * 128 + alignment_class(spectrum)};
  use(space);
  auto it = m_real_plans.find(key);
  if (it == m_real_plans.end()) {
    auto plan = std::make_unique<RealPlan<T>>(g, d, real, spectrum);
    attach_work(*plan);
    it = m_real_plans.emplace(key, std::move(plan)).first;
  }
  it->second->execute(space, real, spectrum);
}

template <class T>
void PlanCache<T>::transform(const ExecutionSpace& space, const ComplexView<T>& in,
                             const ComplexView<T>& out, const Geometry& g, Direction d,
                             Normalization norm) {
  const auto n = static_cast<std::size_t>(g.size());
  if (in.size() != n || out.size() != n)
    throw ShapeError("kinv::fft: the complex buffers for " + g.to_string(),
                     std::to_string(n) + " values each",
                     std::to_string(in.size()) + " and " + std::to_string(out.size()));
  transform(space, in.data(), out.data(), g, d, norm);
}

template <class T>
void PlanCache<T>::transform(const ExecutionSpace& space, const Kokkos::View<T*, MemorySpace>& in,
                             const Kokkos::View<T*, MemorySpace>& out, const Geometry& g,
                             Direction d, Normalization norm) {
  const auto n = static_cast<std::size_t>(2 * g.size());
  if (in.size() != n || out.size() != n)
    throw ShapeError("kinv::fft: the interleaved (real, imaginary) buffers for " + g.to_string(),
                     std::to_string(n) + " values each",
                     std::to_string(in.size()) + " and " + std::to_string(out.size()));
  for (const T* p : {in.data(), out.data()})
    if (reinterpret_cast<std::uintptr_t>(p) % alignof(Kokkos::complex<T>) != 0)
      throw ValueError("kinv::fft: interleaved buffers must be aligned to " +
                       std::to_string(alignof(Kokkos::complex<T>)) + " bytes");
  transform(space, reinterpret_cast<Kokkos::complex<T>*>(in.data()),
            reinterpret_cast<Kokkos::complex<T>*>(out.data()), g, d, norm);
}

template class Plan<float>;
template class Plan<double>;
template class RealPlan<float>;
template class RealPlan<double>;
template class PlanCache<float>;
template class PlanCache<double>;

}  // namespace fft
}  // namespace kinv
