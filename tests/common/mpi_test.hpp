// The MPI test harness: one DistributedContext for the whole run, and checks that combine
// every rank's verdict before asserting, so that all ranks agree on pass or fail and a test
// that fails on one rank cannot leave the others waiting.
#pragma once

#include <kinv/distributed/context.hpp>
#include <kinv/distributed/stacked_physics.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>

namespace kinv {
namespace test {

/// The context of the running MPI test program.
DistributedContext& context();

/// The three gather strategies, for tests that run each of them.
constexpr GatherStrategy all_strategies[] = {GatherStrategy::Naive, GatherStrategy::Concatenated,
                                             GatherStrategy::Broadcast};

/// Options that differ from the defaults in the gather strategy only.
inline DistributedOptions with_strategy(GatherStrategy s) {
  DistributedOptions o;
  o.gather_strategy = s;
  return o;
}

/// Local verdicts of one rank, combined over all ranks by `combine()`.
class RankChecks {
 public:
  /// Records a failure when `cond` is false.
  void expect(bool cond, const std::string& what) {
    if (!cond) m_log << "  - " << what << "\n";
  }
  void fail(const std::string& what) { expect(false, what); }
  /// Runs f; records a failure unless it throws E.
  template <class E, class F>
  void expect_throws(F&& f, const std::string& what) {
    try {
      f();
      fail(what + ": no exception");
    } catch (const E&) {
    } catch (const std::exception& e) {
      fail(what + ": wrong exception: " + e.what());
    }
  }
  /// Runs f; records any exception as a failure.
  template <class F>
  void no_throw(F&& f, const std::string& what) {
    try {
      f();
    } catch (const std::exception& e) {
      fail(what + ": " + e.what());
    }
  }
  bool ok_here() const { return m_log.str().empty(); }
  /// Collective: every rank's failures, prefixed with the rank ("" when all passed).
  std::string combine() const;

 private:
  std::ostringstream m_log;
};

}  // namespace test
}  // namespace kinv

/// Asserts (on every rank alike) that no rank recorded a failure in `checks`.
#define KINV_EXPECT_ALL_RANKS(checks)                                       \
  do {                                                                      \
    const std::string kinv_failures_ = (checks).combine();                  \
    EXPECT_TRUE(kinv_failures_.empty()) << "failures:\n" << kinv_failures_; \
  } while (0)
