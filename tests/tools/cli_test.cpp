// The hpml command: `hpml info`, and bad arguments (one line on stderr, exit status 2).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tools/cli_util.h"

using hpml::testing::CliRun;
const auto run = hpml::testing::run_cli;

TEST(Cli, InfoPrintsTheBuild) {
  CliRun r = run("info");
  EXPECT_EQ(r.status, 0) << r.out;
  for (const char* want : {"hpml 0.", "threads:", "BLAS:", "OpenBLAS", "kernels chosen: ", "SIMD target:", "CUDA:"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
}

TEST(Cli, BadArgumentsExitWithStatus2AndOneLine) {
  for (const char* args : {"", "no-such-command", "info --no-such-flag"}) {
    CliRun r = run(args);
    EXPECT_EQ(r.status, 2) << "'" << args << "': " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "'" << args << "': " << r.out;
    EXPECT_EQ(r.out.rfind("hpml: ", 0), 0u) << r.out;
  }
}

TEST(Cli, HelpExitsWithStatus0) {
  CliRun r = run("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("info"), std::string::npos) << r.out;
}
