// Training checkpoints: CheckpointState to and from one safetensors file (prefixed names, the
// hpml metadata, the checksum), and capture / restore between live objects and that state.
#include "hpml/io/checkpoint.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/core/file.h"
#include "hpml/nn/module.h"
#include "hpml/ops/factories.h"
#include "hpml/optim/lr_scheduler.h"
#include "hpml/optim/optimizer.h"

namespace hpml::io {

// Note [Atomic checkpoints]
// A checkpoint replaces the previous one only once it is complete and on disk. save_checkpoint
// first builds and checks everything in memory (undefined tensors, generator states, names,
// reserved keys) - a refusal there never opens a file - and then calls save_safetensors, which
// (write_file_atomic, Note [Atomic writes] in src/core/atomic_write.cpp) writes a new
// "<path>.tmp.<random>" in the same folder, fsyncs it, renames it over <path> (atomic on one
// POSIX file system: a reader, or a run restarted after a crash, sees the old file or the new
// one, never a mix) and fsyncs the folder, so that the rename itself survives a power cut. Any
// failure before the rename (no space, a file size limit, an unwritable or missing folder, a
// failed fsync) removes the temporary file and raises; the old checkpoint is untouched, and the
// error says so. A crash between the write and the rename leaves a stale "*.tmp.*", removed by the next write.
// Keeping more than one generation (e.g. against a bug that writes a good-looking but wrong
// state) is the caller's choice of file names.
//
// Note [Checkpoint checksum]
// The checksum covers what the file means rather than its byte layout: for every tensor, in
// name order, its name, dtype, shape and bytes, then every metadata entry (but the checksum
// itself). Every byte of the data section belongs to exactly one tensor (the safetensors reader
// refuses gaps, overlaps and trailing bytes), so a flipped data byte changes the CRC; a changed header either fails to parse, fails the safetensors checks (offsets, sizes),
// or changes a name, dtype, shape or which bytes a tensor holds - all covered. Padding and key
// order are not, as they change nothing. Truncation is caught before the CRC: the parser refuses
// offsets past the end of the file. CRC-32 (zlib's, several GB/s) finds every error burst up to
// 32 bits and misses random damage with probability 2^-32; it protects against accidents (a
// torn copy, a bad disk, a partial upload), not against someone forging a file.
//
// Note [Resuming inside an epoch]
// A DataLoader with shuffle draws the epoch's order (and the workers' base seed) from its
// generator when the epoch starts. So a checkpoint taken after batch k of epoch e stores, as that
// generator's state, the state it had *before* epoch e began (the caller snapshots it before
// iterating), and the resumed run restores it, re-enters epoch e - the loader draws the same
// order - and skips the first k batches without training on them. Everything else (the default
// generator that dropout draws from, model, optimizer, scheduler) is saved as it is after batch
// k. A loader without its own generator draws from the default generator at the start of each
// epoch, which has moved on by batch k: give it its own generator to resume inside an epoch.

namespace {

struct Section {
  const char* name;
  NamedTensors CheckpointState::*member;
};
constexpr Section kSections[] = {{"model", &CheckpointState::model},
                                 {"optimizer", &CheckpointState::optimizer},
                                 {"scheduler", &CheckpointState::scheduler},
                                 {"plateau", &CheckpointState::plateau}};
struct Counter {
  const char* name;
  int64_t TrainingProgress::*member;
};
constexpr Counter kCounters[] = {
    {"epoch", &TrainingProgress::epoch}, {"step", &TrainingProgress::step}, {"batch", &TrainingProgress::batch}};
constexpr const char* kReserved = "hpml.";

// File text for a message, escaped (hpml::printable) but without its quotes.
std::string bare(std::string_view s) {
  const std::string p = printable(s);
  return p.substr(1, p.size() - 2);
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

void check_generator_state(const std::string& where, const std::string& name, const Tensor& t) {
  HPML_CHECK(t.defined() && t.dtype() == kUInt8 && t.dim() == 1 && t.numel() == 16, where, ": generator ",
             printable(name), " (rng.", bare(name), ") must be a u8 tensor of 16 bytes, as Generator::state() gives, got ",
             t.defined() ? dtype_name(t.dtype()) : "an undefined tensor", t.defined() ? " of shape " : "",
             t.defined() ? ::hpml::detail::str_cat(t.sizes()) : "");
  try {
    Generator::check_state(t);
  } catch (const Error& e) {
    HPML_FAIL(where, ": generator ", printable(name), ": ", e.what());
  }
}

// The file's tensors and metadata (without the checksum) for a state.
std::pair<NamedTensors, Metadata> to_file(const CheckpointState& s) {
  const std::string op = "save_checkpoint";
  NamedTensors out;
  for (const Section& sec : kSections)
    for (const auto& [name, t] : s.*sec.member) {
      HPML_CHECK(!name.empty(), op, ": an entry of the ", sec.name, " state has an empty name");
      HPML_CHECK(t.defined(), op, ": ", sec.name, " entry '", name, "' is an undefined tensor");
      out.emplace_back(std::string(sec.name) + "." + name, t);
    }
  for (const auto& [name, t] : s.rng) {
    HPML_CHECK(!name.empty(), op, ": a generator has an empty name");
    check_generator_state(op, name, t);
    out.emplace_back("rng." + name, t);
  }
  for (const Counter& c : kCounters) {
    const int64_t v = s.progress.*c.member;
    HPML_CHECK(v >= 0, op, ": progress.", c.name, " must be >= 0, got ", v);
    out.emplace_back(std::string("meta.") + c.name, scalar_tensor(v, kInt64));
  }
  Metadata meta;
  for (const auto& [k, v] : s.metadata) {
    HPML_CHECK(!starts_with(k, kReserved), op, ": metadata key '", k, "' is reserved (keys starting with \"", kReserved,
               "\" are hpml's own)");
    meta[k] = v;
  }
  meta["hpml.format"] = kCheckpointFormat;
  meta["hpml.format_version"] = std::to_string(kCheckpointFormatVersion);
  if (!s.optimizer_type.empty()) meta["hpml.optimizer"] = s.optimizer_type;
  if (!s.scheduler_type.empty()) meta["hpml.scheduler"] = s.scheduler_type;
  return {std::move(out), std::move(meta)};
}

// A clone of each tensor (capture must not alias tensors that training keeps changing).
NamedTensors cloned(NamedTensors sd, bool clone) {
  if (clone)
    for (auto& entry : sd) entry.second = entry.second.detach().clone();
  return sd;
}

CheckpointState capture_state(const TrainingObjects& o, const TrainingProgress& progress, const Metadata& metadata,
                              bool clone) {
  CheckpointState s;
  if (o.model) s.model = cloned(o.model->state_dict(), clone);
  if (o.optimizer) {
    s.optimizer = o.optimizer->state_dict();  // already copies
    s.optimizer_type = o.optimizer->name();
  }
  if (o.scheduler) {
    s.scheduler = o.scheduler->state_dict();
    s.scheduler_type = o.scheduler->name();
  }
  if (o.plateau) s.plateau = o.plateau->state_dict();
  s.rng["default"] = default_generator().state();
  for (const auto& [name, g] : o.generators) {
    HPML_CHECK(g != nullptr, "capture: generator '", name, "' is null");
    HPML_CHECK(!name.empty() && name != "default" && s.rng.count(name) == 0, "capture: generator name '", name,
               "' is empty, \"default\" (always included) or given twice");
    s.rng[name] = g->state();
  }
  s.progress = progress;
  s.metadata = metadata;
  return s;
}

}  // namespace

std::string checkpoint_checksum(const NamedTensors& tensors, const Metadata& metadata) {
  std::vector<const std::pair<std::string, Tensor>*> order;
  for (const auto& entry : tensors) order.push_back(&entry);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  uLong crc = crc32_z(0L, Z_NULL, 0);
  auto feed = [&crc](const void* p, size_t n) { crc = crc32_z(crc, static_cast<const Bytef*>(p), n); };
  auto feed_text = [&feed](const std::string& s) { feed(s.c_str(), s.size() + 1); };  // with its '\0'
  for (const auto* entry : order) {
    const Tensor c = entry->second.detach().contiguous().cpu();  // host read: one copy per tensor
    feed_text(entry->first);
    feed_text(dtype_name(c.dtype()));
    feed_text(::hpml::detail::str_cat(c.sizes()));
    if (c.nbytes() > 0) feed(c.data_ptr(), c.nbytes());
  }
  for (const auto& [k, v] : metadata) {
    if (k == "hpml.checksum") continue;
    feed_text(k);
    feed_text(v);
  }
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08lx", static_cast<unsigned long>(crc & 0xffffffffUL));
  return std::string("crc32:") + hex;
}

void save_checkpoint(const std::string& path, const CheckpointState& state) {
  record::Scope event(record::Kind::io, "io::save_checkpoint");
  auto [tensors, meta] = to_file(state);
  meta["hpml.checksum"] = checkpoint_checksum(tensors, meta);
  try {
    save_safetensors(path, tensors, meta);
  } catch (const Error& e) {
    HPML_FAIL("save_checkpoint: ", e.what(), " (any previous checkpoint at ", path, " is unchanged)");
  }
}

CheckpointState load_checkpoint(const std::string& path) {
  record::Scope event(record::Kind::io, "io::load_checkpoint");
  const std::vector<uint8_t> bytes = read_regular_file(path, "load_checkpoint");
  Metadata meta;
  NamedTensors tensors;
  try {
    tensors = parse_safetensors(bytes.data(), bytes.size(), path, &meta);
  } catch (const Error& e) {
    HPML_FAIL("load_checkpoint: ", path, " is truncated or corrupted (", bytes.size(), " bytes): ", e.what());
  }
  // The checksum first (when there is one), so that damage anywhere, the format fields included,
  // is reported as damage.
  const std::string where = "load_checkpoint: " + path;
  HPML_CHECK(meta.count("hpml.format") || meta.count("hpml.checksum"), where,
             " is a safetensors file but not an hpml checkpoint (its metadata has no hpml.format); io::load reads a "
             "plain state dict");
  HPML_CHECK(meta.count("hpml.checksum"), where, " has no hpml.checksum in its metadata");
  const std::string found = checkpoint_checksum(tensors, meta);
  HPML_CHECK(found == meta["hpml.checksum"], where, " is corrupted: checksum mismatch, the file records ",
             bare(meta["hpml.checksum"]), " but its contents give ", found);
  HPML_CHECK(meta["hpml.format"] == kCheckpointFormat, where, ": hpml.format is ", printable(meta["hpml.format"]),
             ", not '", kCheckpointFormat, "'");
  const std::string version = meta.count("hpml.format_version") ? meta["hpml.format_version"] : "";
  HPML_CHECK(version == std::to_string(kCheckpointFormatVersion), where, " has checkpoint format version ",
             printable(version), "; this hpml reads version ", kCheckpointFormatVersion);

  CheckpointState s;
  std::set<std::string> seen_counters;
  for (auto& [name, t] : tensors) {
    const size_t dot = name.find('.');
    const std::string prefix = name.substr(0, dot), rest = dot == std::string::npos ? "" : name.substr(dot + 1);
    HPML_CHECK(!rest.empty(), where, ": unexpected entry ", printable(name));
    if (prefix == "rng") {
      check_generator_state(where, rest, t);
      s.rng[rest] = t;
    } else if (prefix == "meta") {
      const Counter* c =
          std::find_if(std::begin(kCounters), std::end(kCounters), [&](const Counter& k) { return rest == k.name; });
      HPML_CHECK(c != std::end(kCounters), where, ": unexpected entry ", printable(name),
                 " (meta.* holds epoch, step and batch)");
      HPML_CHECK(t.dtype() == kInt64 && t.dim() == 0, where, ": entry '", name, "' must be a 0-d i64 tensor, got ",
                 dtype_name(t.dtype()), " of shape ", t.sizes());
      const int64_t v = t.item<int64_t>();
      HPML_CHECK(v >= 0, where, ": entry '", name, "' is negative: ", v);
      s.progress.*c->member = v;
      seen_counters.insert(rest);
    } else {
      const Section* sec =
          std::find_if(std::begin(kSections), std::end(kSections), [&](const Section& k) { return prefix == k.name; });
      HPML_CHECK(sec != std::end(kSections), where, ": unexpected entry ", printable(name),
                 " (names start with model., optimizer., scheduler., plateau., rng. or meta.)");
      (s.*sec->member).emplace_back(rest, t);
    }
  }
  for (const Counter& c : kCounters)
    HPML_CHECK(seen_counters.count(c.name), where, ": the entry 'meta.", c.name,
               "' is missing (a checkpoint records epoch, step and batch)");
  for (const auto& [k, v] : meta) {
    if (k == "hpml.optimizer")
      s.optimizer_type = v;
    else if (k == "hpml.scheduler")
      s.scheduler_type = v;
    else if (!starts_with(k, kReserved))
      s.metadata[k] = v;
  }
  return s;
}

CheckpointState capture(const TrainingObjects& objects, const TrainingProgress& progress, const Metadata& metadata) {
  return capture_state(objects, progress, metadata, /*clone=*/true);
}

TrainingProgress restore(const CheckpointState& s, const TrainingObjects& o, const std::string& src) {
  // ---- every check that needs no change first --------------------------------------------------
  auto present = [&](const char* sec, const NamedTensors& state, bool has_object, const std::string& type,
                     const char* what) {
    const bool has_state = !state.empty();
    HPML_CHECK(!has_object || has_state, src, ": the checkpoint has no ", what, " state (no '", sec, ".*' entries)");
    HPML_CHECK(has_object || !has_state, src, ": the checkpoint holds ", what, " state", type.empty() ? "" : " (", type,
               type.empty() ? "" : ")", ", but no ", what, " was given to restore it into");
  };
  present("optimizer", s.optimizer, o.optimizer != nullptr, s.optimizer_type, "optimizer");
  present("scheduler", s.scheduler, o.scheduler != nullptr, s.scheduler_type, "scheduler");
  present("plateau", s.plateau, o.plateau != nullptr, "", "ReduceLROnPlateau");
  HPML_CHECK(o.model || s.model.empty(), src,
             ": the checkpoint holds model state, but no model was given to restore it into");
  if (o.optimizer && !s.optimizer_type.empty())
    HPML_CHECK(s.optimizer_type == o.optimizer->name(), src, ": the checkpoint holds ", s.optimizer_type,
               " optimizer state, but the optimizer is ", o.optimizer->name());
  if (o.scheduler && !s.scheduler_type.empty())
    HPML_CHECK(s.scheduler_type == o.scheduler->name(), src, ": the checkpoint holds ", s.scheduler_type,
               " scheduler state, but the scheduler is ", o.scheduler->name());

  std::vector<std::pair<std::string, Generator*>> gens{{"default", &default_generator()}};
  for (const auto& given : o.generators) {  // (not a structured binding: clang 14 cannot capture those)
    const std::string& name = given.first;
    Generator* g = given.second;
    HPML_CHECK(g != nullptr, src, ": generator '", name, "' is null");
    HPML_CHECK(!name.empty() && name != "default" &&
                   std::none_of(gens.begin(), gens.end(), [&](const auto& e) { return e.first == name; }),
               src, ": generator name '", name, "' is empty, \"default\" (always included) or given twice");
    gens.emplace_back(name, g);
  }
  for (const auto& [name, g] : gens) {
    auto it = s.rng.find(name);
    HPML_CHECK(it != s.rng.end(), src, ": the checkpoint has no state for generator '", name, "' (entry 'rng.", name,
               "')");
    check_generator_state(src, name, it->second);
  }
  for (const auto& entry : s.rng)
    HPML_CHECK(std::any_of(gens.begin(), gens.end(), [&](const auto& e) { return e.first == entry.first; }), src,
               ": the checkpoint holds the state of generator ", printable(entry.first), " (entry ",
               printable("rng." + entry.first), "), but no generator of that name was given");

  if (o.model) {
    const nn::StateDict own = o.model->state_dict();
    for (const auto& entry : own) {  // in the model's order, so the first mismatch is reported
      const std::string& name = entry.first;
      const Tensor& mine = entry.second;
      auto it = std::find_if(s.model.begin(), s.model.end(), [&](const auto& e) { return e.first == name; });
      if (it == s.model.end()) continue;  // load_state_dict names unexpected and missing keys
      const Tensor& t = it->second;
      HPML_CHECK(t.defined(), src, ": model tensor '", name, "' is undefined");
      HPML_CHECK(t.sizes() == mine.sizes(), src, ": model tensor '", name, "' has shape ", t.sizes(),
                 " in the checkpoint but ", mine.sizes(), " in the model");
      HPML_CHECK(t.dtype() == mine.dtype(), src, ": model tensor '", name, "' is ", dtype_name(t.dtype()),
                 " in the checkpoint but ", dtype_name(mine.dtype()),
                 " in the model (a checkpoint resumes the run that wrote it: convert the model first)");
    }
  }

  // ---- then the changes (load_state_dict checks its own part before changing anything) ---------
  auto in_context = [&src](const auto& f) {
    try {
      f();
    } catch (const Error& e) {
      throw Error(::hpml::detail::str_cat(src, ": ", e.what()));
    }
  };
  if (o.model) in_context([&] { o.model->load_state_dict(s.model, /*strict=*/true); });
  if (o.plateau) in_context([&] { o.plateau->load_state_dict(s.plateau); });
  if (o.scheduler) in_context([&] { o.scheduler->load_state_dict(s.scheduler); });
  if (o.optimizer) in_context([&] { o.optimizer->load_state_dict(s.optimizer); });
  for (const auto& [name, g] : gens) g->set_state(s.rng.at(name));
  return s.progress;
}

void save_checkpoint(const std::string& path, const TrainingObjects& objects, const TrainingProgress& progress,
                     const Metadata& metadata) {
  save_checkpoint(path, capture_state(objects, progress, metadata, /*clone=*/false));
}

TrainingProgress load_checkpoint(const std::string& path, const TrainingObjects& objects, Metadata* metadata) {
  CheckpointState s = load_checkpoint(path);
  const TrainingProgress p = restore(s, objects, "load_checkpoint: " + path);
  if (metadata) *metadata = s.metadata;
  return p;
}

}  // namespace hpml::io
