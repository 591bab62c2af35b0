// matmul's shape rules for every rank combination (1-d promotion, batch broadcasting) against a loop reference,
// and the errors of matmul/mm/bmm/dot.
#include <gtest/gtest.h>

#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::shape_of;
using testing::values;
using Shape = std::vector<int64_t>;

// Reference matmul with PyTorch's rules, computed with plain loops over contiguous copies of the values.
// Returns the result shape and values (row-major).
std::pair<Shape, std::vector<double>> reference(const Tensor& a, const Tensor& b) {
  Shape as = shape_of(a), bs = shape_of(b);
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as.insert(as.begin(), 1);
  if (b1) bs.push_back(1);
  const int64_t n = as[as.size() - 2], k = as.back(), m = bs.back();
  Shape abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
  const size_t nb = std::max(abatch.size(), bbatch.size());
  Shape batch(nb);
  for (size_t i = 0; i < nb; ++i) {
    int64_t da = i + abatch.size() >= nb ? abatch[i + abatch.size() - nb] : 1;
    int64_t db = i + bbatch.size() >= nb ? bbatch[i + bbatch.size() - nb] : 1;
    batch[i] = std::max(da, db);
  }
  std::vector<double> av, bv;
  for (float x : values<float>(a)) av.push_back(x);
  for (float x : values<float>(b)) bv.push_back(x);
  int64_t total = 1;
  for (int64_t s : batch) total *= s;
  std::vector<double> out;
  for (int64_t t = 0; t < total; ++t) {
    // Batch index -> offsets in a and b (size-1 batch dims broadcast).
    int64_t rem = t, aoff = 0, boff = 0, astride = n * k, bstride = k * m;
    for (size_t i = nb; i-- > 0;) {
      const int64_t idx = rem % batch[i];
      rem /= batch[i];
      if (i + abatch.size() >= nb) {
        const int64_t s = abatch[i + abatch.size() - nb];
        aoff += (s == 1 ? 0 : idx) * astride;
        astride *= s;
      }
      if (i + bbatch.size() >= nb) {
        const int64_t s = bbatch[i + bbatch.size() - nb];
        boff += (s == 1 ? 0 : idx) * bstride;
        bstride *= s;
      }
    }
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < m; ++c) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += av[static_cast<size_t>(aoff + r * k + p)] * bv[static_cast<size_t>(boff + p * m + c)];
        out.push_back(acc);
      }
  }
  Shape shape = batch;
  if (!a1) shape.push_back(n);
  if (!b1) shape.push_back(m);
  return {shape, out};
}

TEST(Matmul, EveryRankCombination) {
  struct Case {
    Shape a, b, out;
  };
  const Case cases[] = {
      {{3}, {3}, {}},                     // dot
      {{2, 3}, {3}, {2}},                 // matrix-vector
      {{3}, {3, 4}, {4}},                 // vector-matrix
      {{2, 3}, {3, 4}, {2, 4}},           // mm
      {{5, 2, 3}, {3}, {5, 2}},           // batched matrix-vector
      {{5, 2, 3}, {3, 4}, {5, 2, 4}},     // batch x matrix
      {{3}, {5, 3, 4}, {5, 4}},           // vector x batch
      {{2, 3}, {5, 3, 4}, {5, 2, 4}},     // matrix x batch
      {{5, 2, 3}, {5, 3, 4}, {5, 2, 4}},  // bmm
      {{2, 1, 2, 3}, {5, 3, 4}, {2, 5, 2, 4}},
      {{1, 2, 3}, {4, 3, 2}, {4, 2, 2}},
      {{2, 5, 2, 3}, {3}, {2, 5, 2}},
      {{3}, {2, 1, 3, 2}, {2, 1, 2}},
      {{2, 0, 3}, {3, 4}, {2, 0, 4}},
      {{2, 0}, {0, 3}, {2, 3}},  // empty inner dimension: zeros
  };
  Generator g(5);
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.a) + " @ " + ::testing::PrintToString(c.b));
    Tensor a = randn(c.a, &g), b = randn(c.b, &g);
    Tensor r = matmul(a, b);
    EXPECT_EQ(shape_of(r), c.out);
    EXPECT_EQ(r.dtype(), kFloat32);
    auto [shape, want] = reference(a, b);
    ASSERT_EQ(shape, c.out) << "the reference disagrees with the case table";
    std::vector<float> got = values<float>(r);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << i;
  }
}

TEST(Matmul, NonContiguousOperands) {
  Generator g(6);
  Tensor a = randn({4, 3}, &g).t();                  // [3, 4] transposed
  Tensor b = randn({4, 10}, &g).slice(1, 0, 10, 2);  // [4, 5] with column stride 2
  auto [shape, want] = reference(a, b);
  std::vector<float> got = values<float>(matmul(a, b));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4);
  Tensor ab = randn({2, 4, 3}, &g).transpose(1, 2);  // [2, 3, 4]
  auto [s2, w2] = reference(ab, b);
  std::vector<float> g2 = values<float>(matmul(ab, b));
  ASSERT_EQ(g2.size(), w2.size());
  for (size_t i = 0; i < g2.size(); ++i) EXPECT_NEAR(g2[i], w2[i], 1e-4);
}

TEST(Matmul, IntegerAndDoubleOperands) {
  Tensor a = tensor({{1, 2}, {3, 4}}), b = tensor({{5, 6}, {7, 8}});
  Tensor r = matmul(a, b);
  EXPECT_EQ(r.dtype(), kInt64);
  EXPECT_EQ(values<int64_t>(r), (std::vector<int64_t>{19, 22, 43, 50}));
  Tensor d = matmul(tensor({1.0, 2.0}, kFloat64), tensor({3.0, 4.0}, kFloat64));
  EXPECT_EQ(d.dtype(), kFloat64);
  EXPECT_EQ(d.dim(), 0);
  EXPECT_EQ(d.item<double>(), 11.0);
}

TEST(Matmul, InnerDimensionErrorText) {
  EXPECT_HPML_ERROR(mm(ones({2, 3}), ones({4, 5})), "mm",
                    "inner dimensions differ: a.shape=[2, 3], b.shape=[4, 5] (3 != 4)");
  EXPECT_HPML_ERROR(matmul(ones({2, 3}), ones({4, 5})),
                    "inner dimensions differ: a.shape=[2, 3], b.shape=[4, 5] (3 != 4)");
  EXPECT_HPML_ERROR(matmul(ones({5, 2, 3}), ones({4, 5})), "matmul", "inner dimensions differ", "(3 != 4)");
  EXPECT_HPML_ERROR(matmul(ones({3}), ones({4})), "dot");
  EXPECT_HPML_ERROR(matmul(ones({2, 3}), ones({4})), "inner dimensions differ");
  EXPECT_HPML_ERROR(matmul(ones({3}), ones({4, 5})), "inner dimensions differ");
  EXPECT_HPML_ERROR(bmm(ones({2, 2, 3}), ones({2, 4, 5})), "bmm", "inner dimensions differ", "(3 != 4)");
}

TEST(Matmul, OtherErrors) {
  EXPECT_HPML_ERROR(matmul(scalar_tensor(1.0), ones({2})), "matmul", "at least 1 dimension");
  EXPECT_HPML_ERROR(matmul(ones({2}), scalar_tensor(1.0)), "matmul");
  EXPECT_HPML_ERROR(matmul(ones({2, 2, 3}), ones({3, 3, 4})), "matmul", "[2]", "[3]");  // batch dims clash
  EXPECT_HPML_ERROR(mm(ones({3}), ones({3, 3})), "mm", "2-d");
  EXPECT_HPML_ERROR(bmm(ones({2, 2, 3}), ones({3, 3, 4})), "bmm", "batch");
  EXPECT_HPML_ERROR(bmm(ones({2, 3}), ones({3, 4})), "bmm", "3-d");
  EXPECT_HPML_ERROR(mm(ones({2, 2}), ones({2, 2}, kFloat64)), "mm", "dtype");
  EXPECT_HPML_ERROR(dot(ones({2, 2}), ones({2})), "dot");
  EXPECT_HPML_ERROR(mm(ones({2, 2}, kBool), ones({2, 2}, kBool)), "mm", "bool");
}

TEST(Matmul, AddmmAndOuter) {
  Tensor r = addmm(tensor({10.0, 20.0}), tensor({{1.0, 2.0}, {3.0, 4.0}}), eye(2), 2, 3);
  // 2 * bias + 3 * (a @ I), bias broadcast over rows
  EXPECT_EQ(values<float>(r), (std::vector<float>{23, 46, 29, 52}));
  Tensor o = outer(tensor({1.0, 2.0}), tensor({3.0, 4.0, 5.0}));
  EXPECT_EQ(shape_of(o), (Shape{2, 3}));
  EXPECT_EQ(values<float>(o), (std::vector<float>{3, 4, 5, 6, 8, 10}));
  EXPECT_HPML_ERROR(addmm(ones({3}), ones({2, 2}), ones({2, 2})), "addmm");
}

// Largest |a - b| over equal shapes (f64 values, contiguous copies).
double max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(shape_of(a), shape_of(b));
  std::vector<double> va = values<double>(a.contiguous()), vb = values<double>(b.contiguous());
  double m = 0;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// Note [Gradients in their operand's layout]: an operand that is the transpose of a contiguous
// matrix (a Linear layer's weight.t()) gets its gradient in that layout, so the leaf's .grad is
// contiguous (no strided copy) and equal to the gradient of the same product of plain copies.
TEST(Matmul, GradientOfATransposedOperandKeepsItsLayout) {
  manual_seed(3);
  for (bool with_bias : {false, true}) {
    Tensor w = randn({5, 7}, kFloat64).requires_grad_(), x = randn({4, 7}, kFloat64).requires_grad_();
    Tensor bias = randn({5}, kFloat64).requires_grad_();
    Tensor y = with_bias ? addmm(bias, x, w.t(), 1.0, 2.0) : mm(x, w.t());
    (y * y).sum().backward();
    EXPECT_TRUE(w.grad().is_contiguous()) << "with_bias=" << with_bias;
    Tensor wc = w.detach().t().contiguous().requires_grad_(), xc = x.detach().clone().requires_grad_();
    Tensor yc = with_bias ? addmm(bias.detach(), xc, wc, 1.0, 2.0) : mm(xc, wc);
    (yc * yc).sum().backward();
    EXPECT_LT(max_diff(w.grad(), wc.grad().t()), 1e-12) << "with_bias=" << with_bias;
    EXPECT_LT(max_diff(x.grad(), xc.grad()), 1e-12) << "with_bias=" << with_bias;
    // The first operand transposed too: x = xt.t().
    Tensor xt = randn({7, 4}, kFloat64).requires_grad_();
    (mm(xt.t(), w.t()) * 3.0).sum().backward();
    EXPECT_TRUE(xt.grad().is_contiguous());
    EXPECT_LT(max_diff(xt.grad(), (ones({4, 5}, kFloat64) * 3.0).mm(w.detach()).t()), 1e-12);
  }
  // Finite differences through both layouts (alpha and beta not 1).
  Tensor w = randn({3, 4}, kFloat64).requires_grad_(), x = randn({2, 4}, kFloat64).requires_grad_();
  Tensor b = randn({3}, kFloat64).requires_grad_(), at = randn({4, 2}, kFloat64).requires_grad_();
  auto r = autograd::gradcheck(
      [](const TensorList& in) {
        return TensorList{addmm(in[2], in[1], in[0].t(), 0.5, 1.5), mm(in[3].t(), in[0].t())};
      },
      {w, x, b, at});
  EXPECT_TRUE(r.ok) << r.message;
}

}  // namespace
}  // namespace hpml
