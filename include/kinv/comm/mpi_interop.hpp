// Conversions between kinv::comm::Communicator and MPI_Comm for codes that already own MPI
// communicators. Including this header requires mpi.h; the rest of kinv does not.
#pragma once

#include <kinv/comm/communicator.hpp>

#include <mpi.h>

namespace kinv {
namespace comm {

/// A Communicator owning a duplicate of `comm` (collective over `comm`).
Communicator from_mpi(MPI_Comm comm);
/// The MPI communicator a Communicator owns (valid until it is freed).
MPI_Comm to_mpi(const Communicator& comm);

}  // namespace comm
}  // namespace kinv
