// POSIX shared-memory segments, tensor handles, and Tensor::share_memory_().
#include "hpml/mp/shared_memory.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>

#include "hpml/core/error.h"
#include "hpml/core/tensor_impl.h"

namespace hpml::mp {

// Note [Shared-memory lifetime]
// A segment has two lifetimes: its name (an entry in /dev/shm) and its memory (alive while any
// process maps it). The process that creates a segment owns the name and unlinks it when its
// SharedSegment dies; receivers map it by name, and their mapping outlives the unlink. So a
// sender must keep a shared tensor alive until the receiver has mapped it - PyTorch asks the same
// of torch.multiprocessing ("keep the tensor alive until the consumer has it"). Names of dead
// owners are removed by the resource tracker (Note [Resource tracker]). Ownership is per
// process: a fork child inherits the parent's SharedSegment objects but not their names, so the
// child dropping a shared tensor never unlinks the parent's segment.

namespace {

std::string new_name() {
  static std::atomic<uint64_t> counter{0};
  static const uint32_t salt = std::random_device{}();
  std::ostringstream os;
  os << "/hpml." << getpid() << "." << std::hex << salt << "." << std::dec << counter.fetch_add(1);
  return os.str();
}

std::string errno_text() { return std::strerror(errno); }

uint64_t shm_free_bytes() {
  struct statvfs s {};
  if (statvfs("/dev/shm", &s) != 0) return 0;
  return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
}

// Note [Reserving shared memory]
// ftruncate only sets a segment's size: tmpfs allocates a page when it is first touched, so in a
// full /dev/shm the first write into the mapping dies of SIGBUS, far from the cause. So the pages
// are reserved up front with posix_fallocate, and a segment that cannot have them is an error
// that says how much was asked and how much is free (a request larger than the free space fails
// before any page is taken). Where the file system cannot fallocate (EOPNOTSUPP, EINVAL), the size
// is set with ftruncate after the same free-space check: the best that can be done there.
// Returns 0 or an errno.
int reserve(int fd, size_t nbytes) {
  if (nbytes > shm_free_bytes()) return ENOSPC;
  int rc;
  do rc = posix_fallocate(fd, 0, static_cast<off_t>(nbytes));
  while (rc == EINTR);
  if (rc == EOPNOTSUPP || rc == EINVAL) rc = ftruncate(fd, static_cast<off_t>(nbytes)) == 0 ? 0 : errno;
  return rc;
}

}  // namespace

SharedSegment::SharedSegment(std::string name, void* data, size_t size, bool owner)
    : name_(std::move(name)), data_(data), size_(size), owner_(owner), creator_(getpid()) {}

std::shared_ptr<SharedSegment> SharedSegment::create(size_t nbytes) {
  HPML_CHECK(nbytes > 0, "mp::SharedSegment::create: expected a positive size, got 0");
  std::string name = new_name();
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  HPML_CHECK(fd >= 0, "mp: cannot create shared-memory segment ", name, ": ", errno_text());
  detail::tracker_register(name);  // before anything can fail, so a crash here leaks nothing
  const int rc = reserve(fd, nbytes);
  void* p = rc == 0 ? mmap(nullptr, nbytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
  const int err = rc != 0 ? rc : errno;
  close(fd);
  if (p == MAP_FAILED) {
    shm_unlink(name.c_str());
    detail::tracker_unregister(name);
    if (err == ENOSPC || err == ENOMEM || err == EFBIG)
      HPML_CHECK(false, "mp::SharedSegment::create: needs ", nbytes, " bytes, ", shm_free_bytes(),
                 " free in /dev/shm (", std::strerror(err), ")\nhint: free /dev/shm (df -h /dev/shm; leftover "
                 "hpml.* segments of killed runs) or make it larger, or use smaller batches");
    HPML_CHECK(false, "mp::SharedSegment::create: cannot allocate ", nbytes, " bytes of shared memory (",
               std::strerror(err), ")\nhint: /dev/shm may be full or too small (df -h /dev/shm)");
  }
  return std::shared_ptr<SharedSegment>(new SharedSegment(std::move(name), p, nbytes, true));
}

std::shared_ptr<SharedSegment> SharedSegment::open(const std::string& name) {
  HPML_CHECK(!name.empty() && name[0] == '/' && name.find('/', 1) == std::string::npos && name.size() < 120,
             "mp: not a shared-memory segment name: '", name, "'");
  int fd = shm_open(name.c_str(), O_RDWR, 0600);
  HPML_CHECK(fd >= 0, "mp: cannot open shared-memory segment ", name, ": ", errno_text(),
             "\nhint: the sending process must keep a shared tensor alive until the receiver has it");
  return open_fd(name, fd);
}

std::shared_ptr<SharedSegment> SharedSegment::open_fd(const std::string& name, int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    close(fd);
    HPML_CHECK(false, "mp: shared-memory descriptor for ", name, " is empty or unreadable");
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int err = errno;
  close(fd);
  HPML_CHECK(p != MAP_FAILED, "mp: cannot map shared-memory segment ", name, ": ", std::strerror(err));
  return std::shared_ptr<SharedSegment>(new SharedSegment(name, p, size, false));
}

int SharedSegment::dup_fd() const {
  int fd = shm_open(name_.c_str(), O_RDWR, 0600);
  HPML_CHECK(fd >= 0, "mp: cannot reopen shared-memory segment ", name_, ": ", errno_text());
  return fd;
}

SharedSegment::~SharedSegment() {
  munmap(data_, size_);
  if (owner_ && !unlinked_) {
    try {
      unlink();
    } catch (...) {  // a destructor must not throw; the tracker removes the name at exit
    }
  }
}

bool SharedSegment::owns_name() const { return owner_ && !unlinked_ && getpid() == creator_; }

void SharedSegment::unlink() {
  // A fork child inherits this object but not the name: only the creating process unlinks it.
  if (!owner_ || unlinked_ || getpid() != creator_) return;
  unlinked_ = true;
  shm_unlink(name_.c_str());
  detail::tracker_unregister(name_);
}

Storage shared_storage(const std::shared_ptr<SharedSegment>& segment) {
  auto st = Storage::make(segment->data(), segment->size(), [segment](void*) {}, kCPU);
  st->replace_data(segment->data(), [segment](void*) {}, segment->name());
  return st;
}

std::string TensorHandle::serialize() const {
  std::ostringstream os;
  os << segment << ' ' << offset << ' ' << static_cast<int>(dtype) << ' ' << sizes.size();
  for (int64_t s : sizes) os << ' ' << s;
  for (int64_t s : strides) os << ' ' << s;
  os << ' ' << (requires_grad ? 1 : 0);
  return os.str();
}

TensorHandle TensorHandle::deserialize(const std::string& text) {
  std::istringstream is(text);
  TensorHandle h;
  int dt = -1;
  size_t nd = 0;
  is >> h.segment >> h.offset >> dt >> nd;
  HPML_CHECK(is && dt >= 0 && dt < kNumDTypes && nd <= 64, "mp::TensorHandle: malformed handle '", text, "'");
  h.dtype = static_cast<DType>(dt);
  h.sizes.resize(nd);
  h.strides.resize(nd);
  for (auto& s : h.sizes) is >> s;
  for (auto& s : h.strides) is >> s;
  int rg = 0;
  is >> rg;
  HPML_CHECK(static_cast<bool>(is), "mp::TensorHandle: malformed handle '", text, "'");
  h.requires_grad = rg != 0;
  return h;
}

TensorHandle share(const Tensor& t) {
  HPML_CHECK(t.defined(), "mp::share: undefined tensor");
  const_cast<Tensor&>(t).share_memory_();
  TensorHandle h;
  h.segment = t.impl()->storage()->shared_name();
  h.offset = t.storage_offset();
  h.sizes.assign(t.sizes().begin(), t.sizes().end());
  h.strides.assign(t.strides().begin(), t.strides().end());
  h.dtype = t.dtype();
  h.requires_grad = t.requires_grad();
  return h;
}

int segment_fd(const Tensor& t) {
  HPML_CHECK(t.is_shared(), "mp::segment_fd: the tensor is not in shared memory");
  const std::string& name = t.impl()->storage()->shared_name();
  int fd = shm_open(name.c_str(), O_RDWR, 0600);
  HPML_CHECK(fd >= 0, "mp: cannot reopen shared-memory segment ", name, ": ", errno_text());
  return fd;
}

Tensor from_handle(const TensorHandle& h, int fd) {
  auto seg = fd >= 0 ? SharedSegment::open_fd(h.segment, fd) : SharedSegment::open(h.segment);
  // The handle came from another process: check that every element it names lies inside.
  const auto item = static_cast<int64_t>(itemsize(h.dtype));
  __int128 lo = h.offset, hi = h.offset;  // 128-bit: sizes and strides from outside may be huge
  bool empty = false;
  for (size_t d = 0; d < h.sizes.size(); ++d) {
    HPML_CHECK(h.sizes[d] >= 0, "mp::from_handle: negative size in handle of ", h.segment);
    if (h.sizes[d] == 0) empty = true;
    const __int128 span = static_cast<__int128>(h.sizes[d] - 1) * h.strides[d];
    (span < 0 ? lo : hi) += span;
  }
  HPML_CHECK(h.offset >= 0 && (empty || (lo >= 0 && (hi + 1) * item <= static_cast<__int128>(seg->size()))),
             "mp::from_handle: the handle (offset ", h.offset, ", sizes ", IntArrayRef(h.sizes), ", strides ",
             IntArrayRef(h.strides), ") addresses elements of ", item,
             " bytes outside segment ", h.segment, " of ", seg->size(), " bytes");
  Tensor t(IntrusivePtr<TensorImpl>::make(shared_storage(seg), h.dtype, h.sizes, h.strides, h.offset));
  if (h.requires_grad) t.requires_grad_(true);
  return t;
}

std::vector<std::string> list_segments() {
  std::vector<std::string> out;
  if (DIR* d = opendir("/dev/shm")) {
    while (dirent* e = readdir(d))
      if (std::strncmp(e->d_name, "hpml.", 5) == 0) out.push_back(std::string("/") + e->d_name);
    closedir(d);
  }
  return out;
}

}  // namespace hpml::mp

namespace hpml {

Tensor& Tensor::share_memory_() {
  HPML_CHECK(defined(), "share_memory_: undefined tensor");
  HPML_CHECK(device() == kCPU, "share_memory_: only CPU tensors can be shared, got ", device());
  StorageImpl* st = impl()->storage().get();
  if (!st->shared_name().empty()) return *this;
  auto seg = mp::SharedSegment::create(std::max<size_t>(st->nbytes(), 1));
  if (st->nbytes() > 0) std::memcpy(seg->data(), st->data(), st->nbytes());
  st->replace_data(seg->data(), [seg](void*) {}, seg->name());
  return *this;
}

bool Tensor::is_shared() const { return defined() && !impl()->storage()->shared_name().empty(); }

}  // namespace hpml
