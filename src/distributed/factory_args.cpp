#include <kinv/core/profiling.hpp>
#include <kinv/distributed/factory_args.hpp>

#include <cstring>

namespace kinv {

template <class T>
FactoryArgs<T>& FactoryArgs<T>::set(const std::string& name, const Tensor<T>& value) {
  if (name.empty()) throw ValueError("FactoryArgs: empty name");
  m_scalars.erase(name);
  m_tensors[name] = value;
  return *this;
}

template <class T>
FactoryArgs<T>& FactoryArgs<T>::set(const std::string& name, double value) {
  if (name.empty()) throw ValueError("FactoryArgs: empty name");
  m_tensors.erase(name);
  m_scalars[name] = value;
  return *this;
}

template <class T>
bool FactoryArgs<T>::has(const std::string& name) const {
  return m_tensors.count(name) > 0 || m_scalars.count(name) > 0;
}

template <class T>
std::vector<std::string> FactoryArgs<T>::names() const {
  std::vector<std::string> n;
  for (const auto& kv : m_tensors) n.push_back(kv.first);
  for (const auto& kv : m_scalars) n.push_back(kv.first);
  return n;
}

namespace {
std::string listing(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}
}  // namespace

template <class T>
const Tensor<T>& FactoryArgs<T>::tensor(const std::string& name) const {
  const auto it = m_tensors.find(name);
  if (it == m_tensors.end())
    throw ValueError("FactoryArgs: no tensor named '" + name + "' (there are: " + listing(names()) +
                     ")");
  return it->second;
}

template <class T>
double FactoryArgs<T>::scalar(const std::string& name) const {
  const auto it = m_scalars.find(name);
  if (it == m_scalars.end())
    throw ValueError("FactoryArgs: no scalar named '" + name + "' (there are: " + listing(names()) +
                     ")");
  return it->second;
}

template <class T>
double FactoryArgs<T>::scalar_or(const std::string& name, double fallback) const {
  const auto it = m_scalars.find(name);
  return it == m_scalars.end() ? fallback : it->second;
}

namespace {
template <class V>
void put(std::vector<char>& out, const V& v) {
  const auto at = out.size();
  out.resize(at + sizeof(V));
  std::memcpy(out.data() + at, &v, sizeof(V));
}
void put_string(std::vector<char>& out, const std::string& s) {
  put<std::int64_t>(out, static_cast<std::int64_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
template <class V>
V get(const std::vector<char>& in, std::size_t& at) {
  if (at + sizeof(V) > in.size()) throw CommError("FactoryArgs: truncated broadcast");
  V v;
  std::memcpy(&v, in.data() + at, sizeof(V));
  at += sizeof(V);
  return v;
}
std::string get_string(const std::vector<char>& in, std::size_t& at) {
  const auto n = get<std::int64_t>(in, at);
  if (n < 0 || at + static_cast<std::size_t>(n) > in.size())
    throw CommError("FactoryArgs: truncated broadcast");
  std::string s(in.data() + at, static_cast<std::size_t>(n));
  at += static_cast<std::size_t>(n);
  return s;
}
}  // namespace

template <class T>
void FactoryArgs<T>::broadcast_from_root(const comm::Communicator& comm) {
  const ProfilingRegion region("kinv::FactoryArgs::broadcast_from_root");
  if (comm.size() == 1) return;
  std::vector<char> bytes;
  if (comm.rank() == 0) {
    put<std::int64_t>(bytes, static_cast<std::int64_t>(m_tensors.size()));
    for (const auto& kv : m_tensors) {
      put_string(bytes, kv.first);
      const Shape& s = kv.second.shape();
      put<std::int32_t>(bytes, s.rank());
      for (int i = 0; i < s.rank(); ++i) put<std::int64_t>(bytes, s[i]);
      const auto values = to_vector(kv.second);
      const auto at = bytes.size();
      bytes.resize(at + values.size() * sizeof(T));
      if (!values.empty()) std::memcpy(bytes.data() + at, values.data(), values.size() * sizeof(T));
    }
    put<std::int64_t>(bytes, static_cast<std::int64_t>(m_scalars.size()));
    for (const auto& kv : m_scalars) {
      put_string(bytes, kv.first);
      put<double>(bytes, kv.second);
    }
  }
  comm.broadcast_bytes(bytes, 0);
  if (comm.rank() == 0) return;
  m_tensors.clear();
  m_scalars.clear();
  std::size_t at = 0;
  const auto nt = get<std::int64_t>(bytes, at);
  for (std::int64_t t = 0; t < nt; ++t) {
    const std::string name = get_string(bytes, at);
    const auto r = get<std::int32_t>(bytes, at);
    std::vector<std::int64_t> e(static_cast<std::size_t>(r));
    for (auto& x : e) x = get<std::int64_t>(bytes, at);
    const Shape s(e);
    std::vector<T> values(static_cast<std::size_t>(s.size()));
    const std::size_t nbytes = values.size() * sizeof(T);
    if (at + nbytes > bytes.size()) throw CommError("FactoryArgs: truncated broadcast");
    if (nbytes) std::memcpy(values.data(), bytes.data() + at, nbytes);
    at += nbytes;
    m_tensors[name] = from_vector<T>("kinv::FactoryArgs::" + name, s, values);
  }
  const auto ns = get<std::int64_t>(bytes, at);
  for (std::int64_t k = 0; k < ns; ++k) {
    const std::string name = get_string(bytes, at);
    m_scalars[name] = get<double>(bytes, at);
  }
}

template class FactoryArgs<float>;
template class FactoryArgs<double>;

}  // namespace kinv
