// mp::SimpleQueue: tensors cross as handles (the receiver sees later writes; the cost does not
// grow with the size), many writers, timeouts.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "hpml/hpml.h"
#include "mp/mp_test_util.h"

using namespace hpml;

TEST(Queue, SameProcessRoundTrip) {
  mp::SimpleQueue q;
  EXPECT_TRUE(q.empty());
  Tensor a = arange(0, 6, 1, kFloat64).reshape({2, 3}), b = ones({3}, kInt64);
  q.put({a, b}, "hello");
  EXPECT_FALSE(q.empty());
  auto m = q.get(1);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->text, "hello");
  ASSERT_EQ(m->tensors.size(), 2u);
  EXPECT_TRUE(hpml::testing::same(m->tensors[0], a));
  EXPECT_EQ(m->tensors[1].dtype(), kInt64);
  EXPECT_FALSE(q.get(0.05).has_value());  // timeout, nothing there
}

TEST(Queue, MessageSurvivesTheSenderDroppingTheTensor) {
  mp::SimpleQueue q;
  q.put(full({10}, 2.5));  // a temporary: its segment's name is gone right after put
  auto m = q.get(1);
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(hpml::testing::same(m->tensors[0], full({10}, 2.5)));
}

TEST(Queue, ReceiverSeesTheSendersLaterWrites) {
  mp::SimpleQueue to_child, to_parent;
  Tensor t = zeros({16});
  mp::Process p([&] {
    auto m = to_child.get(30);  // the tensor
    to_parent.put(std::vector<Tensor>{}, "got it");
    auto go = to_child.get(30);  // the parent has written since
    to_parent.put(std::vector<Tensor>{}, std::to_string(m->tensors[0].sum().item<double>()));
  });
  p.start();
  to_child.put(t);
  ASSERT_TRUE(to_parent.get(30).has_value());
  t.fill_(1);  // after the send
  to_child.put(std::vector<Tensor>{}, "go");
  auto answer = to_parent.get(30);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->text, "16.000000");
  ASSERT_TRUE(p.join(30));
  EXPECT_EQ(p.exitcode(), 0) << p.error();
}

TEST(Queue, TimeDoesNotGrowWithTheTensorSize) {
  // 100 MB and 4 KB tensors, already shared: a put + get moves a handle either way.
  Tensor big = empty({25 * 1024 * 1024}), small = empty({1024});
  big.share_memory_();
  small.share_memory_();
  mp::SimpleQueue q;
  auto time_one = [&](const Tensor& t) {
    std::vector<double> v;
    for (int i = 0; i < 9; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      q.put(t);
      auto m = q.get(10);
      v.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      EXPECT_EQ(m->tensors[0].numel(), t.numel());
    }
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double s = time_one(small), b = time_one(big);
  // A copy of 100 MB takes > 5 ms here; a handle takes tens of microseconds either way.
  EXPECT_LT(b, 5 * s + 2e-3) << "small " << s * 1e6 << " us, big " << b * 1e6 << " us";
  std::printf("put+get: 4 KB tensor %.1f us, 100 MB tensor %.1f us (medians of 9)\n", s * 1e6, b * 1e6);
}

TEST(Queue, ManyWritersOneReader) {
  mp::SimpleQueue q;
  std::vector<std::unique_ptr<mp::Process>> ps;
  for (int w = 0; w < 3; ++w) {
    ps.push_back(std::make_unique<mp::Process>([&q, w] {
      for (int i = 0; i < 50; ++i) q.put(std::vector<Tensor>{full({4}, w * 100 + i)}, std::to_string(w));
    }));
    ps.back()->start();
  }
  std::vector<int> count(3, 0);
  double total = 0;
  for (int i = 0; i < 150; ++i) {
    auto m = q.get(30);
    ASSERT_TRUE(m.has_value());
    ++count[std::stoi(m->text)];
    total += m->tensors[0].sum().item<double>() / 4;
  }
  for (auto& p : ps) EXPECT_TRUE(p->join(30));
  EXPECT_EQ(count, std::vector<int>({50, 50, 50}));
  EXPECT_EQ(total, 50.0 * (0 + 100 + 200) + 3 * (49 * 50 / 2));
}

TEST(Queue, MalformedHandle) { EXPECT_THROW(mp::SimpleQueue::from_handle("x y"), Error); }

TEST(Queue, ReadersThatMissAMessageKeepTheirTimeout) {
  // All readers wait inside get() when the one message arrives. Those woken with it that lose the
  // race for it must go back to waiting out their timeout, not block in a receive for good. Who
  // is woken depends on the scheduler, so several readers and several rounds make a reader that
  // loses the race all but certain.
  constexpr int kReaders = 6, kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    mp::SimpleQueue q;
    Tensor got = zeros({2 * kReaders}, kInt64);  // [0, k): got a message; [k, 2k): about to wait
    got.share_memory_();
    std::vector<std::unique_ptr<mp::Process>> readers;
    for (int r = 0; r < kReaders; ++r) {
      readers.push_back(std::make_unique<mp::Process>([&q, got, r]() mutable {
        got.data_ptr<int64_t>()[kReaders + r] = 1;
        auto m = q.get(0.5);
        got.data_ptr<int64_t>()[r] = m ? 1 : 0;
      }));
      readers.back()->start();
    }
    const volatile int64_t* ready = got.data_ptr<int64_t>() + kReaders;
    auto all_ready = [&] {
      for (int r = 0; r < kReaders; ++r)
        if (!ready[r]) return false;
      return true;
    };
    for (int i = 0; i < 5000 && !all_ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(all_ready()) << "the readers did not start";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // all are now inside get()
    q.put(std::vector<Tensor>{}, "only one");
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& p : readers) ASSERT_TRUE(p->join(10)) << "round " << round << ": a reader never returned";
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 3.0) << "round " << round;
    EXPECT_EQ(got.slice(0, 0, kReaders).sum().item<int64_t>(), 1) << "round " << round << ": exactly one reader gets it";
  }
}

TEST(Queue, OversizedMessageIsRefused) {
  mp::SimpleQueue q;
  try {
    q.put(std::vector<Tensor>{}, std::string(100000, 'x'));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("over the limit"), std::string::npos) << e.what();
  }
}
