// einsum, composed from permute, reshape, index_select, sum and bmm (Note [einsum reduces to
// bmm]); no backward of its own.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "hpml/core/record.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/linalg.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

// Note [einsum reduces to bmm]
// Every subscript becomes an integer label: 'A'-'Z' are 0-25, 'a'-'z' 26-51 (so the implicit
// output, the subscripts that appear once, sorted, puts capitals first as PyTorch does), and the
// dims an ellipsis covers are 52, 53, ..., aligned from the right across operands so that they
// broadcast like elementwise ops. Then:
//   1. within an operand, a label repeated ('ii') keeps the diagonal: the two dims move last,
//      merge into one of n*n and index_select picks 0, n+1, 2(n+1), ...;
//   2. a label that appears in one operand only and not in the output is summed right away;
//   3. the operands are contracted left to right. For the pair (A, B), with `keep` the labels the
//      output or a later operand still needs, each label is
//        batch     in A and B and kept        -> bmm's batch dim
//        contract  in A and B, not kept       -> bmm's inner dim (summed by the product)
//        left      in A only                  -> bmm's rows
//        right     in B only                  -> bmm's columns
//      A is permuted to [batch, left, contract] and reshaped to [Bt, L, K], B to [batch, contract,
//      right] -> [Bt, K, R]; bmm gives [Bt, L, R], reshaped back to [batch.., left.., right..].
//      A shared label of size 1 on one side broadcasts: that side is expanded first;
//   4. labels not in the output are summed and the rest permuted into the output's order.
// Each step is a differentiable op, so einsum needs no backward of its own. The operands are
// contracted in the order given (PyTorch 1.13 does the same without opt_einsum): a chain of
// matrices is fastest when written in a cheap order.

namespace {

constexpr int kEllipsis = 52;  // the first label of the ellipsis dims

int letter_label(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -1;
}

std::string label_name(int l) {
  if (l >= kEllipsis) return "...";
  return std::string(1, static_cast<char>(l < 26 ? 'A' + l : 'a' + (l - 26)));
}

struct Operand {
  Tensor t;
  std::vector<int> labels;  // one per dim of t
};

// One side of the equation: its letters and where an ellipsis stands (-1 if none).
struct Term {
  std::vector<int> letters;
  int ellipsis_at = -1;  // position in `letters` the ellipsis precedes
};

Term parse_term(std::string_view s, const std::string& eq) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      HPML_CHECK(s.substr(i, 3) == "..." && t.ellipsis_at < 0, "einsum: '.' must come as one '...' per operand, in '",
                 eq, "'");
      t.ellipsis_at = static_cast<int>(t.letters.size());
      i += 2;
      continue;
    }
    const int l = letter_label(s[i]);
    HPML_CHECK(l >= 0, "einsum: invalid subscript '", s[i], "' in '", eq, "' (subscripts are letters a-z, A-Z)");
    t.letters.push_back(l);
  }
  return t;
}

// The labels of an operand's dims, its ellipsis covering `n_ell` dims, aligned to `total_ell`.
std::vector<int> labels_of(const Term& t, int64_t n_ell, int64_t total_ell) {
  std::vector<int> out;
  for (size_t i = 0; i <= t.letters.size(); ++i) {
    if (static_cast<int>(i) == t.ellipsis_at)
      for (int64_t e = 0; e < n_ell; ++e) out.push_back(kEllipsis + static_cast<int>(total_ell - n_ell + e));
    if (i < t.letters.size()) out.push_back(t.letters[i]);
  }
  return out;
}

bool contains(const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); }

// Step 1: while a label repeats within the operand, keep its diagonal (moved to the last dim).
void take_diagonals(Operand& op, size_t index) {
  for (;;) {
    int64_t i = -1, j = -1;
    for (size_t a = 0; a < op.labels.size() && i < 0; ++a)
      for (size_t b = a + 1; b < op.labels.size(); ++b)
        if (op.labels[a] == op.labels[b]) {
          i = static_cast<int64_t>(a);
          j = static_cast<int64_t>(b);
          break;
        }
    if (i < 0) return;
    const int64_t n = op.t.sizes()[i];
    HPML_CHECK(op.t.sizes()[j] == n, "einsum: subscript '", label_name(op.labels[i]), "' is repeated in operand ",
               index, " with different sizes (", n, " and ", op.t.sizes()[j], ")");
    DimVector perm, shape;
    std::vector<int> labels;
    for (int64_t d = 0; d < op.t.dim(); ++d)
      if (d != i && d != j) {
        perm.push_back(d);
        shape.push_back(op.t.sizes()[d]);
        labels.push_back(op.labels[d]);
      }
    perm.push_back(i);
    perm.push_back(j);
    shape.push_back(n * n);
    labels.push_back(op.labels[i]);
    // [.., n, .., n, ..] -> [.., n * n] -> [.., n] (the entries (k, k): k * (n + 1))
    Tensor diag_pos = arange(0, n, 1, TensorOptions(kInt64).device(op.t.device())) * (n + 1);
    op.t = op.t.permute(perm).reshape(shape).index_select(static_cast<int64_t>(shape.size()) - 1, diag_pos);
    op.labels = labels;
  }
}

// Sums the dims of `op` whose label `drop` says to, removing their labels.
template <typename Pred>
void sum_labels(Operand& op, Pred drop) {
  DimVector dims;
  std::vector<int> kept;
  for (size_t d = 0; d < op.labels.size(); ++d) {
    if (drop(op.labels[d])) dims.push_back(static_cast<int64_t>(d));
    else kept.push_back(op.labels[d]);
  }
  if (dims.empty()) return;
  op.t = op.t.sum(dims);
  op.labels = kept;
}

int64_t size_of(const Operand& op, int l) {
  for (size_t d = 0; d < op.labels.size(); ++d)
    if (op.labels[d] == l) return op.t.sizes()[static_cast<int64_t>(d)];
  return 1;
}

// The size of label l once a and b broadcast (1 stretches to the other side's size, even 0).
int64_t joint_size(const Operand& a, const Operand& b, int l) {
  const int64_t sa = size_of(a, l);
  return sa == 1 ? size_of(b, l) : sa;
}

// Step 3: contracts a and b into one operand over the labels `keep` does not hold.
Operand contract(Operand a, Operand b, const std::vector<int>& keep) {
  sum_labels(a, [&](int l) { return !contains(b.labels, l) && !contains(keep, l); });
  sum_labels(b, [&](int l) { return !contains(a.labels, l) && !contains(keep, l); });
  std::vector<int> batch, left, con, right;
  for (int l : a.labels) (contains(b.labels, l) ? (contains(keep, l) ? batch : con) : left).push_back(l);
  for (int l : b.labels)
    if (!contains(a.labels, l)) right.push_back(l);
  // Broadcast shared labels of size 1 on one side.
  DimVector asz(a.t.sizes()), bsz(b.t.sizes());
  for (size_t d = 0; d < a.labels.size(); ++d) asz[d] = joint_size(a, b, a.labels[d]);
  for (size_t d = 0; d < b.labels.size(); ++d) bsz[d] = joint_size(a, b, b.labels[d]);
  Tensor at = a.t.expand(asz), bt = b.t.expand(bsz);
  auto order = [](const Operand& op, std::initializer_list<const std::vector<int>*> groups) {
    DimVector perm;
    for (const auto* g : groups)
      for (int l : *g) perm.push_back(std::find(op.labels.begin(), op.labels.end(), l) - op.labels.begin());
    return perm;
  };
  auto prod = [&](const std::vector<int>& ls) {
    int64_t p = 1;
    for (int l : ls) p *= joint_size(a, b, l);
    return p;
  };
  // a [batch, left, contract] -> [Bt, L, K]; b [batch, contract, right] -> [Bt, K, R]
  const int64_t Bt = prod(batch), L = prod(left), K = prod(con), R = prod(right);
  Tensor a3 = at.permute(order(a, {&batch, &left, &con})).reshape({Bt, L, K});
  Tensor b3 = bt.permute(order(b, {&batch, &con, &right})).reshape({Bt, K, R});
  Operand out;
  DimVector shape;
  for (const auto* g : {&batch, &left, &right})
    for (int l : *g) {
      out.labels.push_back(l);
      shape.push_back(joint_size(a, b, l));
    }
  out.t = bmm(a3, b3).reshape(shape);
  return out;
}

// The operands with their labels; the ellipsis dims are aligned to the largest ellipsis
// (`total_ell` dims) so that they broadcast from the right.
std::vector<Operand> parse_operands(const std::string& eq, const std::string& lhs, const TensorList& tensors,
                                    int64_t& total_ell) {
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(std::string_view(lhs).substr(start, comma - start), eq));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  HPML_CHECK(terms.size() == tensors.size(), "einsum: '", eq, "' has ", terms.size(), " operands but ",
             tensors.size(), " tensors were given");
  total_ell = 0;
  std::vector<int64_t> n_ell(terms.size());  // dims each ellipsis covers
  for (size_t k = 0; k < terms.size(); ++k) {
    ops::check_defined("einsum", tensors[k], "an operand");
    HPML_CHECK(tensors[k].dtype() == tensors[0].dtype(), "einsum: operands must have one dtype, got ",
               tensors[0].dtype(), " (operand 0) and ", tensors[k].dtype(), " (operand ", k, ")");
    const int64_t nl = static_cast<int64_t>(terms[k].letters.size()), nd = tensors[k].dim();
    const bool ok = terms[k].ellipsis_at >= 0 ? nl <= nd : nl == nd;
    HPML_CHECK(ok, "einsum: operand ", k, " has shape ", tensors[k].sizes(), " but its subscripts in '", eq,
               "' name ", nl, " dims");
    n_ell[k] = nd - nl;
    total_ell = std::max(total_ell, n_ell[k]);
  }
  std::vector<Operand> operands;
  for (size_t k = 0; k < terms.size(); ++k) operands.push_back({tensors[k], labels_of(terms[k], n_ell[k], total_ell)});
  return operands;
}

// A label's sizes must agree: within an operand exactly (a diagonal), across operands up to
// broadcasting of 1.
void check_sizes(const std::vector<Operand>& operands, size_t n_labels) {
  std::vector<int64_t> size(n_labels, -1);  // -1: not seen yet
  for (size_t k = 0; k < operands.size(); ++k) {
    const Operand& op = operands[k];
    for (size_t d = 0; d < op.labels.size(); ++d) {
      const int l = op.labels[d];
      const int64_t n = op.t.sizes()[static_cast<int64_t>(d)];
      for (size_t e = 0; e < d; ++e)
        HPML_CHECK(op.labels[e] != l || op.t.sizes()[static_cast<int64_t>(e)] == n, "einsum: subscript '",
                   label_name(l), "' is repeated in operand ", k, " with different sizes (",
                   op.t.sizes()[static_cast<int64_t>(e)], " and ", n, ")");
      int64_t& s = size[static_cast<size_t>(l)];
      HPML_CHECK(s < 0 || s == 1 || n == 1 || s == n, "einsum: subscript '", label_name(l), "' has size ", n,
                 " in operand ", k, " but ", s, " in an earlier one");
      if (s < 0 || s == 1) s = n;
    }
  }
}

// The output's labels: explicit after "->", or the ellipsis dims then the labels seen once, in
// label order.
std::vector<int> output_labels(const std::string& eq, size_t arrow, const std::vector<Operand>& operands,
                               int64_t total_ell) {
  std::vector<int> count(static_cast<size_t>(kEllipsis + total_ell), 0);  // occurrences over all operands
  for (const Operand& op : operands)
    for (int l : op.labels) ++count[static_cast<size_t>(l)];
  std::vector<int> out;
  auto add_ellipsis = [&] {
    for (int64_t e = 0; e < total_ell; ++e) out.push_back(kEllipsis + static_cast<int>(e));
  };
  if (arrow == std::string::npos) {
    add_ellipsis();
    for (int l = 0; l < kEllipsis; ++l)
      if (count[static_cast<size_t>(l)] == 1) out.push_back(l);
    return out;
  }
  Term rhs = parse_term(std::string_view(eq).substr(arrow + 2), eq);
  for (size_t i = 0; i <= rhs.letters.size(); ++i) {
    if (static_cast<int>(i) == rhs.ellipsis_at) add_ellipsis();
    if (i == rhs.letters.size()) break;
    const int l = rhs.letters[i];
    HPML_CHECK(count[static_cast<size_t>(l)] > 0, "einsum: output subscript '", label_name(l),
               "' does not appear in the operands of '", eq, "'");
    HPML_CHECK(!contains(out, l), "einsum: output subscript '", label_name(l), "' appears more than once in '", eq,
               "'");
    out.push_back(l);
  }
  return out;
}

}  // namespace

Tensor einsum(std::string_view equation, const TensorList& tensors) {
  HPML_RECORD_OP("einsum", std::span<const Tensor>(tensors));
  ops::check_same_device("einsum", "operands", tensors);
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq.push_back(c);
  const size_t arrow = eq.find("->");
  int64_t total_ell = 0;
  std::vector<Operand> operands = parse_operands(eq, eq.substr(0, arrow), tensors, total_ell);
  check_sizes(operands, static_cast<size_t>(kEllipsis + total_ell));
  const std::vector<int> out = output_labels(eq, arrow, operands, total_ell);
  // Steps 1 and 2, then 3 (Note [einsum reduces to bmm]).
  for (size_t k = 0; k < operands.size(); ++k) {
    take_diagonals(operands[k], k);
    sum_labels(operands[k], [&](int l) {
      int others = 0;
      for (size_t j = 0; j < operands.size(); ++j) others += j != k && contains(operands[j].labels, l);
      return others == 0 && !contains(out, l);
    });
  }
  Operand cur = operands[0];
  for (size_t k = 1; k < operands.size(); ++k) {
    std::vector<int> keep = out;
    for (size_t j = k + 1; j < operands.size(); ++j)
      keep.insert(keep.end(), operands[j].labels.begin(), operands[j].labels.end());
    cur = contract(cur, operands[k], keep);
  }
  // Step 4.
  sum_labels(cur, [&](int l) { return !contains(out, l); });
  DimVector perm;
  for (int l : out) perm.push_back(std::find(cur.labels.begin(), cur.labels.end(), l) - cur.labels.begin());
  return perm.empty() ? cur.t : cur.t.permute(perm);
}

}  // namespace hpml
