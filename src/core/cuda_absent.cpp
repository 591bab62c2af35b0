// hpml::cuda (core/cuda.h) in a build without CUDA: nothing is available, and what needs a GPU
// says why. CMakeLists.txt builds this file instead of src/core/cuda/ when HPML_WITH_CUDA is off.
#include <atomic>

#include "hpml/core/cuda.h"
#include "hpml/core/graph.h"
#include "hpml/core/error.h"

namespace hpml::cuda {

namespace {
constexpr const char* kWhy = "hpml was not built with CUDA";
[[noreturn]] void refuse(const char* op) {
  HPML_FAIL("cuda::", op, ": ", kWhy, "\nhint: rebuild with the CUDA toolkit (cmake --preset cuda), or use the cpu or sim device");
}
}  // namespace

bool is_built() { return false; }
bool is_available() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return kWhy; }
int current_device() { refuse("current_device"); }
void set_device(int) { refuse("set_device"); }
void synchronize(int) { refuse("synchronize"); }
DeviceGuard::DeviceGuard(int) : previous_(-1) { refuse("DeviceGuard"); }
DeviceGuard::~DeviceGuard() = default;
DeviceProperties get_device_properties(int) { refuse("get_device_properties"); }
Versions versions(bool) { return {}; }
namespace {
std::atomic<bool> g_allow_tf32{false};
}
void set_matmul_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool matmul_allow_tf32() { return g_allow_tf32; }

size_t raw_allocation_count(int) { return 0; }

Stream Stream::create(int) { refuse("Stream::create"); }
bool Stream::query() const { refuse("Stream.query"); }
void Stream::synchronize() const { refuse("Stream.synchronize"); }
void Stream::wait_stream(const Stream&) const { refuse("Stream.wait_stream"); }
Stream default_stream(int) { refuse("default_stream"); }
Stream current_stream(int) { refuse("current_stream"); }
void set_stream(const Stream&) { refuse("set_stream"); }
StreamGuard::StreamGuard(const Stream& s) : previous_(s), device_(s.device_index()) {}  // DeviceGuard refuses
StreamGuard::~StreamGuard() = default;
Event::~Event() = default;
void Event::record(const Stream&) { refuse("Event.record"); }
void Event::record() { refuse("Event.record"); }
bool Event::query() const { return true; }  // nothing can have been recorded
void Event::synchronize() const {}
void Event::wait(const Stream&) const {}
double Event::elapsed_time(const Event&) const { refuse("Event.elapsed_time"); }
void record_stream(const Tensor&, const Stream&) { refuse("record_stream"); }
size_t memory_allocated(int) { refuse("memory_allocated"); }
size_t memory_reserved(int) { refuse("memory_reserved"); }
size_t max_memory_allocated(int) { refuse("max_memory_allocated"); }
void reset_peak_memory_stats(int) { refuse("reset_peak_memory_stats"); }
StreamAllocatorStats memory_stats(int) { refuse("memory_stats"); }
std::string memory_summary(int) { refuse("memory_summary"); }
void empty_cache(int) { refuse("empty_cache"); }

struct GraphState {};
Graph::Graph() = default;
Graph::~Graph() = default;
void Graph::capture_begin(const Stream&) { refuse("Graph.capture_begin"); }
void Graph::capture_end() { refuse("Graph.capture_end"); }
void Graph::capture(const Stream&, const std::function<void()>&) { refuse("Graph.capture"); }
void Graph::replay() { refuse("Graph.replay"); }
void Graph::reset() {}
size_t Graph::num_nodes() const { return 0; }
bool Graph::captured() const { return false; }
bool is_current_stream_capturing(int) { return false; }

}  // namespace hpml::cuda
