// The profiler on small programs whose events are known from the code they run: which ops a
// tiny model records, how backward events link to their ops, schedules, tables, memory, and the
// exported Chrome trace and folded stacks.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hpml/hpml.h"
#include "temp_dir.h"

namespace hpml {
namespace {

using profiler::Profile;
using record::Event;
using record::Kind;

std::vector<std::string> names_where(const std::vector<Event>& ev, const std::function<bool(size_t)>& pick) {
  std::vector<std::string> out;
  for (size_t i = 0; i < ev.size(); ++i)
    if (pick(i)) out.push_back(ev[i].name);
  return out;
}

// The children of the first event named `name`, in order.
std::vector<std::string> children_of(const std::vector<Event>& ev, const std::string& name) {
  const std::vector<int64_t> parent = profiler::parents(ev);
  int64_t at = -1;
  for (size_t i = 0; i < ev.size() && at < 0; ++i)
    if (ev[i].name == name) at = static_cast<int64_t>(i);
  EXPECT_GE(at, 0) << "no event named " << name;
  return names_where(ev, [&](size_t i) { return parent[i] == at; });
}

// One step of relu(linear(x)) with an MSE loss and SGD, the forward inside RECORD_FUNCTION.
struct TinyModel {
  nn::Linear fc{4, 3};
  optim::SGD opt{fc.parameters(), {.lr = 0.1}};
  Tensor x = randn({8, 4}), y = randn({8, 3});
  void step() {
    Tensor loss;
    {
      RECORD_FUNCTION("forward");
      loss = nn::functional::mse_loss(relu(fc.forward(x)), y);
    }
    loss.backward();
    opt.step();
    opt.zero_grad();
  }
};

// One TinyModel step from seed 0, profiled by `prof`.
void profile_one_step(Profile& prof) {
  manual_seed(0);
  TinyModel m;
  prof.start();
  m.step();
  prof.stop();
}

TEST(Profiler, TinyModelRecordsTheOpsItRuns) {
  Profile prof;
  profile_one_step(prof);
  const auto& ev = prof.events();
  // From the code: Linear::forward calls linear, which for a 2-d input with a bias is addmm on
  // weight.t() (t -> transpose -> permute); mse_loss is mean(square(input - target)).
  EXPECT_EQ(children_of(ev, "forward"), (std::vector<std::string>{"linear", "relu", "mse_loss"}));
  EXPECT_EQ(children_of(ev, "linear"), (std::vector<std::string>{"t", "addmm"}));
  EXPECT_EQ(children_of(ev, "t"), (std::vector<std::string>{"transpose"}));
  EXPECT_EQ(children_of(ev, "transpose"), (std::vector<std::string>{"permute"}));
  EXPECT_EQ(children_of(ev, "mse_loss"), (std::vector<std::string>{"sub", "square", "mean"}));
  // Backward: one event per node, most recent first, then the two leaf accumulators.
  const std::vector<int64_t> parent = profiler::parents(ev);
  std::vector<std::string> backward = names_where(ev, [&](size_t i) {
    return ev[i].kind == Kind::backward && (parent[i] < 0 || ev[static_cast<size_t>(parent[i])].kind != Kind::backward);
  });
  std::sort(backward.begin(), backward.end());
  EXPECT_EQ(backward, (std::vector<std::string>{"AccumulateGrad", "AccumulateGrad", "AddmmBackward", "MeanBackward",
                                                "PermuteBackward", "ReluBackward", "SquareBackward", "SubBackward"}));
  // The optimizer: one step over the two parameters, then zero_grad.
  int steps = 0, zero = 0;
  for (const Event& e : ev) {
    steps += e.name == "Optimizer.step#SGD.step";
    zero += e.name == "Optimizer.zero_grad#SGD.zero_grad";
    if (e.name == "Optimizer.step#SGD.step") {
      EXPECT_EQ(e.kind, Kind::optimizer);
    }
  }
  EXPECT_EQ(steps, 1);
  EXPECT_EQ(zero, 1);
}

TEST(Profiler, BackwardEventsCarryTheSequenceNumberOfTheirOp) {
  Profile prof;
  profile_one_step(prof);
  std::map<int64_t, std::string> forward;
  for (const Event& e : prof.events())
    if (e.kind == Kind::op && e.sequence_nr >= 0) forward[e.sequence_nr] = e.name;
  int linked = 0;
  for (const Event& e : prof.events()) {
    if (e.kind != Kind::backward || e.name == "AccumulateGrad") continue;
    ASSERT_TRUE(forward.count(e.sequence_nr)) << e.name << " has sequence number " << e.sequence_nr << " of no op";
    std::string op = forward[e.sequence_nr];  // "addmm" -> "AddmmBackward"
    op[0] = static_cast<char>(op[0] - 'a' + 'A');
    EXPECT_EQ(e.name, op + "Backward");
    ++linked;
  }
  EXPECT_EQ(linked, 6);
}

TEST(Profiler, ScheduleFollowsTorchProfilerSchedule) {
  using profiler::Action;
  // torch.profiler.schedule(skip_first=1, wait=1, warmup=1, active=2, repeat=2), steps 0..8.
  const profiler::Schedule s{.wait = 1, .warmup = 1, .active = 2, .repeat = 2, .skip_first = 1};
  const std::vector<Action> want = {Action::none,   Action::none,   Action::warmup, Action::record,
                                    Action::record_and_save, Action::none, Action::warmup, Action::record,
                                    Action::record_and_save};
  for (int64_t i = 0; i < static_cast<int64_t>(want.size()); ++i)
    EXPECT_EQ(profiler::schedule_action(s, i), want[static_cast<size_t>(i)]) << "step " << i;
  EXPECT_EQ(profiler::schedule_action(s, 9), Action::none);  // two cycles done
  EXPECT_THROW(Profile({.schedule = profiler::Schedule{.active = 0}}), Error);
}

TEST(Profiler, ScheduledProfileKeepsOnlyActiveSteps) {
  manual_seed(0);
  TinyModel m;
  std::vector<std::vector<std::string>> cycles;
  Profile prof({.schedule = profiler::Schedule{.wait = 1, .warmup = 1, .active = 2, .repeat = 2},
                .on_trace_ready = [&](Profile& p) {
                  std::vector<std::string> steps;
                  for (const Event& e : p.events())
                    if (e.kind == Kind::step) steps.push_back(e.name);
                  cycles.push_back(steps);
                }});
  prof.start();
  for (int i = 0; i < 10; ++i) {
    m.step();
    prof.step();
  }
  prof.stop();
  // Step 0 waits (and has no ProfilerStep: none before the first step()), step 1 warms up,
  // steps 2-3 are kept; then 4 waits, 5 warms up, 6-7 are kept.
  ASSERT_EQ(cycles.size(), 2u);
  EXPECT_EQ(cycles[0], (std::vector<std::string>{"ProfilerStep#2", "ProfilerStep#3"}));
  EXPECT_EQ(cycles[1], (std::vector<std::string>{"ProfilerStep#6", "ProfilerStep#7"}));
  int linear = 0;
  for (const Event& e : prof.events()) linear += e.name == "linear";
  EXPECT_EQ(linear, 2);  // one forward per kept step, nothing from the warm-up
}

TEST(Profiler, OneProfileAtATimeAndClearErrors) {
  Profile a, b;
  a.start();
  EXPECT_THROW(b.start(), Error);
  EXPECT_THROW(a.start(), Error);
  a.stop();
  EXPECT_THROW(a.stop(), Error);
  EXPECT_THROW(a.step(), Error);
  b.start();  // the first one is done: a second may run now
  b.stop();
}

TEST(Profiler, KeyAveragesCountsAndTimes) {
  manual_seed(0);
  Tensor a = randn({64, 64}), small = randn({2, 2});
  Profile prof({.record_shapes = true});
  prof.start();
  for (int i = 0; i < 3; ++i) (void)matmul(a, a);
  (void)matmul(small, small);
  prof.stop();
  const profiler::EventAverages by_name = prof.key_averages();
  auto row = [&](const profiler::EventAverages& rows, const std::string& name, const std::string& shapes) {
    for (const auto& r : rows)
      if (r.name == name && r.input_shapes == shapes) return r;
    ADD_FAILURE() << "no row " << name << " " << shapes;
    return profiler::FunctionStats{};
  };
  const auto mm = row(by_name, "matmul", "");
  EXPECT_EQ(mm.count, 4);
  EXPECT_LE(mm.self_ns, mm.total_ns);
  EXPECT_GT(mm.total_ns, 0);
  const profiler::EventAverages by_shape = prof.key_averages(true);
  EXPECT_EQ(row(by_shape, "matmul", "[[64, 64], [64, 64]]").count, 3);
  EXPECT_EQ(row(by_shape, "matmul", "[[2, 2], [2, 2]]").count, 1);
  const std::string table = by_shape.table("cpu_time_total", 5);
  EXPECT_NE(table.find("Self CPU %"), std::string::npos) << table;
  EXPECT_NE(table.find("Input Shapes"), std::string::npos) << table;
  EXPECT_NE(table.find("[[64, 64], [64, 64]]"), std::string::npos) << table;
  EXPECT_NE(table.find("Self CPU time total:"), std::string::npos) << table;
  EXPECT_THROW(by_name.table("self_time"), Error);
  // Sorted by total time, the 64x64 matmul comes first.
  EXPECT_EQ(by_shape.sorted("cpu_time_total").front().input_shapes, "[[64, 64], [64, 64]]");
}

TEST(Profiler, SelfTimesAddUpToTheTopLevelTime) {
  Profile prof;
  profile_one_step(prof);
  const auto& ev = prof.events();
  const std::vector<int64_t> parent = profiler::parents(ev), self = profiler::self_times(ev, parent);
  int64_t self_sum = 0, top_sum = 0;
  for (size_t i = 0; i < ev.size(); ++i) {
    EXPECT_GE(self[i], 0) << ev[i].name;
    self_sum += self[i];
    if (parent[i] < 0) top_sum += ev[i].end_ns - ev[i].start_ns;
  }
  EXPECT_EQ(self_sum, top_sum);  // every nanosecond is some event's own, exactly once
}

TEST(Profiler, MemoryIsChargedToTheOpThatAllocates) {
  Profile prof({.profile_memory = true});
  prof.start();
  {
    Tensor t = empty({1024});  // 4096 bytes: a size class of its own
    (void)t;
  }
  prof.stop();
  const Event* e = nullptr;
  for (const Event& x : prof.events())
    if (x.name == "empty") e = &x;
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->bytes_allocated, 4096);
  EXPECT_EQ(e->bytes_freed, 0);  // freed after the op, outside it
  const std::vector<profiler::MemoryPoint> tl = prof.memory_timeline();
  ASSERT_GE(tl.size(), 2u);
  EXPECT_EQ(tl[tl.size() - 2].bytes - prof.result().memory_at_start, 4096);
  EXPECT_EQ(tl.back().bytes, prof.result().memory_at_start);
  const std::string table = prof.key_averages().table("self_cpu_memory_usage", 3, true);
  EXPECT_NE(table.find("4.00 Kb"), std::string::npos) << table;
}

TEST(Profiler, UserScopesNestOps) {
  Profile prof;
  prof.start();
  {
    profiler::record_function outer("outer");
    RECORD_FUNCTION("inner");
    (void)ones({3}).sum();
  }
  prof.stop();
  EXPECT_EQ(children_of(prof.events(), "outer"), (std::vector<std::string>{"inner"}));
  EXPECT_EQ(children_of(prof.events(), "inner"), (std::vector<std::string>{"ones", "sum"}));
}

TEST(Profiler, OffRecordsNothing) {
  Profile prof;
  prof.start();
  prof.stop();
  (void)ones({3}).sum();  // after stop: nothing more is kept
  EXPECT_TRUE(prof.events().empty());
  EXPECT_FALSE(record::on());
}

// Every X event lies inside the previous open one on its thread, or after it ends.
void expect_nested(const nlohmann::json& events) {
  std::map<std::pair<int64_t, int64_t>, std::vector<std::pair<double, double>>> by_thread;
  for (const auto& e : events) {
    if (e["ph"] != "X") continue;
    const double ts = e["ts"].get<double>();
    by_thread[{e["pid"].get<int64_t>(), e["tid"].get<int64_t>()}].emplace_back(ts, ts + e["dur"].get<double>());
  }
  for (auto& [thread, spans] : by_thread) {
    std::stable_sort(spans.begin(), spans.end(),
                     [](auto& a, auto& b) { return a.first < b.first || (a.first == b.first && a.second > b.second); });
    std::vector<std::pair<double, double>> open;
    for (const auto& s : spans) {
      while (!open.empty() && open.back().second <= s.first) open.pop_back();
      if (!open.empty()) {
        EXPECT_LE(s.second, open.back().second + 1e-9) << "event at " << s.first << " sticks out of its parent";
      }
      open.push_back(s);
    }
  }
}

TEST(Profiler, ChromeTraceIsValidTraceEventJson) {
  manual_seed(0);
  TinyModel m;
  Profile prof({.record_shapes = true, .profile_memory = true});
  prof.start();
  m.step();
  prof.step();
  m.step();
  prof.stop();
  testing::TempDir dir;
  const std::string path = dir.path() + "/trace.json";
  prof.export_chrome_trace(path);
  std::ifstream f(path);
  const nlohmann::json j = nlohmann::json::parse(f);  // throws on invalid JSON
  ASSERT_TRUE(j["traceEvents"].is_array());
  // Times count from the recording's earliest moment (Note [Trace times] in src/profiler/export.cpp).
  EXPECT_LE(j["baseTimeNanoseconds"].get<int64_t>(), prof.result().start_ns);
  double first_ts = 1e300;
  int x = 0, flows_start = 0, flows_end = 0, counters = 0, meta = 0;
  for (const auto& e : j["traceEvents"]) {
    const std::string ph = e["ph"];
    ASSERT_TRUE(e.contains("pid") && e.contains("name")) << e.dump();
    if (e.contains("ts")) first_ts = std::min(first_ts, e["ts"].get<double>());
    if (ph == "X") {
      ++x;
      EXPECT_TRUE(e["ts"].is_number() && e["dur"].is_number() && e["tid"].is_number()) << e.dump();
      EXPECT_GE(e["dur"].get<double>(), 0);
    } else if (ph == "s") ++flows_start;
    else if (ph == "f") ++flows_end;
    else if (ph == "C") ++counters;
    else if (ph == "M") ++meta;
    else ADD_FAILURE() << "unexpected phase " << ph;
  }
  EXPECT_EQ(x, static_cast<int>(prof.events().size()));
  EXPECT_GE(first_ts, 0.0);  // nothing before time 0
  EXPECT_EQ(flows_start, 12);  // six linked backward nodes per step, two steps
  EXPECT_EQ(flows_end, 12);
  EXPECT_GT(counters, 0);
  EXPECT_GE(meta, 2);  // the process and its thread
  expect_nested(j["traceEvents"]);
  // An op with its shapes and sequence number.
  bool addmm = false;
  for (const auto& e : j["traceEvents"])
    if (e["name"] == "addmm") {
      addmm = true;
      EXPECT_EQ(e["args"]["Input Dims"], nlohmann::json::parse("[[3], [8, 4], [4, 3]]")) << e.dump();
      EXPECT_EQ(e["args"]["Input type"][0], "f32");
      EXPECT_TRUE(e["args"].contains("Sequence number"));
    }
  EXPECT_TRUE(addmm);
}

TEST(Profiler, FoldedStacksSumToTheSelfTimes) {
  Profile prof;
  profile_one_step(prof);
  testing::TempDir dir;
  prof.export_stacks(dir.path() + "/stacks.txt");
  std::ifstream f(dir.path() + "/stacks.txt");
  std::string line;
  bool nested = false;
  int64_t sum_us = 0;
  while (std::getline(f, line)) {
    const size_t sp = line.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    sum_us += std::stoll(line.substr(sp + 1));
    nested = nested || line.rfind("forward;linear;addmm ", 0) == 0;
  }
  EXPECT_TRUE(nested) << "no forward;linear;addmm stack";
  int64_t self_ns = 0;
  for (int64_t s : profiler::self_times(prof.events(), profiler::parents(prof.events()))) self_ns += s;
  EXPECT_LE(sum_us, self_ns / 1000);  // each stack's microseconds are rounded down
  EXPECT_GT(sum_us, self_ns / 1000 - static_cast<int64_t>(prof.events().size()));
  EXPECT_THROW(prof.export_stacks(dir.path() + "/x.txt", "count"), Error);
}

TEST(Profiler, StepBreakdownSplitsStepsIntoPhases) {
  // Made-up events of one thread: a 100 ns step with a 30 ns "data" and a 50 ns "compute" that
  // holds a nested "data" (counted once, inside compute).
  auto ev = [](std::string name, Kind k, int64_t a, int64_t b, int32_t depth) {
    Event e;
    e.name = std::move(name);
    e.kind = k;
    e.start_ns = a;
    e.end_ns = b;
    e.depth = depth;
    return e;
  };
  const std::vector<Event> events = {ev("ProfilerStep#1", Kind::step, 0, 100, 0), ev("data", Kind::data, 0, 30, 1),
                                     ev("compute", Kind::user, 40, 90, 1), ev("data", Kind::data, 50, 60, 2),
                                     ev("ProfilerStep#2", Kind::step, 100, 120, 0),
                                     ev("compute", Kind::user, 100, 110, 1)};
  const profiler::StepBreakdown b =
      profiler::step_breakdown(events, {{"data wait", {"data"}}, {"compute", {"compute"}}});
  EXPECT_EQ(b.steps, 2);
  EXPECT_EQ(b.total_ns, 120);
  ASSERT_EQ(b.parts.size(), 3u);
  EXPECT_EQ(b.parts[0], (std::pair<std::string, int64_t>{"data wait", 30}));
  EXPECT_EQ(b.parts[1], (std::pair<std::string, int64_t>{"compute", 60}));
  EXPECT_EQ(b.parts[2], (std::pair<std::string, int64_t>{"other", 30}));
}

}  // namespace
}  // namespace hpml
