#include <kinv/optim/data_fidelity.hpp>

#include <cmath>

namespace kinv {

namespace {

using TeamPolicy = Kokkos::TeamPolicy<ExecutionSpace>;
using Member = TeamPolicy::member_type;

// out(b) += s * sum_i (u - y)^2 over batch element b (one team per batch element; the team's
// reduction order is fixed for a given backend and team size, so every rank gets the same bits).
template <class T>
struct SquaredDistanceAdd {
  Kokkos::View<const T*, MemorySpace> u, y;
  Kokkos::View<T*, MemorySpace> out;
  std::int64_t n = 0;  // elements per batch element
  T s = T(1);

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const std::int64_t b = team.league_rank();
    const std::int64_t o = b * n;
    T acc = T(0);
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, n),
        [&](const std::int64_t i, T& a) {
          const T d = u(o + i) - y(o + i);
          a += d * d;
        },
        acc);
    Kokkos::single(Kokkos::PerTeam(team), [&]() { out(b) += s * acc; });
  }
};

// out(b) += sum_i |u - y| over batch element b.
template <class T>
struct AbsoluteDistanceAdd {
  Kokkos::View<const T*, MemorySpace> u, y;
  Kokkos::View<T*, MemorySpace> out;
  std::int64_t n = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const std::int64_t b = team.league_rank();
    const std::int64_t o = b * n;
    T acc = T(0);
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, n),
        [&](const std::int64_t i, T& a) {
          const T d = u(o + i) - y(o + i);
          a += d < T(0) ? -d : d;
        },
        acc);
    Kokkos::single(Kokkos::PerTeam(team), [&]() { out(b) += acc; });
  }
};

// out = s (u - y); out may alias u.
template <class T>
struct ScaledDifference {
  Kokkos::View<const T*, MemorySpace> u, y;
  Kokkos::View<T*, MemorySpace> out;
  T s = T(1);
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const { out(i) = s * (u(i) - y(i)); }
};

// out = sign(u - y); out may alias u.
template <class T>
struct SignOfDifference {
  Kokkos::View<const T*, MemorySpace> u, y;
  Kokkos::View<T*, MemorySpace> out;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const T d = u(i) - y(i);
    out(i) = d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0));
  }
};

template <class T>
std::int64_t per_batch(const Tensor<T>& u) {
  return u.shape()[0] == 0 ? 0 : u.size() / u.shape()[0];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Distance

template <class T>
void Distance<T>::check(const char* method, const Tensor<T>& u, const Tensor<T>& y) const {
  if (u.rank() < 1 || u.shape()[0] < 1)
    throw ShapeError(name() + "::" + method + ": input shape", "(B, ...) with B >= 1",
                     u.shape().to_string());
  if (u.shape() != y.shape())
    throw ShapeError(name() + "::" + method + ": measurement shape (that of the input)",
                     u.shape().to_string(), y.shape().to_string());
}

template <class T>
Tensor<T> Distance<T>::fn(const Tensor<T>& u, const Tensor<T>& y) const {
  check("fn", u, y);
  Tensor<T> out("kinv::Distance::fn", Shape{u.shape()[0]});
  apply_fn_add(u, y, out);
  return out;
}

template <class T>
void Distance<T>::fn_add(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const {
  check("fn", u, y);
  if (out.shape() != Shape{u.shape()[0]})
    throw ShapeError(name() + "::fn: output shape", Shape{u.shape()[0]}.to_string(),
                     out.shape().to_string());
  apply_fn_add(u, y, out);
}

template <class T>
Tensor<T> Distance<T>::grad(const Tensor<T>& u, const Tensor<T>& y) const {
  check("grad", u, y);
  auto out = Tensor<T>::uninitialized("kinv::Distance::grad", u.shape());
  apply_grad(u, y, out);
  return out;
}

template <class T>
void Distance<T>::grad(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const {
  check("grad", u, y);
  if (out.shape() != u.shape())
    throw ShapeError(name() + "::grad: output shape", u.shape().to_string(),
                     out.shape().to_string());
  apply_grad(u, y, out);
}

// ---------------------------------------------------------------------------------------------
// L2 and L1

template <class T>
L2Distance<T>::L2Distance(double sigma) : m_sigma(sigma) {
  if (!(sigma > 0) || !std::isfinite(sigma))
    throw ValueError("L2Distance: sigma must be positive and finite, got " + std::to_string(sigma));
}

template <class T>
void L2Distance<T>::apply_fn_add(const Tensor<T>& u, const Tensor<T>& y,
                                 const Tensor<T>& out) const {
  const T s = static_cast<T>(0.5 / (m_sigma * m_sigma));
  Kokkos::parallel_for("kinv::L2Distance::fn", TeamPolicy(u.shape()[0], Kokkos::AUTO),
                       SquaredDistanceAdd<T>{u.view(), y.view(), out.view(), per_batch(u), s});
}

template <class T>
void L2Distance<T>::apply_grad(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const {
  const T s = static_cast<T>(1.0 / (m_sigma * m_sigma));
  Kokkos::parallel_for("kinv::L2Distance::grad", impl::range(ExecutionSpace(), u.size()),
                       ScaledDifference<T>{u.view(), y.view(), out.view(), s});
}

template <class T>
void L1Distance<T>::apply_fn_add(const Tensor<T>& u, const Tensor<T>& y,
                                 const Tensor<T>& out) const {
  Kokkos::parallel_for("kinv::L1Distance::fn", TeamPolicy(u.shape()[0], Kokkos::AUTO),
                       AbsoluteDistanceAdd<T>{u.view(), y.view(), out.view(), per_batch(u)});
}

template <class T>
void L1Distance<T>::apply_grad(const Tensor<T>& u, const Tensor<T>& y, const Tensor<T>& out) const {
  Kokkos::parallel_for("kinv::L1Distance::grad", impl::range(ExecutionSpace(), u.size()),
                       SignOfDifference<T>{u.view(), y.view(), out.view()});
}

// ---------------------------------------------------------------------------------------------
// DataFidelity

template <class T>
DataFidelity<T>::DataFidelity(std::shared_ptr<const Distance<T>> distance)
    : m_distance(std::move(distance)) {
  if (!m_distance) throw ValueError("DataFidelity: no distance given");
}

template <class T>
Tensor<T> DataFidelity<T>::fn(const Tensor<T>& x, const Tensor<T>& y,
                              const Physics<T>& physics) const {
  return m_distance->fn(impl::on_own_space(physics, [&] { return physics.A(x); }), y);
}

template <class T>
Tensor<T> DataFidelity<T>::grad(const Tensor<T>& x, const Tensor<T>& y,
                                const LinearPhysics<T>& physics) const {
  Tensor<T> ax = impl::on_own_space(physics, [&] { return physics.A(x); });
  m_distance->grad(ax, y, ax);
  return impl::on_own_space(physics, [&] { return physics.A_vjp(x, ax); });
}

template class Distance<float>;
template class Distance<double>;
template class L2Distance<float>;
template class L2Distance<double>;
template class L1Distance<float>;
template class L1Distance<double>;
template class DataFidelity<float>;
template class DataFidelity<double>;

}  // namespace kinv
