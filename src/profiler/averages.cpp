// Reading a recording: each event's parent and self time, key_averages() and its table, and
// the step breakdown (include/hpml/profiler/profiler.h).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>
#include <tuple>

#include "hpml/core/error.h"
#include "hpml/profiler/profiler.h"

namespace hpml::profiler {

// Note [Parents from intervals]
// record::stop() sorts events by process, thread and start time (outer before inner at equal
// starts). Walking one thread's events in that order with a stack of the open ones, an event's
// parent is the innermost open event that has not ended by its start. Intervals are exact
// nanoseconds of one clock, so a child never sticks out of its parent.
namespace {
// Whether p encloses e: e's interval lies in p's, and e began while p was open (deeper), which
// tells a child from a sibling that begins in the very nanosecond p ends.
bool contains(const record::Event& p, const record::Event& e) {
  return p.start_ns <= e.start_ns && e.end_ns <= p.end_ns && p.depth < e.depth;
}
}  // namespace

std::vector<int64_t> parents(const std::vector<record::Event>& events) {
  std::vector<int64_t> parent(events.size(), -1);
  std::vector<size_t> open;
  for (size_t i = 0; i < events.size(); ++i) {
    const record::Event& e = events[i];
    if (i > 0 && (events[i - 1].pid != e.pid || events[i - 1].tid != e.tid)) open.clear();
    while (!open.empty() && !contains(events[open.back()], e)) open.pop_back();
    if (!open.empty()) parent[i] = static_cast<int64_t>(open.back());
    open.push_back(i);
  }
  return parent;
}

std::vector<int64_t> self_times(const std::vector<record::Event>& events, const std::vector<int64_t>& parent) {
  std::vector<int64_t> self(events.size());
  for (size_t i = 0; i < events.size(); ++i) self[i] = events[i].end_ns - events[i].start_ns;
  for (size_t i = 0; i < events.size(); ++i)
    if (parent[i] >= 0) self[static_cast<size_t>(parent[i])] -= events[i].end_ns - events[i].start_ns;
  return self;
}

namespace {

std::string shapes_of(const record::Event& e) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    os << (i ? ", [" : "[");
    for (size_t d = 0; d < e.inputs[i].sizes.size(); ++d) os << (d ? ", " : "") << e.inputs[i].sizes[d];
    os << ']';
  }
  os << ']';
  return os.str();
}

// table()'s sort keys, PyTorch's names, and the column each sorts by.
constexpr std::pair<const char*, int64_t FunctionStats::*> kSortKeys[] = {
    {"self_cpu_time_total", &FunctionStats::self_ns},      {"cpu_time_total", &FunctionStats::total_ns},
    {"count", &FunctionStats::count},                      {"self_cpu_memory_usage", &FunctionStats::self_bytes},
    {"cpu_memory_usage", &FunctionStats::total_bytes},     {"self_device_time_total", &FunctionStats::self_device_ns},
    {"device_time_total", &FunctionStats::device_total_ns}, {"self_cuda_time_total", &FunctionStats::self_device_ns},
    {"cuda_time_total", &FunctionStats::device_total_ns}};

// Note [Device time]
// A kernel event (Kind::kernel) is device time, not CPU time: its row has CPU times of 0 and its
// duration as device time. It names the host event that launched it by thread and start
// (record::Event::launch_tid, launch_ns): that event's self device time gets the kernel's time,
// and its device total, with every enclosing event's, too (PyTorch's Self CUDA and CUDA total).
// The kernels of one op run later than the op, on the device's own row, so intervals cannot
// tell whose they are; the launch site can.
void add_device_times(const std::vector<record::Event>& ev, const std::vector<int64_t>& parent,
                      std::vector<int64_t>& self_dev, std::vector<int64_t>& total_dev) {
  if (std::none_of(ev.begin(), ev.end(), [](const record::Event& e) { return e.kind == record::Kind::kernel; }))
    return;  // a cpu-only recording: nothing to charge
  std::map<std::tuple<int32_t, int32_t, int64_t>, size_t> by_start;  // the innermost at equal starts wins
  for (size_t i = 0; i < ev.size(); ++i)
    if (ev[i].kind != record::Kind::kernel) by_start[{ev[i].pid, ev[i].tid, ev[i].start_ns}] = i;
  for (size_t i = 0; i < ev.size(); ++i) {
    if (ev[i].kind != record::Kind::kernel) continue;
    const int64_t d = ev[i].end_ns - ev[i].start_ns;
    self_dev[i] += d;
    total_dev[i] += d;
    // launch_ns < 0: launched with no event open (a kernel row of its own, charged to no op).
    auto it = ev[i].launch_ns > 0 ? by_start.find({ev[i].pid, ev[i].launch_tid, ev[i].launch_ns}) : by_start.end();
    if (it == by_start.end()) continue;
    self_dev[it->second] += d;
    for (int64_t p = static_cast<int64_t>(it->second); p >= 0; p = parent[static_cast<size_t>(p)])
      total_dev[static_cast<size_t>(p)] += d;
  }
}

std::string ms(int64_t ns) {
  char buf[32];
  if (ns >= 1000000) std::snprintf(buf, sizeof buf, "%.3fms", static_cast<double>(ns) / 1e6);
  else std::snprintf(buf, sizeof buf, "%.3fus", static_cast<double>(ns) / 1e3);
  return buf;
}

std::string bytes(int64_t b) {
  char buf[32];
  const double a = static_cast<double>(b < 0 ? -b : b);
  if (a >= 1 << 20) std::snprintf(buf, sizeof buf, "%.2f Mb", static_cast<double>(b) / (1 << 20));
  else if (a >= 1 << 10) std::snprintf(buf, sizeof buf, "%.2f Kb", static_cast<double>(b) / (1 << 10));
  else std::snprintf(buf, sizeof buf, "%" PRId64 " b", b);
  return buf;
}

std::string pct(int64_t part, int64_t whole) {
  char buf[16];
  const double share = whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
  std::snprintf(buf, sizeof buf, "%.2f%%", share);
  return buf;
}

}  // namespace

EventAverages Profile::key_averages(bool group_by_input_shape) const {
  const auto& ev = result_.events;
  const std::vector<int64_t> parent = parents(ev);
  const std::vector<int64_t> self = self_times(ev, parent);
  // Bytes of an event with its children: its own, plus each descendant's, added up the tree.
  std::vector<int64_t> total_bytes(ev.size()), total_device_bytes(ev.size());
  for (size_t i = 0; i < ev.size(); ++i) {
    total_bytes[i] = ev[i].bytes_allocated - ev[i].bytes_freed;
    total_device_bytes[i] = ev[i].device_bytes_allocated - ev[i].device_bytes_freed;
  }
  for (size_t i = ev.size(); i-- > 0;) {  // children come after their parents
    if (parent[i] < 0) continue;
    total_bytes[static_cast<size_t>(parent[i])] += total_bytes[i];
    total_device_bytes[static_cast<size_t>(parent[i])] += total_device_bytes[i];
  }
  std::vector<int64_t> self_dev(ev.size()), total_dev(ev.size());
  add_device_times(ev, parent, self_dev, total_dev);
  // A kernel's row is its own even where its slot has an op's name (bmm, gather, softmax).
  std::map<std::tuple<std::string, std::string, bool>, size_t> rows;
  EventAverages out;
  for (size_t i = 0; i < ev.size(); ++i) {
    const record::Event& e = ev[i];
    const std::string shapes = group_by_input_shape ? shapes_of(e) : std::string();
    auto [it, fresh] = rows.try_emplace({e.name, shapes, e.kind == record::Kind::kernel}, out.size());
    if (fresh) out.push_back(FunctionStats{.name = e.name, .input_shapes = shapes, .kind = e.kind});
    FunctionStats& s = out[it->second];
    ++s.count;
    const bool cpu = e.kind != record::Kind::kernel;
    s.self_ns += cpu ? self[i] : 0;
    s.total_ns += cpu ? e.end_ns - e.start_ns : 0;
    s.self_device_ns += self_dev[i];
    s.device_total_ns += total_dev[i];
    s.self_bytes += e.bytes_allocated - e.bytes_freed;
    s.total_bytes += total_bytes[i];
    s.self_device_bytes += e.device_bytes_allocated - e.device_bytes_freed;
    s.total_device_bytes += total_device_bytes[i];
  }
  return out;
}

EventAverages EventAverages::sorted(const std::string& sort_by) const {
  const auto* key =
      std::find_if(std::begin(kSortKeys), std::end(kSortKeys), [&](const auto& k) { return sort_by == k.first; });
  HPML_CHECK(key != std::end(kSortKeys), "key_averages().table: unknown sort_by '", sort_by,
             "'; use self_cpu_time_total, cpu_time_total, count, self_cpu_memory_usage, cpu_memory_usage, "
             "self_device_time_total or device_time_total");
  const auto field = key->second;
  EventAverages out = *this;
  std::stable_sort(out.begin(), out.end(),
                   [&](const FunctionStats& a, const FunctionStats& b) { return a.*field > b.*field; });
  return out;
}

std::string EventAverages::table(const std::string& sort_by, int row_limit, bool with_memory) const {
  const EventAverages rows = sorted(sort_by);
  int64_t self_total = 0, total_max = 0, device_total = 0;
  size_t name_w = 4;
  bool shapes = false, device_memory = false;
  for (const FunctionStats& s : rows) {
    self_total += s.self_ns;
    device_total += s.kind == record::Kind::kernel ? s.self_device_ns : 0;
    device_memory = device_memory || s.total_device_bytes != 0 || s.self_device_bytes != 0;
    total_max = std::max(total_max, s.total_ns);
    name_w = std::max(name_w, std::min<size_t>(s.name.size(), 60));
    shapes = shapes || !s.input_shapes.empty();
  }
  std::vector<std::string> heads = {"Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"};
  const bool device = device_total > 0;
  if (device) heads.insert(heads.end(), {"Self device", "Self dev %", "Device total", "Device avg"});
  if (with_memory) heads.insert(heads.end(), {"CPU Mem", "Self CPU Mem"});
  if (with_memory && device_memory) heads.insert(heads.end(), {"Device Mem", "Self Dev Mem"});
  heads.push_back("# of Calls");
  std::ostringstream os;
  auto rule = [&] {
    os << std::string(name_w, '-');
    for (size_t i = 0; i < heads.size(); ++i) os << "  " << std::string(12, '-');
    if (shapes) os << "  " << std::string(40, '-');
    os << '\n';
  };
  auto cell = [&](const std::string& v) {
    os << "  " << std::string(v.size() < 12 ? 12 - v.size() : 0, ' ') << v;
  };
  rule();
  os << "Name" << std::string(name_w - 4, ' ');
  for (const std::string& h : heads) cell(h);
  if (shapes) os << "  Input Shapes";
  os << '\n';
  rule();
  int shown = 0;
  for (const FunctionStats& s : rows) {
    if (row_limit >= 0 && shown++ >= row_limit) break;
    std::string name = s.name.size() > name_w ? s.name.substr(0, name_w - 3) + "..." : s.name;
    os << name << std::string(name_w - name.size(), ' ');
    cell(pct(s.self_ns, self_total));
    cell(ms(s.self_ns));
    cell(pct(s.total_ns, self_total));
    cell(ms(s.total_ns));
    cell(ms(s.count ? s.total_ns / s.count : 0));
    if (device) {
      cell(ms(s.self_device_ns));
      cell(pct(s.self_device_ns, device_total));
      cell(ms(s.device_total_ns));
      cell(ms(s.count ? s.device_total_ns / s.count : 0));
    }
    if (with_memory) {
      cell(bytes(s.total_bytes));
      cell(bytes(s.self_bytes));
    }
    if (with_memory && device_memory) {
      cell(bytes(s.total_device_bytes));
      cell(bytes(s.self_device_bytes));
    }
    cell(std::to_string(s.count));
    if (shapes) os << "  " << s.input_shapes;
    os << '\n';
  }
  rule();
  os << "Self CPU time total: " << ms(self_total) << '\n';
  if (device) os << "Self device time total: " << ms(device_total) << '\n';
  return os.str();
}

// Note [The step breakdown]
// Each ProfilerStep#N event is split by its phases: an event inside the step, on the step's
// thread, whose name a phase lists counts with its whole duration, unless it lies inside an
// event already counted (a forward inside a forward). What no phase covers is "other". So the
// parts add up to the steps' time exactly, and "other" is the time the phases do not explain.
StepBreakdown step_breakdown(const std::vector<record::Event>& events, const std::vector<Phase>& phases) {
  StepBreakdown out;
  std::vector<int64_t> sums(phases.size(), 0);
  for (size_t i = 0; i < events.size(); ++i) {
    const record::Event& step = events[i];
    if (step.kind != record::Kind::step) continue;
    ++out.steps;
    out.total_ns += step.end_ns - step.start_ns;
    int64_t counted_until = step.start_ns;
    for (size_t j = i + 1; j < events.size(); ++j) {
      const record::Event& e = events[j];
      if (e.pid != step.pid || e.tid != step.tid || e.start_ns >= step.end_ns) break;
      if (e.start_ns < counted_until || e.end_ns > step.end_ns) continue;
      for (size_t p = 0; p < phases.size(); ++p) {
        if (std::find(phases[p].names.begin(), phases[p].names.end(), e.name) == phases[p].names.end()) continue;
        sums[p] += e.end_ns - e.start_ns;
        counted_until = e.end_ns;
        break;
      }
    }
  }
  int64_t covered = 0;
  for (size_t p = 0; p < phases.size(); ++p) {
    out.parts.emplace_back(phases[p].label, sums[p]);
    covered += sums[p];
  }
  out.parts.emplace_back("other", out.total_ns - covered);
  return out;
}

}  // namespace hpml::profiler
