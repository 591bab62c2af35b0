// The fake device the stream-ordered allocator's tests run over (stream_allocator_test.cpp,
// stream_allocator_events_test.cpp): capacity, streams and event completion the tests control.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/stream_allocator.h"

namespace hpml::testing {

constexpr size_t KiB = 1024, MiB = 1024 * 1024;

// A device with `capacity` bytes: segments are real (aligned) host memory, events are integers
// that complete only when the test says so (or when the allocator synchronizes on them).
class FakeMemory : public DeviceMemory {
 public:
  explicit FakeMemory(size_t capacity = SIZE_MAX) : capacity_(capacity) {}
  ~FakeMemory() override {
    for (auto& [p, n] : live_) std::free(p);
  }
  Device device() const override { return Device(DeviceType::Sim, 0); }
  void* alloc(size_t size) override {
    std::lock_guard<std::mutex> g(mu_);
    ++alloc_calls;
    if (size == 0 || size % 512 != 0) ++errors;
    if (size > capacity_ - in_use_) return nullptr;
    void* p = std::aligned_alloc(512, (size + 511) / 512 * 512);
    if (!p) return nullptr;
    live_[p] = size;
    in_use_ += size;
    allocs.push_back({p, size});
    return p;
  }
  void free(void* p, size_t size) override {
    std::lock_guard<std::mutex> g(mu_);
    ++free_calls;
    auto it = live_.find(p);
    if (it == live_.end()) { ++errors; return; }
    if (it->second != size) ++errors;
    in_use_ -= it->second;
    std::free(p);
    live_.erase(it);
  }
  StreamId current_stream() override { return stream.load(); }
  EventId record_event(StreamId s) override {
    std::lock_guard<std::mutex> g(mu_);
    ++record_calls;
    EventId e = next_event_++;
    events_[e] = Event{s, false, false};
    return e;
  }
  bool event_done(EventId e) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = events_.find(e);
    if (it == events_.end() || it->second.released) { ++errors; return true; }
    return it->second.done;
  }
  void event_synchronize(EventId e) override {
    std::lock_guard<std::mutex> g(mu_);
    ++sync_calls;
    auto it = events_.find(e);
    if (it == events_.end() || it->second.released) { ++errors; return; }
    it->second.done = true;
  }
  void event_release(EventId e) override {
    std::lock_guard<std::mutex> g(mu_);
    ++release_calls;
    auto it = events_.find(e);
    if (it == events_.end() || it->second.released) { ++errors; return; }
    it->second.released = true;
  }
  // The work queued so far on `s` has finished.
  void complete(StreamId s) {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [e, ev] : events_)
      if (ev.stream == s) ev.done = true;
  }
  size_t in_use() {
    std::lock_guard<std::mutex> g(mu_);
    return in_use_;
  }

  struct Segment { void* ptr; size_t size; };
  std::atomic<StreamId> stream{1};
  std::vector<Segment> allocs;  // every segment handed out, in order
  int alloc_calls = 0, free_calls = 0, record_calls = 0, sync_calls = 0, release_calls = 0;
  int errors = 0;  // bad sizes, double or unknown frees, use of released events

 private:
  struct Event { StreamId stream; bool done, released; };
  std::mutex mu_;
  size_t capacity_, in_use_ = 0;
  std::map<void*, size_t> live_;
  std::map<EventId, Event> events_;
  EventId next_event_ = 100;
};

// The device first, so that it outlives the allocator.
struct Env {
  explicit Env(size_t capacity = SIZE_MAX) : mem(capacity), alloc(&mem) {}
  FakeMemory mem;
  StreamCachingAllocator alloc;
};

inline bool inside(const void* p, const void* base, size_t n) {
  auto a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(base);
  return a >= b && a < b + n;
}

}  // namespace hpml::testing
