// main() of hpml_mp_tests: mp::init first, so that spawned children and the forkserver (which
// run this binary again) do their job instead of running the tests.
#include <gtest/gtest.h>

#include "hpml/mp/process.h"

int main(int argc, char** argv) {
  hpml::mp::init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
