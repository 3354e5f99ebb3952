// The kinv::Error hierarchy. Host code reports every user error with one of these; messages
// name the rank, the operator index and the expected and actual values where they are known.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace kinv {

namespace impl {
// Rank of this process in the active DistributedContext, or -1 outside one. Errors use it
// so that a message printed by any rank says where it came from.
int process_rank() noexcept;
void set_process_rank(int rank) noexcept;
}  // namespace impl

/// Base of every error kinv throws.
class Error : public std::runtime_error {
 public:
  static constexpr int this_rank = -2;  ///< default: the rank of the calling process

  explicit Error(const std::string& message, std::int64_t operator_index = -1, int rank = this_rank)
      : Error("kinv::Error", message, operator_index, rank) {}

  /// Rank the error happened on (-1: not in a distributed context).
  int rank() const noexcept { return m_rank; }
  /// Operator index in its stack (-1: not about one operator).
  std::int64_t operator_index() const noexcept { return m_operator_index; }
  /// The message without the "kinv::Error [rank ..]" prefix.
  const std::string& message() const noexcept { return m_message; }
  /// The class name, e.g. "kinv::ShapeError".
  const std::string& kind() const noexcept { return m_kind; }

 protected:
  Error(const std::string& kind, const std::string& message, std::int64_t operator_index, int rank,
        bool show_where = true);

 private:
  std::string m_kind;
  std::string m_message;
  std::int64_t m_operator_index;
  int m_rank;
};

/// An argument or option has an invalid value.
class ValueError : public Error {
 public:
  explicit ValueError(const std::string& message, std::int64_t operator_index = -1,
                      int rank = this_rank)
      : Error("kinv::ValueError", message, operator_index, rank) {}
};

/// A tensor has the wrong shape (or a list the wrong length).
class ShapeError : public Error {
 public:
  ShapeError(const std::string& what, const std::string& expected, const std::string& actual,
             std::int64_t operator_index = -1, int rank = this_rank)
      : Error("kinv::ShapeError", what + ": expected " + expected + ", got " + actual,
              operator_index, rank),
        m_expected(expected),
        m_actual(actual) {}
  const std::string& expected() const noexcept { return m_expected; }
  const std::string& actual() const noexcept { return m_actual; }

 private:
  std::string m_expected, m_actual;
};

/// An object was used in a state that does not allow it (e.g. after finalisation).
class StateError : public Error {
 public:
  explicit StateError(const std::string& message, std::int64_t operator_index = -1,
                      int rank = this_rank)
      : Error("kinv::StateError", message, operator_index, rank) {}
};

/// The communication library reported a failure.
class CommError : public Error {
 public:
  explicit CommError(const std::string& message, int rank = this_rank)
      : Error("kinv::CommError", message, -1, rank) {}
};

/// Thrown on every rank when a collective call failed on some rank: rank() and
/// operator_index() name the first failing rank and its operator, message() holds that
/// rank's full error message (which names its kind, rank and operator).
class RemoteError : public Error {
 public:
  RemoteError(const std::string& origin_kind, const std::string& origin_what,
              std::int64_t operator_index, int origin_rank)
      : Error("kinv::RemoteError", origin_what, operator_index, origin_rank, false),
        m_origin_kind(origin_kind) {}
  /// The kind of the original error ("kinv::ShapeError", "std::bad_alloc", ...).
  const std::string& origin_kind() const noexcept { return m_origin_kind; }

 private:
  std::string m_origin_kind;
};

}  // namespace kinv
