// kinv::FactoryArgs<T>: named tensors and scalars handed to every operator factory (deepinv's
// factory_kwargs). They are set on rank 0 and broadcast once when a stack is built.
#pragma once

#include <kinv/comm/communicator.hpp>
#include <kinv/core/tensor.hpp>

#include <map>
#include <string>
#include <vector>

namespace kinv {

template <class T>
class FactoryArgs {
 public:
  FactoryArgs() = default;

  FactoryArgs& set(const std::string& name, const Tensor<T>& value);
  FactoryArgs& set(const std::string& name, double value);

  bool has(const std::string& name) const;
  /// The tensor called `name`; ValueError (listing the names there are) if there is none.
  const Tensor<T>& tensor(const std::string& name) const;
  /// The scalar called `name`; ValueError if there is none.
  double scalar(const std::string& name) const;
  /// The scalar called `name`, or `fallback`.
  double scalar_or(const std::string& name, double fallback) const;
  std::vector<std::string> names() const;
  bool empty() const noexcept { return m_tensors.empty() && m_scalars.empty(); }

  /// Collective: every rank's content becomes a copy of rank 0's.
  void broadcast_from_root(const comm::Communicator& comm);

 private:
  std::map<std::string, Tensor<T>> m_tensors;
  std::map<std::string, double> m_scalars;
};

extern template class FactoryArgs<float>;
extern template class FactoryArgs<double>;

}  // namespace kinv
