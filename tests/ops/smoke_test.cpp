// Placeholder until the core tests land.
#include <gtest/gtest.h>
#include <hpml/hpml.h>
TEST(Core, Builds) { EXPECT_EQ(hpml::zeros({2}).numel(), 2); }
