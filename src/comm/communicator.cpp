// The MPI side of kinv::comm::Communicator (and a single-process stand-in without MPI).
#include <kinv/comm/communicator.hpp>
#include <kinv/core/profiling.hpp>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <typeinfo>
#if defined(__GNUG__)
#include <cxxabi.h>
#endif

#if KINV_HAVE_MPI
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <kinv/comm/mpi_interop.hpp>
#if defined(OPEN_MPI) && OPEN_MPI && __has_include(<mpi-ext.h>)
#include <mpi-ext.h>
#endif
#endif

namespace kinv {
namespace comm {

// ---------------------------------------------------------------------------------------------
// Status

void Status::fail(const std::string& k, const std::string& w, std::int64_t op) {
  if (!ok) return;
  ok = false;
  kind = k;
  what = w;
  operator_index = op;
}

void Status::rethrow_if_failed() const {
  if (ok) return;
  if (exception) std::rethrow_exception(exception);
  throw Error(what, operator_index);
}

namespace {
// "std::runtime_error" rather than "St13runtime_error".
std::string type_name(const std::type_info& t) {
#if defined(__GNUG__)
  int status = 0;
  char* name = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name ? name : t.name();
  std::free(name);
  return out;
#else
  return t.name();
#endif
}
}  // namespace

void Status::capture_current_exception() noexcept {
  if (!ok) return;
  exception = std::current_exception();
  try {
    throw;
  } catch (const Error& e) {
    fail(e.kind(), e.what(), e.operator_index());
  } catch (const std::bad_alloc& e) {
    fail(type_name(typeid(e)), std::string("out of memory: ") + e.what());
  } catch (const std::exception& e) {
    fail(type_name(typeid(e)), e.what());
  } catch (...) {
    fail("unknown exception", "an exception of unknown type");
  }
}

// ---------------------------------------------------------------------------------------------
// Impl

struct Communicator::Impl {
#if KINV_HAVE_MPI
  MPI_Comm comm = MPI_COMM_NULL;
#endif
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  bool gpu_aware = true;
  std::string gpu_aware_reason = "host memory";
  bool freed = false;
  std::vector<Kokkos::View<char*, compat::HostPinnedSpace>> staging;
  std::vector<int> icounts, idispls;  // allgatherv's int counts, reused between calls

  ~Impl() { release(); }
  void release() noexcept {
#if KINV_HAVE_MPI
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (comm != MPI_COMM_NULL && init && !fin) MPI_Comm_free(&comm);
    comm = MPI_COMM_NULL;
#endif
    staging.clear();
    freed = true;
  }
};

struct Requests::Impl {
#if KINV_HAVE_MPI
  std::vector<MPI_Request> requests;
#endif
  std::vector<std::function<void()>> after_wait;  // staged copies back to the device
};

Requests::Requests() : m_impl(new Impl) {}
Requests::~Requests() {
  // Never leave MPI writing into freed memory.
  if (m_impl && size() > 0) {
    try {
      wait();
    } catch (...) {
    }
  }
}
Requests::Requests(Requests&&) noexcept = default;
Requests& Requests::operator=(Requests&&) noexcept = default;

namespace {

#if KINV_HAVE_MPI
void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw CommError(std::string(what) +
                  " failed: " + std::string(msg, static_cast<std::size_t>(len)));
}

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}
template <>
MPI_Datatype mpi_type<std::int64_t>() {
  return MPI_INT64_T;
}

int to_int_count(std::int64_t n, const char* what) {
  if (n < 0 || n > INT_MAX)
    throw CommError(std::string(what) + ": " + std::to_string(n) +
                    " elements exceed MPI's int count limit");
  return static_cast<int>(n);
}

std::vector<int> to_int_counts(const std::vector<std::int64_t>& v, const char* what) {
  std::vector<int> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = to_int_count(v[i], what);
  return out;
}

// The same into a reused vector (no allocation once it has the size).
const std::vector<int>& to_int_counts(const std::vector<std::int64_t>& v, std::vector<int>& out,
                                      const char* what) {
  out.resize(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = to_int_count(v[i], what);
  return out;
}

// Decides whether buffers go to MPI directly. KINV_GPU_AWARE_MPI=0|1 overrides detection (0 also
// forces host staging for host memory, which lets the staged path be tested on any machine).
void detect_gpu_aware(Communicator::Impl& c) {
  if (const char* env = std::getenv("KINV_GPU_AWARE_MPI")) {
    const std::string v(env);
    if (v == "0" || v == "1") {
      c.gpu_aware = v == "1";
      c.gpu_aware_reason = "KINV_GPU_AWARE_MPI=" + v;
      return;
    }
  }
  if (memory_is_host_accessible) {
    c.gpu_aware = true;
    c.gpu_aware_reason = "host memory space";
    return;
  }
  c.gpu_aware = false;
  c.gpu_aware_reason = "no GPU-aware support detected";
#if defined(KOKKOS_ENABLE_CUDA)
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
  c.gpu_aware = MPIX_Query_cuda_support() == 1;
  c.gpu_aware_reason = "MPIX_Query_cuda_support";
  return;
#elif defined(MPIX_GPU_SUPPORT_CUDA)
  int ok = 0;
  if (MPIX_GPU_query_support(MPIX_GPU_SUPPORT_CUDA, &ok) == MPI_SUCCESS) {
    c.gpu_aware = ok != 0;
    c.gpu_aware_reason = "MPIX_GPU_query_support(CUDA)";
    return;
  }
#endif
#elif defined(KOKKOS_ENABLE_HIP)
#if defined(MPIX_ROCM_AWARE_SUPPORT) && MPIX_ROCM_AWARE_SUPPORT
  c.gpu_aware = MPIX_Query_rocm_support() == 1;
  c.gpu_aware_reason = "MPIX_Query_rocm_support";
  return;
#elif defined(MPIX_GPU_SUPPORT_HIP)
  int ok = 0;
  if (MPIX_GPU_query_support(MPIX_GPU_SUPPORT_HIP, &ok) == MPI_SUCCESS) {
    c.gpu_aware = ok != 0;
    c.gpu_aware_reason = "MPIX_GPU_query_support(HIP)";
    return;
  }
#endif
#elif defined(KOKKOS_ENABLE_SYCL) && defined(MPIX_GPU_SUPPORT_ZE)
  int ok = 0;
  if (MPIX_GPU_query_support(MPIX_GPU_SUPPORT_ZE, &ok) == MPI_SUCCESS) {
    c.gpu_aware = ok != 0;
    c.gpu_aware_reason = "MPIX_GPU_query_support(ZE)";
    return;
  }
#endif
  // Cray MPICH says so through its environment.
  if (const char* cray = std::getenv("MPICH_GPU_SUPPORT_ENABLED")) {
    if (std::string(cray) == "1") {
      c.gpu_aware = true;
      c.gpu_aware_reason = "MPICH_GPU_SUPPORT_ENABLED=1";
    }
  }
}

std::shared_ptr<Communicator::Impl> make_impl(MPI_Comm parent) {
  auto c = std::make_shared<Communicator::Impl>();
  check_mpi(MPI_Comm_dup(parent, &c->comm), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(c->comm, &c->rank);
  MPI_Comm_size(c->comm, &c->size);
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  MPI_Comm_rank(node, &c->local_rank);
  MPI_Comm_size(node, &c->local_size);
  MPI_Comm_free(&node);
  detect_gpu_aware(*c);
  return c;
}
#endif

// True when MPI is handed pointers into MemorySpace; false when buffers are staged on the host.
bool direct(const Communicator::Impl& c) { return c.gpu_aware; }

void require_live(const Communicator::Impl& c) {
  if (c.freed)
    throw StateError("the communicator was freed (its DistributedContext was finalised)");
}

// int64 words <-> bytes, for strings inside agree() payloads.
void append_string(std::vector<std::int64_t>& out, const std::string& s) {
  const std::size_t words = (s.size() + 7) / 8;
  const std::size_t at = out.size();
  out.resize(at + words, 0);
  if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
}
std::string read_string(const std::int64_t* words, std::int64_t len) {
  return std::string(reinterpret_cast<const char*>(words), static_cast<std::size_t>(len));
}

}  // namespace

std::size_t Requests::size() const noexcept {
#if KINV_HAVE_MPI
  return m_impl->requests.size() + m_impl->after_wait.size();
#else
  return m_impl->after_wait.size();
#endif
}

bool Requests::test() {
#if KINV_HAVE_MPI
  if (m_impl->requests.empty()) return true;
  int flag = 0;
  check_mpi(MPI_Testall(static_cast<int>(m_impl->requests.size()), m_impl->requests.data(), &flag,
                        MPI_STATUSES_IGNORE),
            "MPI_Testall");
  return flag != 0;
#else
  return true;
#endif
}

void Requests::wait() {
  const ProfilingRegion region("kinv::mpi::wait");
#if KINV_HAVE_MPI
  if (!m_impl->requests.empty()) {
    const int rc = MPI_Waitall(static_cast<int>(m_impl->requests.size()), m_impl->requests.data(),
                               MPI_STATUSES_IGNORE);
    m_impl->requests.clear();
    check_mpi(rc, "MPI_Waitall");
  }
#endif
  auto actions = std::move(m_impl->after_wait);
  m_impl->after_wait.clear();
  for (auto& a : actions) a();
}

// ---------------------------------------------------------------------------------------------
// PersistentRequests

#if KINV_HAVE_MPI && MPI_VERSION >= 4
#define KINV_BCAST_INIT MPI_Bcast_init
#elif KINV_HAVE_MPI && defined(OMPI_HAVE_MPI_EXT_PCOLLREQ) && OMPI_HAVE_MPI_EXT_PCOLLREQ
#define KINV_BCAST_INIT MPIX_Bcast_init
#endif

struct PersistentRequests::Impl {
#if KINV_HAVE_MPI
  std::vector<MPI_Request> requests;
#endif
};

PersistentRequests::PersistentRequests() : m_impl(new Impl) {}
PersistentRequests::~PersistentRequests() { clear(); }
PersistentRequests::PersistentRequests(PersistentRequests&&) noexcept = default;
PersistentRequests& PersistentRequests::operator=(PersistentRequests&& other) noexcept {
  if (this != &other) {
    clear();
    m_impl = std::move(other.m_impl);
  }
  return *this;
}

bool PersistentRequests::empty() const noexcept {
#if KINV_HAVE_MPI
  return !m_impl || m_impl->requests.empty();
#else
  return true;
#endif
}

void PersistentRequests::clear() noexcept {
#if KINV_HAVE_MPI
  if (!m_impl) return;
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin)
    for (auto& r : m_impl->requests)
      if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
  m_impl->requests.clear();
#endif
}

void PersistentRequests::start_and_wait() {
  const ProfilingRegion region("kinv::mpi::bcast_persistent");
#if KINV_HAVE_MPI
  auto& r = m_impl->requests;
  if (r.empty()) return;
  check_mpi(MPI_Startall(static_cast<int>(r.size()), r.data()), "MPI_Startall");
  check_mpi(MPI_Waitall(static_cast<int>(r.size()), r.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
#endif
}

bool Communicator::has_persistent_bcast() noexcept {
#ifdef KINV_BCAST_INIT
  // KINV_PERSISTENT_BCAST=0 turns them off (set it alike on every rank).
  static const bool on = [] {
    const char* env = std::getenv("KINV_PERSISTENT_BCAST");
    return env == nullptr || std::string(env) != "0";
  }();
  return on;
#else
  return false;
#endif
}

template <class T>
void Communicator::bcast_init(T* data, std::int64_t n, int root,
                              PersistentRequests& requests) const {
  require_live(*m_impl);
#ifdef KINV_BCAST_INIT
  MPI_Request req;
  check_mpi(KINV_BCAST_INIT(data, to_int_count(n, "MPI_Bcast_init"), mpi_type<T>(), root,
                            m_impl->comm, MPI_INFO_NULL, &req),
            "MPI_Bcast_init");
  requests.m_impl->requests.push_back(req);
#else
  (void)data;
  (void)n;
  (void)root;
  (void)requests;
  throw CommError("bcast_init: this MPI has no persistent broadcasts");
#endif
}

// ---------------------------------------------------------------------------------------------
// Communicator

Communicator::Communicator() {
#if KINV_HAVE_MPI
  if (mpi_is_initialized() && !mpi_is_finalized()) {
    m_impl = make_impl(MPI_COMM_SELF);
    return;
  }
#endif
  m_impl = std::make_shared<Impl>();
}

Communicator Communicator::duplicate_world() {
#if KINV_HAVE_MPI
  if (!mpi_is_initialized() || mpi_is_finalized())
    throw StateError("Communicator::duplicate_world: MPI is not initialised");
  return Communicator(make_impl(MPI_COMM_WORLD));
#else
  return Communicator();
#endif
}

int Communicator::rank() const { return m_impl->rank; }
int Communicator::size() const { return m_impl->size; }
int Communicator::local_rank() const { return m_impl->local_rank; }
int Communicator::local_size() const { return m_impl->local_size; }
bool Communicator::gpu_aware() const { return m_impl->gpu_aware; }
std::string Communicator::gpu_aware_reason() const { return m_impl->gpu_aware_reason; }
bool Communicator::is_freed() const { return m_impl->freed; }
void Communicator::free() { m_impl->release(); }

std::string Communicator::library_version() const {
#if KINV_HAVE_MPI
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(v, &len);
  std::string s(v, static_cast<std::size_t>(len));
  const auto nl = s.find_first_of("\n,");
  return nl == std::string::npos ? s : s.substr(0, nl);
#else
  return "none";
#endif
}

void Communicator::barrier() const {
  const ProfilingRegion region("kinv::mpi::barrier");
  require_live(*m_impl);
#if KINV_HAVE_MPI
  check_mpi(MPI_Barrier(m_impl->comm), "MPI_Barrier");
#endif
}

template <class T>
Kokkos::View<T*, compat::HostPinnedSpace> Communicator::staging(int slot, std::int64_t n) const {
  auto& s = m_impl->staging;
  if (static_cast<int>(s.size()) <= slot) s.resize(static_cast<std::size_t>(slot) + 1);
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
  if (s[slot].extent(0) < bytes)
    s[slot] = Kokkos::View<char*, compat::HostPinnedSpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "kinv::comm::staging"), bytes);
  return Kokkos::View<T*, compat::HostPinnedSpace>(reinterpret_cast<T*>(s[slot].data()),
                                                   static_cast<std::size_t>(n));
}

template <class T>
void Communicator::allgatherv(const Buffer<T>& send, const Buffer<T>& recv,
                              const std::vector<std::int64_t>& counts,
                              const std::vector<std::int64_t>& displs) const {
  const ProfilingRegion region("kinv::mpi::allgatherv");
  require_live(*m_impl);
  const int me = rank();
  if (static_cast<std::int64_t>(send.extent(0)) < counts.at(me))
    throw CommError("allgatherv: send buffer smaller than this rank's count");
  static const std::string label = "kinv::comm::allgatherv";
  compat::fence(label);
#if KINV_HAVE_MPI
  const auto& ic = to_int_counts(counts, m_impl->icounts, "MPI_Allgatherv");
  const auto& id = to_int_counts(displs, m_impl->idispls, "MPI_Allgatherv");
  if (direct(*m_impl)) {
    check_mpi(MPI_Allgatherv(send.data(), ic[me], mpi_type<T>(), recv.data(), ic.data(), id.data(),
                             mpi_type<T>(), m_impl->comm),
              "MPI_Allgatherv");
    return;
  }
  auto hs = staging<T>(0, counts[me]);
  auto hr = staging<T>(1, static_cast<std::int64_t>(recv.extent(0)));
  Kokkos::deep_copy(hs, Kokkos::subview(send, std::make_pair(std::int64_t(0), counts[me])));
  check_mpi(MPI_Allgatherv(hs.data(), ic[me], mpi_type<T>(), hr.data(), ic.data(), id.data(),
                           mpi_type<T>(), m_impl->comm),
            "MPI_Allgatherv");
  Kokkos::deep_copy(recv, hr);
#else
  Kokkos::deep_copy(Kokkos::subview(recv, std::make_pair(displs[0], displs[0] + counts[0])),
                    Kokkos::subview(send, std::make_pair(std::int64_t(0), counts[0])));
#endif
}

template <class T>
void Communicator::allgatherv_in_place(const Buffer<T>& buf, const std::vector<int>& counts,
                                       const std::vector<int>& displs) const {
  const ProfilingRegion region("kinv::mpi::allgatherv");
  require_live(*m_impl);
  const int me = rank();
  if (static_cast<std::int64_t>(buf.extent(0)) <
      static_cast<std::int64_t>(displs.at(me)) + counts.at(me))
    throw CommError("allgatherv: buffer smaller than this rank's block");
  static const std::string label = "kinv::comm::allgatherv";
  compat::fence(label);
#if KINV_HAVE_MPI
  if (direct(*m_impl)) {
    check_mpi(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf.data(), counts.data(),
                             displs.data(), mpi_type<T>(), m_impl->comm),
              "MPI_Allgatherv");
    return;
  }
  auto h = staging<T>(1, static_cast<std::int64_t>(buf.extent(0)));
  const auto mine = std::make_pair(static_cast<std::int64_t>(displs[me]),
                                   static_cast<std::int64_t>(displs[me]) + counts[me]);
  Kokkos::deep_copy(Kokkos::subview(h, mine), Kokkos::subview(buf, mine));
  check_mpi(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, h.data(), counts.data(),
                           displs.data(), mpi_type<T>(), m_impl->comm),
            "MPI_Allgatherv");
  Kokkos::deep_copy(
      buf, Kokkos::subview(
               h, std::make_pair(std::int64_t(0), static_cast<std::int64_t>(buf.extent(0)))));
#else
  (void)buf;
  (void)counts;
  (void)displs;
#endif
}

template <class T>
void Communicator::allreduce_sum(const Buffer<T>& buf) const {
  const ProfilingRegion region("kinv::mpi::allreduce");
  require_live(*m_impl);
  static const std::string label = "kinv::comm::allreduce";
  compat::fence(label);
  if (size() == 1) return;  // the sum over one rank is the buffer itself
#if KINV_HAVE_MPI
  const int n = to_int_count(static_cast<std::int64_t>(buf.extent(0)), "MPI_Allreduce");
  if (direct(*m_impl)) {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, buf.data(), n, mpi_type<T>(), MPI_SUM, m_impl->comm),
              "MPI_Allreduce");
    return;
  }
  auto h = staging<T>(0, n);
  Kokkos::deep_copy(h, buf);
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, h.data(), n, mpi_type<T>(), MPI_SUM, m_impl->comm),
            "MPI_Allreduce");
  Kokkos::deep_copy(buf, h);
#else
  (void)buf;
#endif
}

template <class T>
void Communicator::ibcast(const Buffer<T>& buf, int root, Requests& requests,
                          const Kokkos::View<T*, compat::HostPinnedSpace>& stage) const {
  const ProfilingRegion region("kinv::mpi::ibcast");
  require_live(*m_impl);
#if KINV_HAVE_MPI
  const int n = to_int_count(static_cast<std::int64_t>(buf.extent(0)), "MPI_Ibcast");
  MPI_Request req;
  if (direct(*m_impl)) {
    // Every rank fences: the root's data must be complete, and the others' buffers must not
    // be in use by kernels still running when MPI writes into them.
    static const std::string label = "kinv::comm::ibcast";
    compat::fence(label);
    check_mpi(MPI_Ibcast(buf.data(), n, mpi_type<T>(), root, m_impl->comm, &req), "MPI_Ibcast");
  } else {
    if (static_cast<std::int64_t>(stage.extent(0)) < n)
      throw CommError("ibcast: staging buffer too small");
    auto h = Kokkos::subview(stage, std::make_pair(0, n));
    if (root == rank()) Kokkos::deep_copy(h, buf);
    check_mpi(MPI_Ibcast(h.data(), n, mpi_type<T>(), root, m_impl->comm, &req), "MPI_Ibcast");
    if (root != rank())
      requests.m_impl->after_wait.push_back([buf, h] { Kokkos::deep_copy(buf, h); });
  }
  requests.m_impl->requests.push_back(req);
#else
  (void)buf;
  (void)root;
  (void)requests;
  (void)stage;
#endif
}

template <class T>
void Communicator::bcast(const Buffer<T>& buf, int root,
                         const Kokkos::View<T*, compat::HostPinnedSpace>& stage) const {
  const ProfilingRegion region("kinv::mpi::bcast");
  require_live(*m_impl);
#if KINV_HAVE_MPI
  const int n = to_int_count(static_cast<std::int64_t>(buf.extent(0)), "MPI_Bcast");
  if (direct(*m_impl)) {
    // Every rank fences: the root's data must be complete, and the others' buffers must not
    // be in use by kernels still running when MPI writes into them.
    static const std::string label = "kinv::comm::bcast";
    compat::fence(label);
    check_mpi(MPI_Bcast(buf.data(), n, mpi_type<T>(), root, m_impl->comm), "MPI_Bcast");
    return;
  }
  if (static_cast<std::int64_t>(stage.extent(0)) < n)
    throw CommError("bcast: staging buffer too small");
  auto h = Kokkos::subview(stage, std::make_pair(0, n));
  if (root == rank()) Kokkos::deep_copy(h, buf);
  check_mpi(MPI_Bcast(h.data(), n, mpi_type<T>(), root, m_impl->comm), "MPI_Bcast");
  if (root != rank()) Kokkos::deep_copy(buf, h);
#else
  (void)buf;
  (void)root;
  (void)stage;
#endif
}

void Communicator::iallreduce_max(int* value, Requests& requests) const {
  const ProfilingRegion region("kinv::mpi::iallreduce");
  require_live(*m_impl);
#if KINV_HAVE_MPI
  MPI_Request req;
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, value, 1, MPI_INT, MPI_MAX, m_impl->comm, &req),
            "MPI_Iallreduce");
  requests.m_impl->requests.push_back(req);
#else
  (void)value;
  (void)requests;
#endif
}

int Communicator::allreduce_max(int value) const {
  const ProfilingRegion region("kinv::mpi::allreduce");
  require_live(*m_impl);
#if KINV_HAVE_MPI
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MAX, m_impl->comm),
            "MPI_Allreduce");
#endif
  return value;
}

int Communicator::allreduce_min(int value) const {
  const ProfilingRegion region("kinv::mpi::allreduce");
  require_live(*m_impl);
#if KINV_HAVE_MPI
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MIN, m_impl->comm),
            "MPI_Allreduce");
#endif
  return value;
}

std::vector<std::int64_t> Communicator::allgather(std::int64_t value) const {
  const ProfilingRegion region("kinv::mpi::allgather");
  require_live(*m_impl);
  std::vector<std::int64_t> out(static_cast<std::size_t>(size()), value);
#if KINV_HAVE_MPI
  check_mpi(MPI_Allgather(&value, 1, MPI_INT64_T, out.data(), 1, MPI_INT64_T, m_impl->comm),
            "MPI_Allgather");
#endif
  return out;
}

void Communicator::allgatherv_host(const void* send, void* recv,
                                   const std::vector<std::int64_t>& counts,
                                   const std::vector<std::int64_t>& displs) const {
  const ProfilingRegion region("kinv::mpi::allgatherv");
  require_live(*m_impl);
  const int me = rank();
#if KINV_HAVE_MPI
  const auto& ic = to_int_counts(counts, m_impl->icounts, "MPI_Allgatherv");
  const auto& id = to_int_counts(displs, m_impl->idispls, "MPI_Allgatherv");
  check_mpi(
      MPI_Allgatherv(send, ic[me], MPI_BYTE, recv, ic.data(), id.data(), MPI_BYTE, m_impl->comm),
      "MPI_Allgatherv");
#else
  if (counts.at(me) > 0)
    std::memcpy(static_cast<char*>(recv) + displs.at(me), send,
                static_cast<std::size_t>(counts.at(me)));
#endif
}

std::vector<char> Communicator::allgatherv_bytes(const std::vector<char>& send,
                                                 std::vector<std::int64_t>& offsets) const {
  const ProfilingRegion region("kinv::mpi::allgatherv");
  const auto sizes = allgather(static_cast<std::int64_t>(send.size()));
  offsets.assign(sizes.size() + 1, 0);
  for (std::size_t r = 0; r < sizes.size(); ++r) offsets[r + 1] = offsets[r] + sizes[r];
  std::vector<char> recv(static_cast<std::size_t>(offsets.back()));
#if KINV_HAVE_MPI
  std::vector<std::int64_t> displs(offsets.begin(), offsets.end() - 1);
  const auto ic = to_int_counts(sizes, "MPI_Allgatherv");
  const auto id = to_int_counts(displs, "MPI_Allgatherv");
  check_mpi(MPI_Allgatherv(send.data(), ic[rank()], MPI_CHAR, recv.data(), ic.data(), id.data(),
                           MPI_CHAR, m_impl->comm),
            "MPI_Allgatherv");
#else
  std::copy(send.begin(), send.end(), recv.begin());
#endif
  return recv;
}

std::vector<char> Communicator::allgatherv_bytes(const std::vector<char>& send,
                                                 std::vector<std::int64_t>& offsets,
                                                 std::vector<std::int64_t>& sizes) const {
  const ProfilingRegion region("kinv::mpi::allgatherv");
  require_live(*m_impl);
  const int P = size();
  const std::int64_t prefix = sizeof(std::int64_t);
  const auto mine = static_cast<std::int64_t>(send.size());
  if (static_cast<int>(sizes.size()) == P) {
    // Slots of last call's sizes, each starting with its rank's true size.
    std::vector<std::int64_t> slot_at(static_cast<std::size_t>(P) + 1, 0);
    for (int r = 0; r < P; ++r) slot_at[r + 1] = slot_at[r] + prefix + sizes[r];
    std::vector<char> block(static_cast<std::size_t>(prefix + sizes[rank()]), 0);
    std::memcpy(block.data(), &mine, sizeof(mine));
    // memcpy takes no null pointer, not even for 0 bytes (an empty send has none).
    if (std::min(mine, sizes[rank()]) > 0)
      std::memcpy(block.data() + prefix, send.data(),
                  static_cast<std::size_t>(std::min(mine, sizes[rank()])));
    std::vector<char> slots(static_cast<std::size_t>(slot_at.back()));
#if KINV_HAVE_MPI
    std::vector<std::int64_t> counts(static_cast<std::size_t>(P));
    for (int r = 0; r < P; ++r) counts[r] = slot_at[r + 1] - slot_at[r];
    const auto ic = to_int_counts(counts, "MPI_Allgatherv");
    const auto id = to_int_counts(std::vector<std::int64_t>(slot_at.begin(), slot_at.end() - 1),
                                  "MPI_Allgatherv");
    check_mpi(MPI_Allgatherv(block.data(), ic[rank()], MPI_CHAR, slots.data(), ic.data(), id.data(),
                             MPI_CHAR, m_impl->comm),
              "MPI_Allgatherv");
#else
    slots = block;
#endif
    std::vector<std::int64_t> actual(static_cast<std::size_t>(P));
    bool fits = true;
    for (int r = 0; r < P; ++r) {
      std::memcpy(&actual[r], slots.data() + slot_at[r], sizeof(std::int64_t));
      fits = fits && actual[r] >= 0 && actual[r] <= sizes[r];
    }
    if (fits) {
      offsets.assign(static_cast<std::size_t>(P) + 1, 0);
      for (int r = 0; r < P; ++r) offsets[r + 1] = offsets[r] + actual[r];
      std::vector<char> recv(static_cast<std::size_t>(offsets.back()));
      for (int r = 0; r < P; ++r)
        if (actual[r] > 0)
          std::memcpy(recv.data() + offsets[r], slots.data() + slot_at[r] + prefix,
                      static_cast<std::size_t>(actual[r]));
      sizes = actual;
      return recv;
    }
  }
  std::vector<char> recv = allgatherv_bytes(send, offsets);
  sizes.assign(static_cast<std::size_t>(P), 0);
  for (int r = 0; r < P; ++r) sizes[r] = offsets[r + 1] - offsets[r];
  return recv;
}

void Communicator::broadcast_bytes(std::vector<char>& bytes, int root) const {
  const ProfilingRegion region("kinv::mpi::bcast");
  require_live(*m_impl);
#if KINV_HAVE_MPI
  std::int64_t n = static_cast<std::int64_t>(bytes.size());
  check_mpi(MPI_Bcast(&n, 1, MPI_INT64_T, root, m_impl->comm), "MPI_Bcast");
  bytes.resize(static_cast<std::size_t>(n));
  if (n > 0)
    check_mpi(MPI_Bcast(bytes.data(), to_int_count(n, "MPI_Bcast"), MPI_CHAR, root, m_impl->comm),
              "MPI_Bcast");
#else
  (void)bytes;
  (void)root;
#endif
}

std::vector<std::vector<std::int64_t>> Communicator::agree(
    const Status& status, const std::vector<std::int64_t>& payload) const {
  const ProfilingRegion region("kinv::mpi::agree");
  require_live(*m_impl);
  // Block: [ok, operator, kind bytes, what bytes, payload words] kind.. what.. payload..
  std::vector<std::int64_t> block = {
      status.ok ? 1 : 0, status.operator_index, static_cast<std::int64_t>(status.kind.size()),
      static_cast<std::int64_t>(status.what.size()), static_cast<std::int64_t>(payload.size())};
  append_string(block, status.kind);
  append_string(block, status.what);
  block.insert(block.end(), payload.begin(), payload.end());

  std::vector<std::int64_t> all = block;
  std::vector<std::int64_t> offsets = {0, static_cast<std::int64_t>(block.size())};
#if KINV_HAVE_MPI
  const auto sizes = allgather(static_cast<std::int64_t>(block.size()));
  offsets.assign(sizes.size() + 1, 0);
  for (std::size_t r = 0; r < sizes.size(); ++r) offsets[r + 1] = offsets[r] + sizes[r];
  all.assign(static_cast<std::size_t>(offsets.back()), 0);
  std::vector<std::int64_t> displs(offsets.begin(), offsets.end() - 1);
  const auto ic = to_int_counts(sizes, "MPI_Allgatherv");
  const auto id = to_int_counts(displs, "MPI_Allgatherv");
  check_mpi(MPI_Allgatherv(block.data(), ic[rank()], MPI_INT64_T, all.data(), ic.data(), id.data(),
                           MPI_INT64_T, m_impl->comm),
            "MPI_Allgatherv");
#endif
  std::vector<std::vector<std::int64_t>> payloads(offsets.size() - 1);
  for (std::size_t r = 0; r + 1 < offsets.size(); ++r) {
    const std::int64_t* b = all.data() + offsets[r];
    const std::int64_t kind_len = b[2], what_len = b[3], n = b[4];
    const std::int64_t* kind = b + 5;
    const std::int64_t* what = kind + (kind_len + 7) / 8;
    const std::int64_t* data = what + (what_len + 7) / 8;
    if (b[0] == 0)
      throw RemoteError(read_string(kind, kind_len), read_string(what, what_len), b[1],
                        static_cast<int>(r));
    payloads[r].assign(data, data + n);
  }
  return payloads;
}

#define KINV_INSTANTIATE_COMM(T)                                                                 \
  template void Communicator::allgatherv<T>(const Buffer<T>&, const Buffer<T>&,                  \
                                            const std::vector<std::int64_t>&,                    \
                                            const std::vector<std::int64_t>&) const;             \
  template void Communicator::allgatherv_in_place<T>(const Buffer<T>&, const std::vector<int>&,  \
                                                     const std::vector<int>&) const;             \
  template void Communicator::allreduce_sum<T>(const Buffer<T>&) const;                          \
  template void Communicator::ibcast<T>(const Buffer<T>&, int, Requests&,                        \
                                        const Kokkos::View<T*, compat::HostPinnedSpace>&) const; \
  template void Communicator::bcast_init<T>(T*, std::int64_t, int, PersistentRequests&) const;   \
  template void Communicator::bcast<T>(const Buffer<T>&, int,                                    \
                                       const Kokkos::View<T*, compat::HostPinnedSpace>&) const;  \
  template Kokkos::View<T*, compat::HostPinnedSpace> Communicator::staging<T>(int, std::int64_t) \
      const;

KINV_INSTANTIATE_COMM(float)
KINV_INSTANTIATE_COMM(double)
KINV_INSTANTIATE_COMM(std::int64_t)
#undef KINV_INSTANTIATE_COMM

#if KINV_HAVE_MPI
Communicator from_mpi(MPI_Comm comm) {
  if (!mpi_is_initialized() || mpi_is_finalized())
    throw StateError("comm::from_mpi: MPI is not initialised");
  if (comm == MPI_COMM_NULL) throw ValueError("comm::from_mpi: MPI_COMM_NULL");
  return Communicator(make_impl(comm));
}

MPI_Comm to_mpi(const Communicator& comm) {
  require_live(comm.impl());
  return comm.impl().comm;
}
#endif

// ---------------------------------------------------------------------------------------------

bool mpi_is_initialized() {
#if KINV_HAVE_MPI
  int f = 0;
  MPI_Initialized(&f);
  return f != 0;
#else
  return false;
#endif
}

bool mpi_is_finalized() {
#if KINV_HAVE_MPI
  int f = 0;
  MPI_Finalized(&f);
  return f != 0;
#else
  return false;
#endif
}

bool initialize_mpi(int* argc, char*** argv) {
#if KINV_HAVE_MPI
  if (mpi_is_finalized())
    throw StateError("MPI was already finalised; it cannot be initialised again");
  if (mpi_is_initialized()) return false;
  int provided = 0;
  check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  return true;
#else
  (void)argc;
  (void)argv;
  return false;
#endif
}

void finalize_mpi() {
#if KINV_HAVE_MPI
  if (mpi_is_initialized() && !mpi_is_finalized()) MPI_Finalize();
#endif
}

void abort_all(int code) {
#if KINV_HAVE_MPI
  if (mpi_is_initialized() && !mpi_is_finalized()) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

}  // namespace comm
}  // namespace kinv
