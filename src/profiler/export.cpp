// Writing a recording out: Chrome's trace event JSON, folded stacks for flame graphs, and the
// memory timeline (include/hpml/profiler/profiler.h).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "hpml/core/dtype.h"
#include "hpml/core/error.h"
#include "hpml/core/file.h"
#include "hpml/profiler/profiler.h"

namespace hpml::profiler {

namespace {

std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Note [Trace times]
// Times in the file are microseconds from the earliest moment of the recording (its start, or an
// earlier task of a worker process), written exactly with three decimals: a child that lies
// inside its parent in nanoseconds lies inside it in the file too. Absolute CLOCK_MONOTONIC
// microseconds would need 16 digits on a machine up for months, past what a double holds.
// "baseTimeNanoseconds" keeps the clock reading of time 0, as PyTorch's traces do.
std::string us(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%03" PRId64, ns / 1000, ns % 1000);
  return buf;
}

std::string args_of(const record::Event& e) {
  std::string a = "{\"Device\": " + quoted(e.device.str());
  if (!e.inputs.empty()) {
    a += ", \"Input Dims\": [";
    for (size_t i = 0; i < e.inputs.size(); ++i) {
      a += i ? ", [" : "[";
      for (size_t d = 0; d < e.inputs[i].sizes.size(); ++d) a += (d ? ", " : "") + std::to_string(e.inputs[i].sizes[d]);
      a += "]";
    }
    a += "], \"Input type\": [";
    for (size_t i = 0; i < e.inputs.size(); ++i) a += (i ? ", " : "") + quoted(dtype_name(e.inputs[i].dtype));
    a += "]";
  }
  if (e.sequence_nr >= 0) a += ", \"Sequence number\": " + std::to_string(e.sequence_nr);
  if (e.bytes_allocated || e.bytes_freed)
    a += ", \"Bytes allocated\": " + std::to_string(e.bytes_allocated) +
         ", \"Bytes freed\": " + std::to_string(e.bytes_freed);
  return a + "}";
}

void metadata(std::string& out, const char* what, int32_t pid, int32_t tid, const std::string& name) {
  out += "{\"ph\": \"M\", \"name\": \"" + std::string(what) + "\", \"pid\": " + std::to_string(pid) +
         ", \"tid\": " + std::to_string(tid) + ", \"args\": {\"name\": " + quoted(name) + "}},\n";
}

// Flow arrows from each op to the backward of the node it recorded (PyTorch's "fwdbwd").
void flows(std::string& out, const std::vector<record::Event>& ev, int64_t base) {
  std::map<int64_t, size_t> forward;
  for (size_t i = 0; i < ev.size(); ++i)
    if (ev[i].kind == record::Kind::op && ev[i].sequence_nr >= 0) forward.try_emplace(ev[i].sequence_nr, i);
  for (const record::Event& b : ev) {
    if (b.kind != record::Kind::backward || b.sequence_nr < 0) continue;
    auto it = forward.find(b.sequence_nr);
    if (it == forward.end()) continue;
    const record::Event& f = ev[it->second];
    const std::string id = std::to_string(b.sequence_nr);
    out += "{\"ph\": \"s\", \"id\": " + id +
           ", \"cat\": \"fwdbwd\", \"name\": \"fwdbwd\", \"pid\": " + std::to_string(f.pid) +
           ", \"tid\": " + std::to_string(f.tid) + ", \"ts\": " + us(f.start_ns - base) + "},\n";
    out += "{\"ph\": \"f\", \"bp\": \"e\", \"id\": " + id +
           ", \"cat\": \"fwdbwd\", \"name\": \"fwdbwd\", \"pid\": " + std::to_string(b.pid) +
           ", \"tid\": " + std::to_string(b.tid) + ", \"ts\": " + us(b.start_ns - base) + "},\n";
  }
}

}  // namespace

void Profile::export_chrome_trace(const std::string& path) const {
  const record::Recording& r = result_;
  int64_t base = r.start_ns;  // Note [Trace times]
  for (const record::Event& e : r.events) base = std::min(base, e.start_ns);
  std::vector<std::pair<Device, std::vector<MemoryPoint>>> memory;  // one counter per device
  for (Device d : memory_devices()) memory.emplace_back(d, memory_timeline(d));
  for (const auto& [d, points] : memory)
    for (const MemoryPoint& m : points) base = std::min(base, m.t_ns);
  std::string out =
      "{\"displayTimeUnit\": \"ms\", \"baseTimeNanoseconds\": " + std::to_string(base) + ", \"traceEvents\": [\n";
  metadata(out, "process_name", r.pid, 0, "hpml (pid " + std::to_string(r.pid) + ")");
  for (const auto& [pid, name] : r.process_names)
    metadata(out, "process_name", pid, 0, name + " (pid " + std::to_string(pid) + ")");
  std::set<std::pair<int32_t, int32_t>> threads;
  for (const record::Event& e : r.events) threads.emplace(e.pid, e.tid);
  for (const auto& [pid, tid] : threads) {
    std::string name = tid == pid ? "main thread" : "thread " + std::to_string(tid);
    for (const auto& [t, n] : r.thread_names)
      if (t == tid) name = n;
    metadata(out, "thread_name", pid, tid, name);
  }
  for (const record::Event& e : r.events) {
    out += "{\"ph\": \"X\", \"cat\": \"" + std::string(record::kind_name(e.kind)) + "\", \"name\": " + quoted(e.name) +
           ", \"pid\": " + std::to_string(e.pid) + ", \"tid\": " + std::to_string(e.tid) +
           ", \"ts\": " + us(e.start_ns - base) + ", \"dur\": " + us(e.end_ns - e.start_ns) +
           ", \"args\": " + args_of(e) + "},\n";
  }
  flows(out, r.events, base);
  for (const auto& [d, points] : memory) {
    const std::string counter = d.is_cpu() ? "CPU memory" : d.str() + " memory";
    for (const MemoryPoint& m : points)
      out += "{\"ph\": \"C\", \"name\": \"" + counter + "\", \"pid\": " + std::to_string(r.pid) +
             ", \"ts\": " + us(m.t_ns - base) +
             ", \"args\": {\"allocated MB\": " + std::to_string(static_cast<double>(m.bytes) / (1 << 20)) + "}},\n";
  }
  out.resize(out.size() - 2);  // the last ",\n" (there is always the process name)
  out += "\n]}\n";
  write_file_atomic(path, out, "export_chrome_trace");
}

void Profile::export_stacks(const std::string& path, const std::string& metric) const {
  HPML_CHECK(metric == "self_cpu_time_total", "export_stacks: unknown metric '", metric, "'; use self_cpu_time_total");
  const auto& ev = result_.events;
  const std::vector<int64_t> parent = parents(ev), self = self_times(ev, parent);
  std::map<std::string, int64_t> stacks;  // sorted: the same file for the same recording
  for (size_t i = 0; i < ev.size(); ++i) {
    if (ev[i].kind == record::Kind::kernel) continue;  // device time, not the CPU's
    std::string stack = ev[i].name;
    for (int64_t p = parent[i]; p >= 0; p = parent[static_cast<size_t>(p)])
      stack = ev[static_cast<size_t>(p)].name + ";" + stack;
    stacks[stack] += self[i];
  }
  std::string out;
  for (const auto& [stack, ns] : stacks)
    if (ns / 1000 > 0) out += stack + " " + std::to_string(ns / 1000) + "\n";
  write_file_atomic(path, out, "export_stacks");
}

std::vector<MemoryPoint> Profile::memory_timeline(Device device) const {
  std::vector<MemoryPoint> out;
  int64_t held = device.is_cpu() ? result_.memory_at_start : 0;
  for (const record::MemorySample& m : result_.memory) {
    if (m.pid != result_.pid || m.device != device) continue;
    held += m.delta;
    out.push_back({m.t_ns, held});
  }
  return out;
}

std::vector<Device> Profile::memory_devices() const {
  std::vector<Device> out;
  for (const record::MemorySample& m : result_.memory)
    if (m.pid == result_.pid && std::find(out.begin(), out.end(), m.device) == out.end()) out.push_back(m.device);
  std::stable_partition(out.begin(), out.end(), [](Device d) { return d.is_cpu(); });
  return out;
}

void Profile::export_memory_timeline(const std::string& path, Device device) const {
  std::string out = "time_ms,allocated_bytes\n";
  char line[64];
  for (const MemoryPoint& m : memory_timeline(device)) {
    std::snprintf(line, sizeof line, "%.6f,%" PRId64 "\n", static_cast<double>(m.t_ns - result_.start_ns) / 1e6,
                  m.bytes);
    out += line;
  }
  write_file_atomic(path, out, "export_memory_timeline");
}

}  // namespace hpml::profiler
