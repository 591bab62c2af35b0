// Tensor handle semantics: storage alignment, caching allocator, version counter, shallow copies,
// contiguity, item(), typed data_ptr and dtype conversion.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::values;

TEST(Storage, DataIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 100, 1000, 4097, 1 << 20, 3 << 20}) {
    for (DType d : {kFloat32, kFloat64, kUInt8, kBool}) {
      Tensor t = empty({n}, d);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64, 0u) << n << " " << d;
    }
  }
}

TEST(Storage, CachingAllocatorReusesFreedBlockOfSameSize) {
  const int64_t n = 12345;  // an odd size no other test uses
  void* first = nullptr;
  {
    Tensor a = empty({n});
    first = a.data_ptr();
  }
  CpuAllocatorStats before = cpu_allocator_stats();
  EXPECT_GE(before.cached_bytes, static_cast<size_t>(n) * 4);
  {
    Tensor b = empty({n});
    CpuAllocatorStats during = cpu_allocator_stats();
    EXPECT_EQ(during.hits, before.hits + 1);
    EXPECT_EQ(during.misses, before.misses);
    EXPECT_GE(during.allocated_bytes, before.allocated_bytes + static_cast<size_t>(n) * 4);
    EXPECT_LT(during.cached_bytes, before.cached_bytes);
    EXPECT_EQ(b.data_ptr(), first);  // the block just freed comes back
  }
  CpuAllocatorStats after = cpu_allocator_stats();
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);
  EXPECT_EQ(after.cached_bytes, before.cached_bytes);
  EXPECT_GE(after.peak_allocated_bytes, after.allocated_bytes + static_cast<size_t>(n) * 4);
}

TEST(Storage, EmptyCacheReleasesEverythingCached) {
  { Tensor a = empty({54321}); }
  EXPECT_GT(cpu_allocator_stats().cached_bytes, 0u);
  cpu_empty_cache();
  CpuAllocatorStats s = cpu_allocator_stats();
  EXPECT_EQ(s.cached_bytes, 0u);
  Tensor b = empty({54321});
  CpuAllocatorStats s2 = cpu_allocator_stats();
  EXPECT_EQ(s2.misses, s.misses + 1);  // nothing left to reuse
  EXPECT_EQ(s2.hits, s.hits);
}

TEST(VersionCounter, BumpsOnEveryInPlaceOp) {
  Tensor t = zeros({4});
  uint32_t v = t.version();
  auto expect_bump = [&](const char* what) {
    EXPECT_GT(t.version(), v) << what;
    v = t.version();
  };
  t.add_(1.0);
  expect_bump("add_ scalar");
  t.add_(ones({4}));
  expect_bump("add_ tensor");
  t.mul_(2.0);
  expect_bump("mul_");
  t.zero_();
  expect_bump("zero_");
  t.fill_(3.0);
  expect_bump("fill_");
  t.copy_(ones({4}));
  expect_bump("copy_");
  t.clamp_(0.0, 0.5);
  expect_bump("clamp_");
  t.sub_(1.0);
  expect_bump("sub_");
  t.div_(2.0);
  expect_bump("div_");
  t.neg_();
  expect_bump("neg_");
  // Out-of-place ops and copies leave it alone.
  Tensor u = t + 1.0;
  Tensor c = t.clone();
  (void)t.sum();
  EXPECT_EQ(t.version(), v);
  c.add_(1.0);
  EXPECT_EQ(t.version(), v) << "a clone has its own counter";
  (void)u;
}

TEST(VersionCounter, SharedByViews) {
  Tensor base = zeros({3, 4});
  Tensor row = base.select(0, 1);
  Tensor tr = base.t();
  Tensor flat = base.view({12});
  const uint32_t v0 = base.version();
  EXPECT_EQ(row.version(), v0);
  row.add_(1.0);
  EXPECT_GT(base.version(), v0);
  EXPECT_EQ(tr.version(), base.version());
  EXPECT_EQ(flat.version(), base.version());
  const uint32_t v1 = base.version();
  base.mul_(2.0);
  EXPECT_GT(row.version(), v1);
  EXPECT_EQ(row.version(), base.version());
  Tensor d = base.detach();
  d.zero_();
  EXPECT_EQ(base.version(), d.version());
  EXPECT_GT(base.version(), v1 + 1);
}

TEST(TensorHandle, CopyIsShallowCloneIsDeep) {
  Tensor a = tensor({1.0, 2.0, 3.0});
  Tensor b = a;  // NOLINT: copy on purpose
  EXPECT_TRUE(b.is_same(a));
  EXPECT_EQ(a.use_count(), 2u);
  EXPECT_EQ(b.data_ptr(), a.data_ptr());
  b.fill_(7.0);
  EXPECT_EQ(values<float>(a), (std::vector<float>{7, 7, 7}));

  Tensor c = a.clone();
  EXPECT_FALSE(c.is_same(a));
  EXPECT_NE(c.data_ptr(), a.data_ptr());
  EXPECT_EQ(values<float>(c), (std::vector<float>{7, 7, 7}));
  c.fill_(1.0);
  EXPECT_EQ(values<float>(a), (std::vector<float>{7, 7, 7}));

  // Clone of a non-contiguous view: contiguous, same values in logical order.
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor mt = m.t().clone();
  EXPECT_TRUE(mt.is_contiguous());
  EXPECT_EQ(testing::shape_of(mt), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(values<int64_t>(mt), (std::vector<int64_t>{1, 4, 2, 5, 3, 6}));
  const int64_t* raw = mt.data_ptr<int64_t>();
  EXPECT_EQ(raw[1], 4);
}

TEST(TensorHandle, Contiguity) {
  Tensor m = zeros({2, 3});
  EXPECT_TRUE(m.is_contiguous());
  EXPECT_FALSE(m.t().is_contiguous());
  EXPECT_FALSE(m.slice(1, 0, 3, 2).is_contiguous());
  EXPECT_TRUE(m.narrow(0, 1, 1).is_contiguous());
  EXPECT_FALSE(ones({1}).expand({3}).is_contiguous());
  // Size-1 dims do not matter (PyTorch's rule): [3, 1] transposed is [1, 3] with strides [1, 1].
  EXPECT_TRUE(zeros({3, 1}).t().is_contiguous());
  EXPECT_TRUE(zeros({0, 5}).t().is_contiguous());  // empty tensors are contiguous
  // contiguous() returns the same tensor when already contiguous, a dense copy otherwise.
  EXPECT_TRUE(m.contiguous().is_same(m));
  Tensor x = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
  Tensor xt = x.t();
  Tensor c = xt.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.data_ptr(), x.data_ptr());
  EXPECT_EQ(testing::shape_of(c), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(c.strides().vec(), (std::vector<int64_t>{3, 1}));
  const float* p = c.data_ptr<float>();
  EXPECT_EQ(std::vector<float>(p, p + 6), (std::vector<float>{1, 3, 5, 2, 4, 6}));
}

TEST(TensorHandle, Item) {
  EXPECT_EQ(scalar_tensor(3.5).item<double>(), 3.5);
  EXPECT_TRUE(scalar_tensor(3.5).item().is_floating());
  Scalar s = tensor({{int64_t{42}}}).item();  // shape [1, 1]
  EXPECT_TRUE(s.is_integral());
  EXPECT_EQ(s.to_int(), 42);
  EXPECT_EQ(tensor({7}, kInt32).item<int32_t>(), 7);
  EXPECT_TRUE(tensor(true).item().is_bool());
  EXPECT_EQ(tensor(true).dim(), 0);
  EXPECT_EQ(tensor({1.0, 2.0, 3.0}).select(0, 2).item<float>(), 3.0f);
  EXPECT_HPML_ERROR(zeros({2}).item(), "item", "2 elements");
  EXPECT_HPML_ERROR(zeros({0}).item(), "item");
}

TEST(TensorHandle, TypedDataPtrChecksDtype) {
  Tensor f = zeros({2});
  EXPECT_NE(f.data_ptr<float>(), nullptr);
  EXPECT_HPML_ERROR(f.data_ptr<double>(), "data_ptr", "f64", "f32");
  EXPECT_HPML_ERROR(f.data_ptr<int32_t>(), "data_ptr");
  EXPECT_HPML_ERROR(zeros({2}, kInt64).data_ptr<int32_t>(), "data_ptr", "i32", "i64");
  EXPECT_HPML_ERROR(zeros({2}, kBool).data_ptr<uint8_t>(), "data_ptr");
  EXPECT_NO_THROW(zeros({2}, kBool).data_ptr<bool>());
  // A view's typed pointer includes its offset.
  Tensor a = tensor({1.0, 2.0, 3.0});
  EXPECT_EQ(*a.select(0, 2).data_ptr<float>(), 3.0f);
}

TEST(TensorHandle, ToDtype) {
  Tensor f = tensor({1.7, -1.7, 2.5, -0.5, 0.0, 100.9});
  Tensor i = f.to(kInt64);
  EXPECT_EQ(i.dtype(), kInt64);
  EXPECT_EQ(values<int64_t>(i), (std::vector<int64_t>{1, -1, 2, 0, 0, 100}));  // truncation toward zero
  EXPECT_EQ(values<int32_t>(f.to(kInt32)), (std::vector<int32_t>{1, -1, 2, 0, 0, 100}));

  Tensor b = tensor({0.0, -0.0, 0.5, -3.0, static_cast<double>(NAN)}).to(kBool);
  EXPECT_EQ(b.dtype(), kBool);
  EXPECT_EQ(values<bool>(b), (std::vector<bool>{false, false, true, true, true}));
  EXPECT_EQ(values<bool>(tensor({0, 2, -1}).to(kBool)), (std::vector<bool>{false, true, true}));

  EXPECT_EQ(values<float>(tensor({true, false}).to(kFloat32)), (std::vector<float>{1, 0}));
  EXPECT_EQ(values<double>(tensor({int64_t{1} << 40, -3}).to(kFloat64)), (std::vector<double>{1099511627776.0, -3}));
  EXPECT_EQ(values<uint8_t>(tensor({300, 255, 256}).to(kUInt8)), (std::vector<uint8_t>{44, 255, 0}));  // wraps mod 256

  // f64 -> f32 rounds to nearest.
  EXPECT_EQ(values<float>(tensor({0.1}, kFloat64).to(kFloat32)), (std::vector<float>{0.1f}));

  // Same dtype: the same tensor unless a copy is asked for.
  EXPECT_TRUE(f.to(kFloat32).is_same(f));
  Tensor copy = f.to(kFloat32, /*copy=*/true);
  EXPECT_FALSE(copy.is_same(f));
  EXPECT_NE(copy.data_ptr(), f.data_ptr());

  // Strided source.
  Tensor m = tensor({{1.9, 2.9}, {3.9, 4.9}});
  EXPECT_EQ(values<int64_t>(m.t().to(kInt64)), (std::vector<int64_t>{1, 3, 2, 4}));
}

}  // namespace
}  // namespace hpml

namespace hpml {
namespace {
// An undefined (default-constructed) tensor is reported, never dereferenced.
TEST(UndefinedTensor, AccessThrowsInsteadOfCrashing) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_HPML_ERROR((void)t.sizes(), "sizes", "undefined");
  EXPECT_HPML_ERROR((void)t.dim(), "dim", "undefined");
  EXPECT_HPML_ERROR((void)t.numel(), "numel", "undefined");
  EXPECT_HPML_ERROR((void)t.dtype(), "dtype", "undefined");
  EXPECT_HPML_ERROR((void)t.requires_grad(), "requires_grad", "undefined");
  EXPECT_HPML_ERROR((void)t.grad(), "grad", "undefined");
  EXPECT_HPML_ERROR((void)t.exp(), "exp", "undefined");
  EXPECT_HPML_ERROR((void)(t + ones({2})), "add", "undefined");
  EXPECT_HPML_ERROR(t.backward(), "backward", "undefined");
  EXPECT_HPML_ERROR((void)t.item(), "item", "undefined");
  EXPECT_EQ(to_string(t), "[ undefined tensor ]");
}
}  // namespace
}  // namespace hpml

TEST(Tensor, EmptyShapeWithOverflowingStridesIsRefused) {
  // No elements, but the strides of [0, 2^40, 2^40] do not fit int64 (found by the IDX fuzzer).
  EXPECT_THROW(hpml::empty({0, int64_t{1} << 40, int64_t{1} << 40}), hpml::Error);
  EXPECT_EQ(hpml::empty({0, 3, 4}).numel(), 0);
}
