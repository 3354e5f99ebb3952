#include <kinv/core/error.hpp>

#include <atomic>

namespace kinv {
namespace impl {
namespace {
std::atomic<int> g_process_rank{-1};
}
int process_rank() noexcept { return g_process_rank.load(std::memory_order_relaxed); }
void set_process_rank(int rank) noexcept { g_process_rank.store(rank, std::memory_order_relaxed); }
}  // namespace impl

namespace {
std::string format(const std::string& kind, const std::string& message, std::int64_t operator_index,
                   int rank, bool show_where) {
  if (!show_where) return kind + ": " + message;
  std::string where;
  if (rank >= 0) where += "rank " + std::to_string(rank);
  if (operator_index >= 0) {
    if (!where.empty()) where += ", ";
    where += "operator " + std::to_string(operator_index);
  }
  return kind + (where.empty() ? "" : " [" + where + "]") + ": " + message;
}
}  // namespace

Error::Error(const std::string& kind, const std::string& message, std::int64_t operator_index,
             int rank, bool show_where)
    : std::runtime_error(format(kind, message, operator_index,
                                rank == this_rank ? impl::process_rank() : rank, show_where)),
      m_kind(kind),
      m_message(message),
      m_operator_index(operator_index),
      m_rank(rank == this_rank ? impl::process_rank() : rank) {}

}  // namespace kinv
