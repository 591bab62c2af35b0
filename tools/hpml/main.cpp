// The hpml command: train, eval, predict, graph, experiment, list and info (docs/cli.md). Bad arguments get a
// one-line error (with "did you mean" for a misspelt option or command) and exit status 2, never
// a stack trace.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "hpml/hpml.h"
#include "catalog.h"
#include "experiment.h"
#include "gpt.h"
#include "predict.h"
#include "signals.h"
#include "suggest.h"
#include "distributed_run.h"
#include "hpml/distributed/distributed.h"
#include "train.h"

namespace {

// Every device this process can use, by type, with its memory in use (hpml train --device NAME).
void print_devices() {
  std::printf("devices:     cpu\n");
  for (hpml::DeviceType t : {hpml::DeviceType::CUDA, hpml::DeviceType::Sim}) {
    const char* name = hpml::device_type_name(t);
    const hpml::DeviceRuntime* rt = hpml::device_runtime(t);
    if (!rt) {
      std::printf("             %s: none (this build has no %s backend)\n", name, name);
      continue;
    }
    const int n = rt->device_count();
    for (int i = 0; i < n; ++i) {
      if (t == hpml::DeviceType::Sim) {
        std::printf("             %s:%d (simulated: host memory, cpu kernels run asynchronously on its streams)\n", name, i);
        continue;
      }
      const hpml::cuda::DeviceProperties p = hpml::cuda::get_device_properties(i);
      std::printf("             %s:%d %s, compute capability %d.%d, %.1f GiB, %d SMs\n", name, i, p.name.c_str(), p.major,
                  p.minor, static_cast<double>(p.total_memory) / (1u << 30), p.multi_processor_count);
    }
    if (n == 0)
      std::printf("             %s: none usable (%s)\n", name,
                  t == hpml::DeviceType::CUDA ? hpml::cuda::unavailable_reason().c_str() : "none found");
  }
}

int run_info() {
  const hpml::BuildInfo b = hpml::build_info();
  std::printf("hpml %s (%s build, %s)\n", b.version.c_str(), b.build_type.c_str(), b.compiler.c_str());
  std::printf("threads:     %d (hpml::set_num_threads; OMP_NUM_THREADS sets the default)\n", b.threads);
  std::printf("BLAS:        %s\n", b.blas.c_str());
  std::printf("             kernels chosen: %s\n", b.blas_choice.c_str());
  std::printf("SIMD target: %s\n", b.simd_target.c_str());
  std::printf("CUDA:        %s\n", b.cuda.c_str());
  if (hpml::cuda::is_built()) {  // asked here only: it opens the libraries (Note [cuDNN and NCCL versions by dlopen])
    const hpml::cuda::Versions v = hpml::cuda::versions(/*libraries=*/true);
    std::printf("             cuDNN %s; NCCL %s\n", v.cudnn.c_str(), v.nccl.c_str());
  }
  print_devices();
  std::string backends;
  for (const std::string& name : hpml::distributed::available_backends())
    backends += (backends.empty() ? "" : ", ") + name + " (" + hpml::distributed::backend_version(name) + ")";
  std::printf("distributed: %s\n", backends.empty() ? "none (built without MPI)" : backends.c_str());
  return 0;
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& n : o->get_lnames()) out.push_back("--" + n);
    for (const std::string& n : o->get_snames()) out.push_back("-" + n);
  }
  return out;
}

// The message for a command line CLI11 refused: a misspelt command or option gets the nearest
// name, and every message points at the --help of the command it is about.
std::string usage_error(const CLI::App& app, const CLI::ParseError& e, const std::vector<std::string>& args) {
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  if (parsed.empty()) {
    std::vector<std::string> commands;
    for (const CLI::App* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
    for (const std::string& a : args)
      if (!a.empty() && a[0] != '-' && std::find(commands.begin(), commands.end(), a) == commands.end())
        return "unknown command " + hpml::printable(a, 100) + hpml::cli::did_you_mean(a, commands) +
               "; see hpml --help";
    return std::string(e.what()) + " (see hpml --help)";
  }
  const CLI::App* sub = parsed.back();
  const std::string help = "see hpml " + sub->get_name() + " --help";
  const std::vector<std::string> known = option_names(*sub);
  for (const std::string& a : args) {
    if (a.rfind("--", 0) != 0 || a == "--") continue;
    const std::string name = a.substr(0, a.find('='));
    if (std::find(known.begin(), known.end(), name) == known.end())
      return "unknown option " + hpml::printable(name, 100) + " for hpml " + sub->get_name() +
             hpml::cli::did_you_mean(name, known) + "; " + help;
  }
  return std::string(e.what()) + " (" + help + ")";
}

}  // namespace

int main(int argc, char** argv) {
  hpml::mp::init(argc, argv);  // data-loader workers with spawn / forkserver start here
  hpml::cli::start_signal_thread();  // before any other thread: Note [Signals in one place]
  CLI::App app{"hpml: train and inspect models (a C++ deep-learning framework)", "hpml"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hpml " + hpml::build_info().version);
  CLI::App* info = app.add_subcommand("info", "version, build options, threads, BLAS, SIMD target, CUDA");
  hpml::cli::TrainConfig tc;
  CLI::App* train = app.add_subcommand("train", "train a model, writing metrics, plots and checkpoints to --out");
  hpml::cli::add_train_options(*train, tc);
  std::string checkpoint, split = "test", eval_out, eval_device = "cpu";
  CLI::App* eval = app.add_subcommand("eval", "a checkpoint on a split: accuracy, per-class report, confusion matrix");
  eval->add_option("checkpoint", checkpoint, "a checkpoint written by hpml train")->required();
  eval->add_option("--split", split, "test | val | train")->capture_default_str();
  eval->add_option("--out", eval_out, "where to write confusion.csv/.png/.svg (default: the checkpoint's folder)");
  eval->add_option("--device", eval_device, "where the model runs: cpu | sim[:N] | cuda[:N]")->capture_default_str();
  hpml::cli::ExperimentOptions exp_options;
  const char* experiments =
      "lr-decay | momentum | lr-range | batch-size | optimizers | batchnorm | init | activations";
  CLI::App* experiment = app.add_subcommand("experiment", std::string(experiments) + ": figures, CSV and a table");
  hpml::cli::add_experiment_options(*experiment, exp_options);
  hpml::cli::PredictOptions predict_options;
  CLI::App* predict = app.add_subcommand(
      "predict", "one image or CSV row through a checkpoint's model: the top classes and their probabilities");
  hpml::cli::add_predict_options(*predict, predict_options);
  hpml::cli::GenerateOptions generate_options;
  CLI::App* generate = app.add_subcommand("generate", "text sampled from a checkpoint of hpml train --model gpt");
  hpml::cli::add_generate_options(*generate, generate_options);
  std::string list_group;
  CLI::App* list = app.add_subcommand("list", "the models, datasets, optimizers, schedules and experiments hpml offers");
  hpml::cli::add_list_options(*list, list_group);
  hpml::cli::TrainConfig gc;
  gc.out = "runs/graph";
  CLI::App* graph = app.add_subcommand("graph", "the autograd graph of a model's loss, as DOT (and PNG with Graphviz)");
  hpml::cli::add_train_options(*graph, gc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    return 0;
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::printf("%s", app.help("", CLI::AppFormatMode::All).c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "hpml: %s\n", usage_error(app, e, std::vector<std::string>(argv + 1, argv + argc)).c_str());
    return 2;
  }
  try {
    if (info->parsed()) return run_info();
    if (eval->parsed()) return hpml::cli::eval(checkpoint, split, eval_out, eval_device);
    if (graph->parsed()) return hpml::cli::graph(gc);
    if (predict->parsed()) return hpml::cli::predict(predict_options);
    if (generate->parsed()) return hpml::cli::generate(generate_options);
    if (list->parsed()) return hpml::cli::list(list_group);
    if (experiment->parsed()) return hpml::cli::experiment(exp_options);
    if (train->parsed()) {  // the arguments after "train"
      char** at = std::find_if(argv + 1, argv + argc, [](const char* a) { return std::string(a) == "train"; });
      return hpml::cli::train_command(tc, std::vector<std::string>(at + 1, argv + argc));
    }
  } catch (const std::exception& e) {
    // Before training starts, an error is a bad option or a bad file (every eval and graph error
    // too): status 2. After it, the run failed: status 1. The whole message either way (a
    // load_state_dict error lists the missing keys on lines of their own).
    std::fprintf(stderr, "hpml: %s%s\n", hpml::cli::world_prefix().c_str(), e.what());
    std::fflush(stderr);
    return hpml::cli::training_started() ? 1 : 2;
  }
  return 2;
}
