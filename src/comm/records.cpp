#include <kinv/comm/records.hpp>
#include <kinv/core/error.hpp>

#include <cstring>
#include <limits>

namespace kinv {
namespace comm {
namespace records {

namespace {

template <class V>
void put(std::vector<char>& out, V v) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(V));
  std::memcpy(out.data() + at, &v, sizeof(V));
}

void put_bytes(std::vector<char>& out, const void* p, std::size_t n) {
  const std::size_t at = out.size();
  out.resize(at + n);
  if (n) std::memcpy(out.data() + at, p, n);
}

void put_shape(std::vector<char>& out, const Shape& s) {
  put<std::int32_t>(out, s.rank());
  for (int i = 0; i < s.rank(); ++i) put<std::int64_t>(out, s[i]);
}

class Reader {
 public:
  Reader(const char* p, std::size_t n) : m_p(p), m_n(n) {}
  template <class V>
  V get(const char* field) {
    need(sizeof(V), field);
    V v;
    std::memcpy(&v, m_p + m_at, sizeof(V));
    m_at += sizeof(V);
    return v;
  }
  const char* take(std::size_t n, const char* field) {
    need(n, field);
    const char* p = m_p + m_at;
    m_at += n;
    return p;
  }
  std::string str(std::int64_t n, const char* field) {
    if (n < 0 || n > (1 << 20)) bad(std::string(field) + " length " + std::to_string(n));
    const char* p = take(static_cast<std::size_t>(n), field);
    return std::string(p, static_cast<std::size_t>(n));
  }
  Shape shape(const char* field) {
    const auto r = get<std::int32_t>(field);
    if (r < 0 || r > Shape::max_rank) bad(std::string(field) + " rank " + std::to_string(r));
    std::vector<std::int64_t> e(static_cast<std::size_t>(r));
    for (auto& x : e) {
      x = get<std::int64_t>(field);
      if (x < 0) bad(std::string(field) + " has a negative extent " + std::to_string(x));
    }
    return Shape(e);
  }
  std::size_t remaining() const { return m_n - m_at; }
  [[noreturn]] static void bad(const std::string& what) {
    throw ValueError("malformed naive-gather record: " + what);
  }

 private:
  void need(std::size_t n, const char* field) const {
    if (n > m_n - m_at)
      bad(std::string(field) + " runs past the end of the block (" + std::to_string(m_n) +
          " bytes)");
  }
  const char* m_p;
  std::size_t m_n;
  std::size_t m_at = 0;
};

// Element count of s times elem_size, or -1 on overflow.
std::int64_t byte_count(const Shape& s, std::size_t elem_size) {
  std::int64_t n = static_cast<std::int64_t>(elem_size);
  for (int i = 0; i < s.rank(); ++i) {
    if (s[i] != 0 && n > std::numeric_limits<std::int64_t>::max() / s[i]) return -1;
    n *= s[i];
  }
  return n;
}

}  // namespace

std::vector<char> encode(const Header& h, const std::vector<Record>& records) {
  std::vector<char> out;
  put<std::uint32_t>(out, magic);
  put<std::uint16_t>(out, version);
  put<std::uint8_t>(out, static_cast<std::uint8_t>(h.scalar));
  put<std::uint8_t>(out, h.ok ? 1 : 0);
  put<std::int64_t>(out, h.num_operators);
  put<std::int64_t>(out, h.operator_index);
  put<std::int64_t>(out, static_cast<std::int64_t>(records.size()));
  put<std::int64_t>(out, static_cast<std::int64_t>(h.kind.size()));
  put_bytes(out, h.kind.data(), h.kind.size());
  put<std::int64_t>(out, static_cast<std::int64_t>(h.what.size()));
  put_bytes(out, h.what.data(), h.what.size());
  put_shape(out, h.input);
  for (const auto& r : records) {
    put<std::int64_t>(out, r.index);
    put_shape(out, r.shape);
    put<std::int64_t>(out, r.bytes);
    put_bytes(out, r.data, static_cast<std::size_t>(r.bytes));
  }
  return out;
}

Block decode(const char* bytes, std::size_t size, Scalar expected_scalar) {
  Reader in(bytes, size);
  Block b;
  if (in.get<std::uint32_t>("magic") != magic) Reader::bad("bad magic number");
  const auto v = in.get<std::uint16_t>("version");
  if (v != version) Reader::bad("unsupported version " + std::to_string(v));
  const auto sc = in.get<std::uint8_t>("scalar type");
  if (sc != static_cast<std::uint8_t>(Scalar::Float32) &&
      sc != static_cast<std::uint8_t>(Scalar::Float64))
    Reader::bad("unknown scalar type " + std::to_string(sc));
  b.header.scalar = static_cast<Scalar>(sc);
  if (b.header.scalar != expected_scalar)
    Reader::bad("scalar type " + std::to_string(sc) + " differs from this rank's " +
                std::to_string(static_cast<int>(expected_scalar)));
  const auto ok = in.get<std::uint8_t>("status");
  if (ok > 1) Reader::bad("status byte " + std::to_string(ok));
  b.header.ok = ok == 1;
  b.header.num_operators = in.get<std::int64_t>("operator count");
  if (b.header.num_operators < 0) Reader::bad("negative operator count");
  b.header.operator_index = in.get<std::int64_t>("failing operator");
  const auto n = in.get<std::int64_t>("record count");
  if (n < 0 || n > b.header.num_operators)
    Reader::bad("record count " + std::to_string(n) + " for a stack of " +
                std::to_string(b.header.num_operators));
  b.header.kind = in.str(in.get<std::int64_t>("error kind length"), "error kind");
  b.header.what = in.str(in.get<std::int64_t>("error message length"), "error message");
  b.header.input = in.shape("input shape");
  const std::size_t elem = scalar_size(b.header.scalar);
  b.records.reserve(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k) {
    Record r;
    r.index = in.get<std::int64_t>("record index");
    if (r.index < 0 || r.index >= b.header.num_operators)
      Reader::bad("record index " + std::to_string(r.index) + " outside [0, " +
                  std::to_string(b.header.num_operators) + ")");
    r.shape = in.shape("record shape");
    r.bytes = in.get<std::int64_t>("record byte count");
    const std::int64_t expect = byte_count(r.shape, elem);
    if (expect < 0 || r.bytes != expect)
      Reader::bad("record " + std::to_string(r.index) + " has " + std::to_string(r.bytes) +
                  " bytes for shape " + r.shape.to_string());
    r.data = in.take(static_cast<std::size_t>(r.bytes), "record values");
    b.records.push_back(r);
  }
  if (in.remaining() != 0)
    Reader::bad(std::to_string(in.remaining()) + " trailing bytes after the last record");
  return b;
}

}  // namespace records
}  // namespace comm
}  // namespace kinv
