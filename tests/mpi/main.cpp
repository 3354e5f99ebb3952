// Entry point of the MPI tests: MPI and Kokkos up through one DistributedContext, results
// printed by rank 0, exit status agreed over ranks. A rank that dies takes the job down
// (std::terminate -> MPI_Abort) instead of leaving the others waiting.
#include <kinv/distributed/context.hpp>

#include "mpi_test.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>

namespace kinv {
namespace test {
namespace {
DistributedContext* g_context = nullptr;
}

DistributedContext& context() { return *g_context; }

std::string RankChecks::combine() const {
  const auto& c = context().comm();
  const std::string mine = m_log.str();
  std::vector<char> bytes(mine.begin(), mine.end());
  std::vector<std::int64_t> offsets;
  const auto all = c.allgatherv_bytes(bytes, offsets);
  std::string out;
  for (int r = 0; r < c.size(); ++r)
    if (offsets[r + 1] > offsets[r])
      out += "rank " + std::to_string(r) + ":\n" +
             std::string(all.data() + offsets[r],
                         static_cast<std::size_t>(offsets[r + 1] - offsets[r]));
  return out;
}

}  // namespace test
}  // namespace kinv

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // An exception that escapes a test must not leave the other ranks waiting in a collective:
  // let it reach std::terminate, which aborts the whole job.
  ::testing::GTEST_FLAG(catch_exceptions) = false;
  std::set_terminate([] {
    std::cerr << "kinv MPI test: std::terminate on this rank; aborting the job" << std::endl;
    kinv::comm::abort_all(3);
  });
  int rc = 0;
  {
    kinv::DistributedContext ctx(argc, argv);
    kinv::test::g_context = &ctx;
    if (ctx.rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
    rc = RUN_ALL_TESTS();
    rc = ctx.comm().allreduce_max(rc);
    kinv::test::g_context = nullptr;
  }
  return rc;
}
