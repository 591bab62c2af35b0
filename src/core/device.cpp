// Device parsing and availability, and the runtime of each device type (core/device_runtime.h).
#include "hpml/core/device.h"

#include <charconv>

#include "hpml/core/cuda.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"
#include "hpml/core/pinned.h"
#include "hpml/core/sim.h"

namespace hpml {

#if HPML_WITH_CUDA
namespace cuda::detail {
const DeviceRuntime* device_runtime();  // src/core/cuda/runtime.cpp
}
#endif

namespace {
constexpr const char* kExpected = "(expected cpu, sim, sim:N, cuda or cuda:N)";

constexpr DeviceRuntime kCpuRuntime{
    .name = "cpu",
    .device_count = [] { return 1; },
    .current_device = [] { return 0; },
    .allocator = [](int) { return cpu_allocator(); },
    .memory_stats = [](int) { return cpu_allocator_stats(); },
    .empty_cache = [](int) { cpu_empty_cache(); },
    .synchronize = [](int) {},
    .pinned_allocator = page_locked_allocator,
    .is_pinned = is_page_locked,
    .is_initialized = [] { return false; },
};

constexpr DeviceRuntime kSimRuntime{
    .name = "sim",
    .device_count = sim::device_count,
    .current_device = sim::current_device,
    .allocator = sim::detail::device_allocator,
    .memory_stats = [](int i) { return sim::memory_stats(i); },
    .empty_cache = [](int i) { sim::empty_cache(i); },
    .synchronize = [](int i) { sim::synchronize(i); },
    .pinned_allocator = page_locked_allocator,  // its host side is the host's page-locked memory
    .is_pinned = is_page_locked,
    .is_initialized = sim::detail::is_initialized,
};
}  // namespace

const DeviceRuntime* device_runtime(DeviceType type) {
  switch (type) {
    case DeviceType::CPU: return &kCpuRuntime;
    case DeviceType::Sim: return &kSimRuntime;
#if HPML_WITH_CUDA
    case DeviceType::CUDA: return cuda::detail::device_runtime();  // src/core/cuda/runtime.cpp
#else
    case DeviceType::CUDA: return nullptr;  // a build without CUDA
#endif
  }
  return nullptr;
}

const char* device_type_name(DeviceType t) {
  switch (t) {
    case DeviceType::CPU: return "cpu";
    case DeviceType::CUDA: return "cuda";
    case DeviceType::Sim: return "sim";
  }
  return "?";
}

Device::Device(std::string_view spec) : type_(DeviceType::CPU), index_(-1) {
  auto parse_index = [&](std::string_view digits) {
    int v = -1;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    HPML_CHECK(ec == std::errc() && p == digits.data() + digits.size() && v >= 0 && v < 1024,
               "Device: invalid device string '", spec, "' ", kExpected);
    return v;
  };
  if (spec == "cpu") return;
  if (spec.starts_with("cpu:")) {
    parse_index(spec.substr(4));
    return;
  }
  for (DeviceType t : {DeviceType::CUDA, DeviceType::Sim}) {
    const std::string_view name = device_type_name(t);
    if (!spec.starts_with(name)) continue;
    const std::string_view rest = spec.substr(name.size());
    if (rest.empty()) {
      type_ = t;
      index_ = t == DeviceType::CUDA ? 0 : -1;
      return;
    }
    if (rest[0] != ':') break;
    type_ = t;
    index_ = static_cast<int16_t>(parse_index(rest.substr(1)));
    return;
  }
  HPML_FAIL("Device: invalid device string '", spec, "' ", kExpected);
}

std::string Device::str() const {
  if (is_cpu()) return "cpu";
  if (index_ < 0) return is_cuda() ? "cuda:0" : device_type_name(type_);
  return std::string(device_type_name(type_)) + ":" + std::to_string(index_);
}

void check_device_available(const Device& d, const char* op) {
  if (d.is_cpu()) return;
  const DeviceRuntime* rt = device_runtime(d.type());
  HPML_CHECK(rt, op, ": device ", d, " is not available: hpml was not built with CUDA",
             "\nhint: use the cpu device (or sim, the simulated GPU); this build has no CUDA backend");
  const int n = rt->device_count();
  HPML_CHECK(n > 0, op, ": device ", d, " is not available: this process has no ", rt->name, " device",
             d.is_cuda() ? " (" + cuda::unavailable_reason() + ")" : std::string(),
             "\nhint: use the cpu device (or sim, the simulated GPU)");
  HPML_CHECK(d.index() < n, op, ": device ", d, " is not available: this process has ", n, " ", rt->name,
             " device", n == 1 ? "" : "s", " (", rt->name, ":0 to ", rt->name, ":", n - 1, ")");
}

Device resolve_device(const Device& d, const char* op) {
  check_device_available(d, op);
  if (d.is_cpu() || d.has_index()) return d;
  return Device(d.type(), device_runtime(d.type())->current_device());
}

void synchronize(const Device& d) {
  if (d.is_cpu()) return;
  device_runtime(d.type())->synchronize(resolve_device(d, "synchronize").index());
}

Device default_pin_device() {
  const DeviceRuntime* cuda = device_runtime(DeviceType::CUDA);
  return cuda && cuda->device_count() > 0 ? Device(DeviceType::CUDA, 0) : kCPU;
}

bool is_pinned_memory(const void* p) {
  for (DeviceType t : {DeviceType::CPU, DeviceType::Sim, DeviceType::CUDA}) {
    const DeviceRuntime* rt = device_runtime(t);
    if (rt && rt->is_pinned(p)) return true;
  }
  return false;
}

const DeviceRuntime* initialized_device_runtime() {
  for (DeviceType t : {DeviceType::CUDA, DeviceType::Sim}) {
    const DeviceRuntime* rt = device_runtime(t);
    if (rt && rt->is_initialized()) return rt;
  }
  return nullptr;
}

AllocatorStats memory_stats(const Device& d) {
  const Device r = resolve_device(d, "memory_stats");
  return device_runtime(r.type())->memory_stats(r.is_cpu() ? 0 : r.index());
}

void empty_cache(const Device& d) {
  const Device r = resolve_device(d, "empty_cache");
  device_runtime(r.type())->empty_cache(r.is_cpu() ? 0 : r.index());
}

}  // namespace hpml
