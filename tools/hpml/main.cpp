// The hpml command. Subcommands so far: info. (train, eval, experiment and graph are the rest of
// the roadmap's item 5; see the README.) Bad arguments get a one-line error and exit status 2,
// never a stack trace.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "hpml/hpml.h"

namespace {

int run_info() {
  const hpml::BuildInfo b = hpml::build_info();
  std::printf("hpml %s (%s build, %s)\n", b.version.c_str(), b.build_type.c_str(), b.compiler.c_str());
  std::printf("threads:     %d (hpml::set_num_threads; OMP_NUM_THREADS sets the default)\n", b.threads);
  std::printf("BLAS:        %s\n", b.blas.c_str());
  std::printf("SIMD target: %s\n", b.simd_target.c_str());
  std::printf("CUDA:        %s\n", b.cuda.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  hpml::mp::init(argc, argv);  // data-loader workers with spawn / forkserver start here
  CLI::App app{"hpml: train and inspect models (a C++ deep-learning framework)", "hpml"};
  app.require_subcommand(1);
  CLI::App* info = app.add_subcommand("info", "version, build options, threads, BLAS, SIMD target, CUDA");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::printf("%s", app.help("", CLI::AppFormatMode::All).c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "hpml: %s (see hpml --help)\n", e.what());
    return 2;
  }
  try {
    if (info->parsed()) return run_info();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpml: %s\n", e.what());
    return 1;
  }
  return 2;
}
