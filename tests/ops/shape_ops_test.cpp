// roll, tile, repeat_interleave, diag, take, index_put, masked_scatter, baddbmm and einsum on
// small integer tensors with hand-computed results, and the errors they raise. Values and
// gradients against PyTorch are in the op table (OpParity, OpGradcheck).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::shape_of;
using testing::values;
using I = std::vector<int64_t>;
using D = std::vector<double>;

Tensor m23() { return arange(6).view({2, 3}); }  // [[0, 1, 2], [3, 4, 5]]

TEST(Roll, ShiftsWrapAroundPerDimOrFlattened) {
  EXPECT_EQ(values<int64_t>(roll(m23(), {1}, {1})), (I{2, 0, 1, 5, 3, 4}));
  EXPECT_EQ(values<int64_t>(roll(m23(), {-1, 1}, {1, 0})), (I{4, 5, 3, 1, 2, 0}));
  EXPECT_EQ(values<int64_t>(roll(m23(), {1})), (I{5, 0, 1, 2, 3, 4}));  // flattened, shape kept
  EXPECT_EQ(shape_of(roll(m23(), {1})), (I{2, 3}));
  EXPECT_EQ(values<int64_t>(roll(m23(), {7}, {1})), (I{2, 0, 1, 5, 3, 4}));  // 7 = 1 mod 3
  EXPECT_HPML_ERROR(roll(m23(), {1, 2}, {0}), "roll", "same length");
  EXPECT_HPML_ERROR(roll(m23(), {1}, {2}), "roll", "out of range");
  EXPECT_HPML_ERROR(roll(m23(), {1, 1}), "roll", "one element");
}

TEST(Tile, PrependsOnesToShortReps) {
  Tensor t = tile(arange(3), {2, 2});
  EXPECT_EQ(shape_of(t), (I{2, 6}));
  EXPECT_EQ(values<int64_t>(t), (I{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(values<int64_t>(tile(m23(), {2})), (I{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5}));
}

TEST(RepeatInterleave, RepeatsEachEntryInARow) {
  Tensor x = tensor({1, 2, 3});
  EXPECT_EQ(values<int64_t>(repeat_interleave(x, tensor({1, 0, 2}))), (I{1, 3, 3}));
  EXPECT_EQ(values<int64_t>(repeat_interleave(x, 2)), (I{1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(values<int64_t>(repeat_interleave(m23(), 2)), (I{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
  Tensor rows = repeat_interleave(m23(), tensor({2, 1}), 0);
  EXPECT_EQ(shape_of(rows), (I{3, 3}));
  EXPECT_EQ(values<int64_t>(rows), (I{0, 1, 2, 0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(values<int64_t>(repeat_interleave(tensor({2, 0, 1}))), (I{0, 0, 2}));
  EXPECT_HPML_ERROR(repeat_interleave(x, tensor({1, 2})), "repeat_interleave", "[2]");
  EXPECT_HPML_ERROR(repeat_interleave(x, tensor({1, -1, 2})), "repeat_interleave", "non-negative", "-1");
  EXPECT_HPML_ERROR(repeat_interleave(x, tensor({{1, 1, 1}})), "repeat_interleave", "0-d or 1-d");
  EXPECT_HPML_ERROR(repeat_interleave(x, tensor({1.0, 1.0, 1.0})), "repeat_interleave", "integer");
}

TEST(Diag, VectorToMatrixAndMatrixToVector) {
  Tensor up = diag(tensor({1, 2, 3}), 1);
  EXPECT_EQ(shape_of(up), (I{4, 4}));
  EXPECT_EQ(values<int64_t>(up), (I{0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0}));
  EXPECT_EQ(values<int64_t>(diag(tensor({7, 8}), -1)), (I{0, 0, 0, 7, 0, 0, 0, 8, 0}));
  Tensor m = arange(12).view({3, 4});
  EXPECT_EQ(values<int64_t>(diag(m)), (I{0, 5, 10}));
  EXPECT_EQ(values<int64_t>(diag(m, 1)), (I{1, 6, 11}));
  EXPECT_EQ(values<int64_t>(diag(m, -1)), (I{4, 9}));
  EXPECT_EQ(values<int64_t>(diag(m, 4)), I{});
  EXPECT_EQ(values<int64_t>(diag(m.t())), (I{0, 5, 10}));  // strided input
  EXPECT_HPML_ERROR(diag(zeros({2, 2, 2})), "diag", "1-d or 2-d", "[2, 2, 2]");
  EXPECT_HPML_ERROR(diag(scalar_tensor(1.0)), "diag");
}

TEST(Take, ReadsTheFlattenedInputWithNegativeIndices) {
  Tensor r = take(m23().t(), tensor({{-1, 0}, {1, 2}}));  // t() is [[0, 3], [1, 4], [2, 5]]
  EXPECT_EQ(shape_of(r), (I{2, 2}));
  EXPECT_EQ(values<int64_t>(r), (I{5, 0, 3, 1}));
  EXPECT_HPML_ERROR(take(m23(), tensor({6})), "take", "6", "out of range");
  EXPECT_HPML_ERROR(take(m23(), tensor({-7})), "take", "-7");
  EXPECT_HPML_ERROR(take(m23(), tensor({1.0})), "take", "i64");
}

TEST(IndexPut, WritesAndAccumulatesThroughAdvancedIndices) {
  Tensor x = zeros({3, 2}, kFloat64);
  Tensor r = index_put(x, {tensor({0, -1})}, tensor({{1.0}, {2.0}}).to(kFloat64));
  EXPECT_EQ(values<double>(r), (D{1, 1, 0, 0, 2, 2}));
  EXPECT_EQ(values<double>(x), (D{0, 0, 0, 0, 0, 0}));  // the input is untouched
  Tensor acc = index_put(zeros({4}, kFloat64), {tensor({0, 0, 2, 0})}, ones({4}, kFloat64), true);
  EXPECT_EQ(values<double>(acc), (D{3, 0, 1, 0}));
  // x[i, j] pairs broadcast: rows [[0], [2]] x cols [1, 0] -> result [2, 2].
  Tensor pairs = index_put(zeros({3, 2}, kFloat64), {tensor({{0}, {2}}), tensor({1, 0})},
                           tensor({{1.0, 2.0}, {3.0, 4.0}}).to(kFloat64));
  EXPECT_EQ(values<double>(pairs), (D{2, 1, 0, 0, 4, 3}));
  // x[0, :, 1] = v[0] and x[2, :, 3] = v[1]: indices apart, so the index dim comes first ([2, 2]).
  Tensor v = tensor({{1.0, 2.0}, {3.0, 4.0}}).to(kFloat64);
  Tensor apart = index_put(zeros({3, 2, 4}, kFloat64), {tensor({0, 2}), Tensor(), tensor({1, 3})}, v);
  EXPECT_EQ(values<double>(apart), (D{0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 4}));
  // x[:, i1, :, i3]: the indices are apart and not first, yet the index dim still comes first:
  // result [2 (index), 2, 2] with result[k, a, c] = x[a, i1[k], c, i3[k]].
  Tensor v8 = arange(1.0, 9.0, 1.0, kFloat64).view({2, 2, 2});
  std::vector<double> got = values<double>(
      index_put(zeros({2, 3, 2, 4}, kFloat64), {Tensor(), tensor({0, 2}), Tensor(), tensor({1, 3})}, v8));
  // x strides [24, 8, 4, 1]: k = 0 lands at 24a + 4c + 1, k = 1 at 24a + 16 + 4c + 3.
  const std::vector<std::pair<size_t, double>> want = {{1, 1}, {5, 2}, {25, 3}, {29, 4},
                                                       {19, 5}, {23, 6}, {43, 7}, {47, 8}};
  double total = 0;
  for (double e : got) total += e;
  EXPECT_EQ(total, 36.0);
  for (const auto& [pos, val] : want) EXPECT_EQ(got[pos], val) << "position " << pos;
  Tensor mask = tensor({{true, false}, {false, false}, {true, true}});
  Tensor masked = index_put(zeros({3, 2}, kFloat64), {mask}, tensor({5.0, 6.0, 7.0}).to(kFloat64));
  EXPECT_EQ(values<double>(masked), (D{5, 0, 0, 0, 6, 7}));
}

TEST(IndexPut, Errors) {
  Tensor x = zeros({3, 2});
  EXPECT_HPML_ERROR(index_put(x, {tensor({0, 5})}, scalar_tensor(1.0)), "index_put", "5", "out of bounds");
  EXPECT_HPML_ERROR(index_put(x, {tensor({0, 1})}, tensor({1.0, 2.0, 3.0})), "index_put", "[3]", "[2, 2]");
  EXPECT_HPML_ERROR(index_put(x, {tensor({0})}, scalar_tensor(1.0, kFloat64)), "index_put", "dtype");
  EXPECT_HPML_ERROR(index_put(x, {tensor({0}).to(kInt32)}, scalar_tensor(1.0)), "index_put", "i64 or bool");
  EXPECT_HPML_ERROR(index_put(x, {tensor({0}), tensor({0}), tensor({0})}, scalar_tensor(1.0)), "index_put",
                    "too many");
  EXPECT_HPML_ERROR(index_put(x, {tensor({true, false})}, scalar_tensor(1.0)), "index_put", "mask", "[2]");
  EXPECT_HPML_ERROR(index_put(x, {Tensor()}, scalar_tensor(1.0)), "index_put", "at least one");
}

TEST(MaskedScatter, FillsTruePositionsInOrder) {
  Tensor r = masked_scatter(zeros({2, 3}), tensor({true, false, true}), arange(5.0));
  EXPECT_EQ(shape_of(r), (I{2, 3}));
  EXPECT_EQ(values<float>(r), (std::vector<float>{0, 0, 1, 2, 0, 3}));
  EXPECT_HPML_ERROR(masked_scatter(zeros({2, 3}), tensor({true, false, true}), arange(3.0)), "masked_scatter", "4",
                    "3");
  EXPECT_HPML_ERROR(masked_scatter(zeros({3}), tensor({1, 0, 1}), arange(3.0)), "masked_scatter", "bool");
  EXPECT_HPML_ERROR(masked_scatter(zeros({3}), tensor({true, true, true}), arange(3.0).to(kFloat64)),
                    "masked_scatter", "dtype");
}

TEST(Baddbmm, AddsTheScaledProductAndChecksShapes) {
  Tensor in = tensor({1.0, 2.0}).to(kFloat64);  // broadcasts to [1, 2, 2]
  Tensor a = tensor({{{1.0, 2.0}, {3.0, 4.0}}}).to(kFloat64), b = tensor({{{1.0, 0.0}, {0.0, 1.0}}}).to(kFloat64);
  EXPECT_EQ(values<double>(baddbmm(in, a, b, 0.5, 2.0)), (D{2.5, 5, 6.5, 9}));
  Tensor nan_in = full({1, 2, 2}, std::numeric_limits<double>::quiet_NaN(), kFloat64);
  EXPECT_EQ(values<double>(baddbmm(nan_in, a, b, 0.0)), (D{1, 2, 3, 4}));  // beta = 0 ignores NaN
  EXPECT_HPML_ERROR(baddbmm(zeros({3, 2, 2}, kFloat64), a, b), "baddbmm", "[3, 2, 2]", "broadcast");
  EXPECT_HPML_ERROR(baddbmm(zeros({2}), a, b), "baddbmm", "dtype");
  EXPECT_HPML_ERROR(baddbmm(in, a, zeros({2, 2, 2}, kFloat64)), "baddbmm", "batch");
}

TEST(Einsum, HandComputedContractions) {
  Tensor m = arange(9.0).view({3, 3});  // [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
  EXPECT_EQ(einsum("ii", {m}).item<float>(), 12.0f);
  EXPECT_EQ(values<float>(einsum("ii->i", {m})), (std::vector<float>{0, 4, 8}));
  EXPECT_EQ(values<float>(einsum("ij->j", {m})), (std::vector<float>{9, 12, 15}));
  EXPECT_EQ(values<float>(einsum("ij,j->i", {m, tensor({1.0, 0.0, -1.0})})), (std::vector<float>{-2, -2, -2}));
  Tensor outer = einsum("i,j", {tensor({1.0, 2.0}), tensor({3.0, 4.0, 5.0})});
  EXPECT_EQ(shape_of(outer), (I{2, 3}));
  EXPECT_EQ(values<float>(outer), (std::vector<float>{3, 4, 5, 6, 8, 10}));
  // Implicit output: capitals sort before lower case, so "bA" is the transpose.
  Tensor x = arange(6.0).view({2, 3});
  EXPECT_EQ(shape_of(einsum("bA", {x})), (I{3, 2}));
  EXPECT_EQ(values<float>(einsum("bA", {x})), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(shape_of(einsum("...ij->...ji", {zeros({4, 2, 3})})), (I{4, 3, 2}));
}

TEST(Einsum, Errors) {
  Tensor a = zeros({2, 3}), b = zeros({3, 4});
  EXPECT_HPML_ERROR(einsum("ij,jk->ik", {a}), "einsum", "2 operands", "1 tensors");
  EXPECT_HPML_ERROR(einsum("i1,jk", {a, b}), "einsum", "invalid subscript '1'");
  EXPECT_HPML_ERROR(einsum("ijk,jk", {a, b}), "einsum", "operand 0", "[2, 3]", "3 dims");
  EXPECT_HPML_ERROR(einsum("ii", {a}), "einsum", "'i'", "repeated", "2", "3");
  EXPECT_HPML_ERROR(einsum("ij,jk->iz", {a, b}), "einsum", "output subscript 'z'");
  EXPECT_HPML_ERROR(einsum("ij,jk->ii", {a, b}), "einsum", "more than once");
  EXPECT_HPML_ERROR(einsum("ij,kj", {a, b}), "einsum", "'j'", "size 4", "3");
  EXPECT_HPML_ERROR(einsum("ij,jk", {a, b.to(kFloat64)}), "einsum", "dtype");
  EXPECT_HPML_ERROR(einsum("i..j", {a}), "einsum", "'...'");
}

}  // namespace
}  // namespace hpml
