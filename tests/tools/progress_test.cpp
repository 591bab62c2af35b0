// The pure parts of the hpml command's messages: the progress line (tools/hpml/progress.cpp)
// and "did you mean" (tools/hpml/suggest.cpp).
#include <gtest/gtest.h>

#include "progress.h"
#include "suggest.h"

using hpml::cli::closest;
using hpml::cli::duration_text;
using hpml::cli::progress_line;
using hpml::cli::ProgressState;

TEST(ProgressLine, BarPercentCountsRateAndBothEtas) {
  const ProgressState s{.epoch = 2, .epochs = 6, .batch = 211, .batches = 469, .loss = 0.31214, .acc = 0.8873,
                        .rate = 52.1, .eta_epoch = 5, .eta_run = 72};
  const std::string line = progress_line(s, 120);
  // 211 / 469 = 45 %: 13 of the 30 columns of the bar filled (floor of 0.4499 * 30).
  EXPECT_EQ(line, "epoch 2/6 [#############.................]  45% 211/469 loss 0.3121 acc 0.8873 52.1 batches/s "
                  "ETA 5s/1m12s");
  EXPECT_LE(static_cast<int>(progress_line(s, 80).size()), 80);
  EXPECT_NE(progress_line(s, 80).find('['), std::string::npos);  // a bar still fits in 80 columns
  // No room for a bar (and none in a log, width 0): the line without it.
  EXPECT_EQ(progress_line(s, 0), "epoch 2/6 45% 211/469 loss 0.3121 acc 0.8873 52.1 batches/s ETA 5s/1m12s");
  ProgressState reg = s;
  reg.acc = -1;  // regression: no accuracy
  EXPECT_EQ(progress_line(reg, 0).find("acc"), std::string::npos);
  ProgressState done = s;
  done.batch = 469;
  EXPECT_NE(progress_line(done, 120).find("[##############################] 100%"), std::string::npos);
}

TEST(ProgressLine, DurationsReadAsAPersonWrites) {
  EXPECT_EQ(duration_text(4.4), "4s");
  EXPECT_EQ(duration_text(75), "1m15s");
  EXPECT_EQ(duration_text(3700), "1h01m");
  EXPECT_EQ(duration_text(-1), "?");
  EXPECT_EQ(duration_text(1.0 / 0.0), "?");
}

TEST(DidYouMean, NearNamesOnlyAndOptionDashesDoNotCount) {
  const std::vector<std::string> opts{"--epochs", "--batch-size", "--lr", "--early-stop"};
  EXPECT_EQ(closest("--epoch", opts), "--epochs");
  EXPECT_EQ(closest("--batchsize", opts), "--batch-size");
  EXPECT_EQ(closest("--elary-stop", opts), "--early-stop");  // a swap of neighbours is one edit
  EXPECT_EQ(closest("--frobnicate", opts), "");
  EXPECT_EQ(closest("--lr", opts), "");  // an exact name is no typo
  EXPECT_EQ(closest("trian", {"train", "eval", "info"}), "train");
  EXPECT_EQ(closest("x", {"train"}), "");
  EXPECT_EQ(hpml::cli::did_you_mean("cnnn", {"cnn", "mlp"}), " (did you mean cnn?)");
}
