// data::worker_info() outside any DataLoader worker.
#include <gtest/gtest.h>

#include "hpml/data/dataset.h"

TEST(WorkerInfo, IsEmptyInTheMainProcess) { EXPECT_FALSE(hpml::data::worker_info().has_value()); }
