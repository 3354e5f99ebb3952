#include <kinv/comm/records.hpp>
#include <kinv/core/error.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

namespace kinv {
namespace comm {
namespace records {

namespace {

// Writes fields at increasing positions of a block; with out == nullptr it only measures.
class Writer {
 public:
  explicit Writer(char* out) : m_out(out) {}
  template <class V>
  void put(V v) {
    if (m_out) std::memcpy(m_out + m_at, &v, sizeof(V));
    m_at += sizeof(V);
  }
  void put_bytes(const void* p, std::size_t n) {
    if (m_out && n) std::memcpy(m_out + m_at, p, n);
    m_at += n;
  }
  void put_shape(const Shape& s) {
    put<std::int32_t>(s.rank());
    for (int i = 0; i < s.rank(); ++i) put<std::int64_t>(s[i]);
  }
  // Zero bytes up to the next multiple of value_alignment.
  void pad() {
    const std::size_t n = padding(m_at);
    if (m_out && n) std::memset(m_out + m_at, 0, n);
    m_at += n;
  }
  void skip(std::size_t n) { m_at += n; }
  std::size_t at() const { return m_at; }
  static std::size_t padding(std::size_t at) {
    return (value_alignment - at % value_alignment) % value_alignment;
  }

 private:
  char* m_out;
  std::size_t m_at = 0;
};

// Writes (or, with out == nullptr, measures) a block; values_at receives each record's values
// offset when not null.
std::size_t write_block(char* out, const Header& h, const std::vector<Record>& records,
                        std::vector<std::size_t>* values_at) {
  Writer w(out);
  w.put<std::uint32_t>(magic);
  w.put<std::uint16_t>(version);
  w.put<std::uint8_t>(static_cast<std::uint8_t>(h.scalar));
  w.put<std::uint8_t>(h.ok ? 1 : 0);
  w.put<std::int64_t>(h.num_operators);
  w.put<std::int64_t>(h.operator_index);
  w.put<std::int64_t>(static_cast<std::int64_t>(records.size()));
  w.put<std::int64_t>(static_cast<std::int64_t>(h.kind.size()));
  w.put_bytes(h.kind.data(), h.kind.size());
  w.put<std::int64_t>(static_cast<std::int64_t>(h.what.size()));
  w.put_bytes(h.what.data(), h.what.size());
  w.put_shape(h.input);
  for (const auto& r : records) {
    if (r.bytes < 0)
      throw ValueError("naive-gather record " + std::to_string(r.index) +
                       " has a negative byte count " + std::to_string(r.bytes));
    w.put<std::int64_t>(r.index);
    w.put_shape(r.shape);
    w.put<std::int64_t>(r.bytes);
    w.pad();
    if (values_at) values_at->push_back(w.at());
    if (r.data)
      w.put_bytes(r.data, static_cast<std::size_t>(r.bytes));
    else
      w.skip(static_cast<std::size_t>(r.bytes));
  }
  return w.at();
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
  // Skips the zero padding before a record's values.
  void padding(const char* field) {
    const std::size_t n = Writer::padding(m_at);
    const char* p = take(n, field);
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] != 0) bad(std::string(field) + " is not zero");
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

Plan plan(const Header& header, const std::vector<Record>& records) {
  Plan p;
  p.values_at.reserve(records.size());
  p.size = write_block(nullptr, header, records, &p.values_at);
  return p;
}

void encode_into(char* out, const Header& header, const std::vector<Record>& records,
                 const Plan& plan) {
  if (plan.values_at.size() != records.size())
    throw ValueError("naive-gather encode: a plan for " + std::to_string(plan.values_at.size()) +
                     " records given with " + std::to_string(records.size()));
  const std::size_t n = write_block(out, header, records, nullptr);
  if (n != plan.size)
    throw ValueError("naive-gather encode: the plan is for " + std::to_string(plan.size) +
                     " bytes, the block has " + std::to_string(n));
}

std::vector<char> encode(const Header& header, const std::vector<Record>& records) {
  const Plan p = plan(header, records);
  std::vector<char> out(p.size);
  encode_into(out.data(), header, records, p);
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
  // The count is only claimed by the sender: reserve no more records than the bytes left can
  // hold (each takes at least its index, rank and byte count).
  constexpr std::size_t min_record =
      sizeof(std::int64_t) + sizeof(std::int32_t) + sizeof(std::int64_t);
  b.records.reserve(std::min(static_cast<std::size_t>(n), in.remaining() / min_record));
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
    in.padding("record padding");
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
