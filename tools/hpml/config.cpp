// The configuration a run ends up with: a --config TOML file (toml++), the command line over it,
// and on --resume the options the checkpoint recorded; and the resolved configuration written
// back as TOML into the run folder.
#include <toml++/toml.h>

#include <charconv>
#include <cstdio>
#include <sstream>

#include "suggest.h"
#include "train.h"

namespace hpml::cli {

namespace {

constexpr uint64_t kMaxConfigBytes = uint64_t{1} << 20;

// The setting of the option `--key` (its kind), or null for no such option.
const OptionSetting* find_setting(const std::vector<OptionSetting>& all, const std::string& key) {
  for (const OptionSetting& s : all)
    if (s.flag == "--" + key) return &s;
  return nullptr;
}

std::string number_text(const toml::node& v, const std::string& where) {
  if (auto i = v.as_integer()) return std::to_string(i->get());
  if (auto f = v.as_floating_point()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", f->get());
    return buf;
  }
  HPML_FAIL(where, " must be a number, got a TOML ", toml::impl::node_type_friendly_names[static_cast<int>(v.type())]);
}

// One key of the file as arguments, or an error naming the file, the key and the value's type.
void append_option(const std::string& key, OptionSetting::Kind kind, const toml::node& v, const std::string& path,
                   std::vector<std::string>& args) {
  using K = OptionSetting::Kind;
  const std::string where = path + ": " + printable(key, 100);
  const std::string flag = "--" + key;
  if (kind == K::flag) {
    HPML_CHECK(v.is_boolean(), where, " is a switch: write ", key, " = true or false");
    if (v.as_boolean()->get()) args.push_back(flag);
  } else if (kind == K::list) {
    const toml::array* a = v.as_array();
    HPML_CHECK(a && !a->empty() && a->size() <= 1000, where, " must be an array of 1 to 1000 integers, e.g. ", key,
               " = [256, 128]");
    args.push_back(flag);
    for (const toml::node& e : *a) {
      HPML_CHECK(e.is_integer(), where, " must hold integers only");
      args.push_back(std::to_string(e.as_integer()->get()));
    }
  } else if (kind == K::text) {
    HPML_CHECK(v.is_string(), where, " must be a string, e.g. ", key, " = \"...\"");
    args.push_back(flag);
    args.push_back(v.as_string()->get());
  } else {
    args.push_back(flag);
    args.push_back(number_text(v, where));
  }
}

std::string toml_value(const OptionSetting& s) {
  using K = OptionSetting::Kind;
  if (s.kind == K::flag) return s.value == "1" ? "true" : "false";
  if (s.kind == K::list) {
    std::string out = "[";
    std::istringstream is(s.value);
    for (std::string v; is >> v;) out += (out.size() > 1 ? ", " : "") + v;
    return out + "]";
  }
  if (s.kind == K::text) {
    std::ostringstream os;
    os << toml::value<std::string>(s.value);  // quoted and escaped as TOML wants
    return os.str();
  }
  return s.value;
}

}  // namespace

std::vector<std::string> read_config_file(const std::string& path) {
  const std::string text = read_regular_file_string(path, "--config", kMaxConfigBytes);
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    HPML_FAIL("--config ", printable(path, 300), ": not valid TOML at line ", e.source().begin.line, ", column ",
              e.source().begin.column, ": ", printable(std::string(e.description()), 300));
  }
  std::vector<std::string> names;
  for (const std::string& n : train_option_names()) names.push_back(n.substr(2));
  const std::vector<OptionSetting> all = settings(TrainConfig{});
  std::vector<std::string> args;
  for (const auto& [k, v] : table) {
    const std::string key(k.str());
    HPML_CHECK(key != "config", "--config ", printable(path, 300), ": a config file cannot name another (key config)");
    const OptionSetting* setting = find_setting(all, key);
    HPML_CHECK(setting != nullptr, "--config ", printable(path, 300),
               ": unknown option ", printable(key, 100), did_you_mean(key, names),
               " (keys are the options of hpml train without --, see hpml train --help)");
    HPML_CHECK(!v.is_table() && !v.is_array_of_tables(), "--config ", printable(path, 300), ": ", printable(key, 100),
               " is a table; options are plain keys at the top of the file");
    append_option(key, setting->kind, v, "--config " + printable(path, 300), args);
  }
  return args;
}

std::string config_toml(const TrainConfig& c) {
  std::string out = "# The resolved options of this run: hpml train --config config.toml repeats it.\n";
  for (const OptionSetting& s : settings(c))
    if (written(s)) out += std::string(s.flag).substr(2) + " = " + toml_value(s) + "\n";
  return out;
}

// Note [Resolving a run's options]
// A run's options come from up to three places, each over the one before: the defaults, a
// --config file, the command line. With --resume the checkpoint's recorded options take the
// place of the defaults, so `hpml train --resume FILE` alone continues the run as it was started
// (as `hpml eval FILE` rebuilds its model). An option given again on a resume must keep its
// recorded value, or be one that may change: where the run writes and logs (--out, --tensorboard,
// --quiet), how it loads and computes (--workers, --worker-mode, --loader-timeout, --threads,
// --device: the same batches, but a different --threads or device may change the last bits of sums), where it stops (--stop-after,
// --early-stop) and --epochs. A longer --epochs continues the same schedule into the new epochs,
// exactly as a run started with that --epochs would have, for every schedule whose shape does not
// depend on --epochs (step, exponential, plateau, ...); under one that spans the run (cosine,
// linear, polynomial, warmup-cosine, onecycle) every lr after the first epoch depends on it, so
// a resumed run cannot change it (a cosine restored with the old length would train on at lr 0).
ResolvedRun resolve_config(const TrainConfig& parsed, const std::vector<std::string>& args) {
  std::vector<std::string> file_args;
  if (!parsed.config.empty()) file_args = read_config_file(parsed.config);
  auto layered = [&](const TrainConfig& base) {
    const TrainConfig from_file = overlay(base, file_args, "--config " + printable(parsed.config, 300));
    return overlay(from_file, args, "hpml train");
  };
  TrainConfig c = parsed.config.empty() ? parsed : layered(TrainConfig{});
  if (c.resume.empty()) return {c, std::nullopt};

  const std::string source = c.resume;
  io::CheckpointState state = load_run_checkpoint(source, "--resume");
  const TrainConfig recorded = recorded_config(state.metadata, source);
  TrainConfig merged = layered(recorded);
  std::vector<std::string> diff = resume_differences(recorded, merged);
  if (merged.epochs != recorded.epochs && schedule_spans_the_run(recorded.schedule))
    diff.push_back("--epochs was " + std::to_string(recorded.epochs) + ", now " + std::to_string(merged.epochs) +
                   ": --schedule " + recorded.schedule + " spans the run, so its every lr depends on --epochs");
  if (!diff.empty()) {
    std::string list;
    for (const std::string& d : diff) list += "\n  " + d;
    HPML_FAIL("--resume ", printable(source, 300), ": ", diff.size(), " option(s) differ from the run that wrote it:",
              list, "\nhint: hpml train --resume ", printable(source, 300), " alone continues with the recorded "
              "options; only --epochs (unless the schedule spans the run), --stop-after, --early-stop, --out, "
              "--workers, --worker-mode, --loader-timeout, --threads, --device, --cuda-graph, --tensorboard, --profile (and --profile-*) and "
              "--quiet may change");
  }
  return {merged, std::move(state)};
}

}  // namespace hpml::cli
