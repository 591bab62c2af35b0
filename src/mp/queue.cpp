// mp::SimpleQueue: a SOCK_SEQPACKET socket pair carrying tensor handles and descriptors.
#include "hpml/mp/queue.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

#include "hpml/core/error.h"
#include "hpml/mp/shared_memory.h"
#include "mp/channel.h"

namespace hpml::mp {

// Note [Queues]
// A queue is one SOCK_SEQPACKET socket pair: put() writes to the first end, get() reads from
// the second, and every process that holds both ends can do either. A packet is delivered whole
// and to one reader, and sendmsg of a packet is atomic, so many writers and readers need no lock
// (Python's queues need one because a pipe is a byte stream). Each tensor goes as its handle's
// text plus a descriptor of its segment (SCM_RIGHTS): the receiver maps the segment from the
// descriptor, so the message stays valid even if the sender drops the tensor (and its segment's
// name) right after put(). A message costs the same whatever the tensor's size; only the first
// put of a private tensor pays for copying it into shared memory.

namespace {
constexpr size_t kMaxTensors = 250;  // the kernel passes at most 253 descriptors per message
}

SimpleQueue::SimpleQueue() {
  int fds[2];
  HPML_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0, "mp::SimpleQueue: socketpair failed: ",
             std::strerror(errno));
  send_fd_ = fds[0];
  recv_fd_ = fds[1];
}

SimpleQueue SimpleQueue::from_handle(const std::string& handle) {
  std::istringstream is(handle);
  int a = -1, b = -1;
  is >> a >> b;
  HPML_CHECK(is && a >= 0 && b >= 0, "mp::SimpleQueue::from_handle: malformed handle '", handle, "'");
  return SimpleQueue(a, b);
}

SimpleQueue::~SimpleQueue() {
  if (send_fd_ >= 0) close(send_fd_);
  if (recv_fd_ >= 0) close(recv_fd_);
}

SimpleQueue::SimpleQueue(SimpleQueue&& o) noexcept : send_fd_(o.send_fd_), recv_fd_(o.recv_fd_) {
  o.send_fd_ = o.recv_fd_ = -1;
}

SimpleQueue& SimpleQueue::operator=(SimpleQueue&& o) noexcept {
  std::swap(send_fd_, o.send_fd_);
  std::swap(recv_fd_, o.recv_fd_);
  return *this;
}

std::string SimpleQueue::handle() const { return std::to_string(send_fd_) + " " + std::to_string(recv_fd_); }

void SimpleQueue::put(const std::vector<Tensor>& tensors, const std::string& text) {
  HPML_CHECK(tensors.size() <= kMaxTensors, "mp::SimpleQueue::put: at most ", kMaxTensors,
             " tensors per message, got ", tensors.size());
  std::ostringstream os;
  os << text.size() << '\n' << text << tensors.size() << '\n';
  std::vector<int> fds;
  try {
    for (const Tensor& t : tensors) {
      os << share(t).serialize() << '\n';
      fds.push_back(segment_fd(t));
    }
  } catch (...) {
    for (int f : fds) close(f);
    throw;
  }
  const std::string msg = os.str();
  if (msg.size() > detail::kMaxPacket) {
    for (int f : fds) close(f);
    HPML_CHECK(false, "mp::SimpleQueue::put: a message of ", msg.size(), " bytes (", text.size(),
               " of text) is over the limit of ", detail::kMaxPacket, " bytes\nhint: send large data as a tensor");
  }
  const bool ok = detail::send_fds(send_fd_, msg, fds);
  const int err = errno;
  for (int f : fds) close(f);
  HPML_CHECK(ok, "mp::SimpleQueue::put: send of ", msg.size(), " bytes failed: ", std::strerror(err));
}

std::optional<Message> SimpleQueue::get(double timeout_s) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  std::string bytes;
  std::vector<int> fds;
  for (;;) {
    const double left =
        timeout_s < 0 ? -1.0 : std::max(0.0, timeout_s - std::chrono::duration<double>(clock::now() - t0).count());
    if (!detail::wait_readable(recv_fd_, left)) return std::nullopt;
    // Several readers may wake for one message: the ones that miss it wait again.
    if (detail::recv_fds(recv_fd_, bytes, fds, kMaxTensors + 3, /*dontwait=*/true)) break;
    HPML_CHECK(errno == EAGAIN || errno == EWOULDBLOCK, "mp::SimpleQueue::get: receive failed: ", std::strerror(errno));
  }
  std::istringstream is(bytes);
  size_t text_len = 0, n = 0;
  is >> text_len;
  is.get();
  Message m;
  m.text.resize(text_len);
  is.read(m.text.data(), static_cast<std::streamsize>(text_len));
  is >> n;
  is.get();
  if (!is || n != fds.size()) {
    for (int f : fds) close(f);
    HPML_CHECK(false, "mp::SimpleQueue::get: malformed message (", n, " handles, ", fds.size(), " descriptors)");
  }
  for (size_t i = 0; i < n; ++i) {
    std::string line;
    std::getline(is, line);
    TensorHandle h;
    try {
      h = TensorHandle::deserialize(line);
    } catch (...) {
      for (size_t j = i; j < n; ++j) close(fds[j]);
      throw;
    }
    try {
      m.tensors.push_back(mp::from_handle(h, fds[i]));  // consumes fds[i]
    } catch (...) {
      for (size_t j = i + 1; j < n; ++j) close(fds[j]);
      throw;
    }
  }
  return m;
}

bool SimpleQueue::empty() const { return !detail::wait_readable(recv_fd_, 0); }

}  // namespace hpml::mp
