// Training checkpoints: one safetensors file holds everything a run needs to continue bit for bit
// - the model's state dict, the optimizer's, the learning-rate scheduler's, the state of every
// random generator, the epoch, the global step and the position within the epoch - plus free-form
// string metadata (the command line, ...), with a checksum over all of it. The file is written
// atomically (Note [Atomic checkpoints] in src/io/checkpoint.cpp): a failed save leaves the
// previous checkpoint as it was.
//
//   auto data_gen = std::make_shared<Generator>(1);            // the loader's own shuffle stream
//   data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .generator = data_gen});
//   io::TrainingObjects objects{.model = &net, .optimizer = &opt, .scheduler = &sched,
//                               .generators = {{"data", data_gen.get()}}};
//   io::TrainingProgress pos;
//   if (resume) pos = io::load_checkpoint(path, objects);
//   ... io::save_checkpoint(path, objects, pos);
//
// The whole resume recipe (skipping the batches an interrupted epoch already did) is in the docs'
// "Checkpoints" section and in Note [Resuming inside an epoch] in src/io/checkpoint.cpp.
//
// Names in the file: "model.<name>", "optimizer.<name>", "scheduler.<name>", "plateau.<name>",
// "rng.<generator>" (u8[16], Generator::state()), "meta.epoch", "meta.step", "meta.batch"
// (0-d i64); __metadata__ holds "hpml.format", "hpml.format_version", "hpml.optimizer",
// "hpml.scheduler", "hpml.checksum" and the caller's own keys (which may not start with "hpml.").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hpml/core/generator.h"
#include "hpml/core/tensor.h"
#include "hpml/io/safetensors.h"

namespace hpml::nn {
class Module;
}
namespace hpml::optim {
class Optimizer;
class LRScheduler;
class ReduceLROnPlateau;
}  // namespace hpml::optim

namespace hpml::io {

// Where a run stands. The checkpoint written after batch k of epoch e has {e, step, k}: a resumed
// run re-enters epoch e and skips its first k batches (k may equal the number of batches, when the
// save came after the last batch but before the end-of-epoch work such as scheduler.step()).
struct TrainingProgress {
  int64_t epoch = 0;  // the epoch in progress, from 0
  int64_t step = 0;   // optimizer updates since the start of the run
  int64_t batch = 0;  // batches of `epoch` already done
  bool operator==(const TrainingProgress&) const = default;
};

// The contents of a checkpoint, as plain data: what save_checkpoint writes and load_checkpoint
// returns. Section state dicts are unprefixed (as the objects' state_dict() returns them).
struct CheckpointState {
  NamedTensors model = {};                 // nn::Module::state_dict()
  NamedTensors optimizer = {};             // optim::Optimizer::state_dict(); empty: none
  NamedTensors scheduler = {};             // optim::LRScheduler::state_dict(); empty: none
  NamedTensors plateau = {};               // optim::ReduceLROnPlateau::state_dict(); empty: none
  std::map<std::string, Tensor> rng = {};  // Generator::state() by name; "default": default_generator()
  std::string optimizer_type = {};         // Optimizer::name() ("SGD"), checked on restore
  std::string scheduler_type = {};         // LRScheduler::name() ("StepLR"), checked on restore
  TrainingProgress progress = {};
  Metadata metadata = {};  // the caller's strings; keys may not start with "hpml."
};

// The live objects a checkpoint is taken from and restored into; null ones are left out. The
// default generator is always included (as "rng.default"); `generators` names the others (the
// DataLoader's shuffle generator, ...).
struct TrainingObjects {
  nn::Module* model = nullptr;
  optim::Optimizer* optimizer = nullptr;
  optim::LRScheduler* scheduler = nullptr;
  optim::ReduceLROnPlateau* plateau = nullptr;
  std::vector<std::pair<std::string, Generator*>> generators = {};
};

// ---- plain data <-> file ----------------------------------------------------------------------
// Writes atomically (temporary file, fsync, rename, fsync of the folder). Raises, before touching
// the file, on an undefined tensor, a generator state that is not u8[16], a bad name or a
// reserved metadata key.
void save_checkpoint(const std::string& path, const CheckpointState& state);
// Reads and verifies: a truncated or corrupted file, a safetensors file that is not an hpml
// checkpoint, a checksum mismatch (expected vs found) or a missing entry raises hpml::Error naming
// the file and what is wrong.
CheckpointState load_checkpoint(const std::string& path);

// ---- live objects <-> plain data --------------------------------------------------------------
// Copies of the objects' state now (tensors are cloned: later training does not change them).
CheckpointState capture(const TrainingObjects& objects, const TrainingProgress& progress,
                        const Metadata& metadata = {});
// Puts a checkpoint's state into the objects and returns its progress. Strict both ways: every
// object given must have its section (and the same optimizer / scheduler type), every section
// and generator in the checkpoint must have an object, model tensors must match in name, shape
// and dtype. What can be checked before changing anything is (model, generators, sections,
// types); should an optimizer's or scheduler's own load_state_dict still refuse its part, objects
// restored before it keep the checkpoint's values. `source` (the file) starts every error.
TrainingProgress restore(const CheckpointState& state, const TrainingObjects& objects,
                         const std::string& source = "checkpoint");

// ---- both at once -----------------------------------------------------------------------------
void save_checkpoint(const std::string& path, const TrainingObjects& objects, const TrainingProgress& progress,
                     const Metadata& metadata = {});
// Loads, verifies and restores; the file's metadata goes to *metadata when given.
TrainingProgress load_checkpoint(const std::string& path, const TrainingObjects& objects, Metadata* metadata = nullptr);

// The checksum save_checkpoint stores as "hpml.checksum": "crc32:" and 8 hex digits, the CRC-32 of
// every tensor's name, dtype, shape and bytes (in name order) and every metadata entry but
// "hpml.checksum" itself. See Note [Checkpoint checksum].
std::string checkpoint_checksum(const NamedTensors& tensors, const Metadata& metadata);

inline constexpr const char* kCheckpointFormat = "hpml.checkpoint";
inline constexpr int kCheckpointFormatVersion = 1;

}  // namespace hpml::io
