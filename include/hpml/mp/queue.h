// Queues between processes (torch.multiprocessing's Queue / SimpleQueue): a message is a short
// text plus tensors, and a tensor travels as a handle to its shared memory (segment, offset,
// sizes, strides, dtype) with the segment's file descriptor attached - never its data. The
// receiver maps the same memory, so it sees the sender's later writes. See Note [Queues].
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hpml/core/tensor.h"

namespace hpml::mp {

struct Message {
  std::string text;
  std::vector<Tensor> tensors;
};

class SimpleQueue {
 public:
  SimpleQueue();
  // The queue whose handle() another process sent (spawned children get the descriptors
  // through ProcessOptions::pass_fds = queue.fds()).
  static SimpleQueue from_handle(const std::string& handle);
  ~SimpleQueue();
  SimpleQueue(SimpleQueue&& o) noexcept;
  SimpleQueue& operator=(SimpleQueue&& o) noexcept;
  SimpleQueue(const SimpleQueue&) = delete;
  SimpleQueue& operator=(const SimpleQueue&) = delete;

  // Moves each tensor to shared memory (share_memory_, in place) if it is not there yet, and
  // sends the handles. Blocks while the queue is full. Safe from many processes at once.
  void put(const std::vector<Tensor>& tensors, const std::string& text = "");
  void put(const Tensor& t) { put(std::vector<Tensor>{t}); }
  // The next message; nullopt after timeout_s seconds (< 0: wait forever). Safe from many
  // processes at once (each message goes to exactly one reader).
  std::optional<Message> get(double timeout_s = -1);
  bool empty() const;

  std::string handle() const;
  std::vector<int> fds() const { return {send_fd_, recv_fd_}; }

 private:
  SimpleQueue(int send_fd, int recv_fd) : send_fd_(send_fd), recv_fd_(recv_fd) {}
  int send_fd_ = -1, recv_fd_ = -1;
};

// PyTorch's Queue adds a size bound and a timeout on put; in hpml both kinds share one
// implementation (a put blocks only while the socket buffer is full).
using Queue = SimpleQueue;

}  // namespace hpml::mp
