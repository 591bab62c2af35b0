// autograd::to_dot: the DOT text of a small MLP's graph is parsed back and compared with the graph built.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

struct Dot {
  std::map<std::string, std::pair<std::string, std::string>> nodes;  // id -> (label, shape)
  std::vector<std::pair<std::string, std::string>> edges;            // (from id, to id)
  int declarations = 0;
  std::vector<std::string> unparsed;
};

Dot parse(const std::string& text) {
  Dot d;
  static const std::regex node_re(R"re(^\s*(\w+) \[label="([^"]*)", shape=(\w+).*\];\s*$)re");
  static const std::regex edge_re(R"re(^\s*(\w+) -> (\w+);\s*$)re");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, node_re)) {
      d.nodes[m[1]] = {m[2], m[3]};
      ++d.declarations;
    } else if (std::regex_match(line, m, edge_re)) {
      d.edges.emplace_back(m[1], m[2]);
    } else {
      d.unparsed.push_back(line);
    }
  }
  return d;
}

// Edges as (from label, to label), sorted, for comparison.
std::vector<std::pair<std::string, std::string>> labelled_edges(const Dot& d) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [a, b] : d.edges) {
    EXPECT_TRUE(d.nodes.count(a)) << "edge from undeclared node " << a;
    EXPECT_TRUE(d.nodes.count(b)) << "edge to undeclared node " << b;
    if (d.nodes.count(a) && d.nodes.count(b)) out.emplace_back(d.nodes.at(a).first, d.nodes.at(b).first);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::multiset<std::string> labels_with_shape(const Dot& d, const std::string& shape) {
  std::multiset<std::string> s;
  for (const auto& [id, ls] : d.nodes)
    if (ls.second == shape) s.insert(ls.first);
  return s;
}

TEST(ToDot, SmallMlpGraph) {
  Tensor x = ones({4, 3});  // input: no grad, so not drawn
  Tensor w1 = full({3, 5}, 0.1).requires_grad_();
  Tensor b1 = zeros({5}).requires_grad_();
  Tensor w2 = full({5, 2}, 0.2).requires_grad_();
  Tensor loss = (x.mm(w1) + b1).relu().mm(w2).sum();
  const std::string text = autograd::to_dot(loss);

  ASSERT_EQ(text.rfind("digraph", 0), 0u) << text;
  EXPECT_EQ(text.substr(text.size() - 2), "}\n");
  EXPECT_EQ(std::count(text.begin(), text.end(), '{'), 1);
  EXPECT_EQ(std::count(text.begin(), text.end(), '}'), 1);
  Dot d = parse(text);
  // The only lines left unparsed are the header, graph attributes and the closing brace.
  EXPECT_LE(d.unparsed.size(), 4u) << text;
  EXPECT_EQ(d.declarations, static_cast<int>(d.nodes.size())) << "a node was declared twice:\n" << text;

  EXPECT_EQ(labels_with_shape(d, "box"),
            (std::multiset<std::string>{"mm\\n[4, 5]", "add\\n[4, 5]", "relu\\n[4, 5]", "mm\\n[4, 2]", "sum\\n[]"}))
      << text;
  EXPECT_EQ(labels_with_shape(d, "ellipse"),
            (std::multiset<std::string>{"leaf\\n[3, 5]", "leaf\\n[5]", "leaf\\n[5, 2]"}))
      << text;
  EXPECT_EQ(labels_with_shape(d, "plaintext"), (std::multiset<std::string>{"output 0\\n[]"})) << text;

  // Edges follow the forward pass: inputs -> op -> consumer -> ... -> output.
  std::vector<std::pair<std::string, std::string>> expected = {
      {"leaf\\n[3, 5]", "mm\\n[4, 5]"}, {"mm\\n[4, 5]", "add\\n[4, 5]"}, {"leaf\\n[5]", "add\\n[4, 5]"},
      {"add\\n[4, 5]", "relu\\n[4, 5]"}, {"relu\\n[4, 5]", "mm\\n[4, 2]"}, {"leaf\\n[5, 2]", "mm\\n[4, 2]"},
      {"mm\\n[4, 2]", "sum\\n[]"},       {"sum\\n[]", "output 0\\n[]"}};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(d.edges.size(), expected.size()) << text;
  EXPECT_EQ(labelled_edges(d), expected) << text;

  // Drawing does not consume the graph.
  loss.backward();
  testing::expect_values(b1.grad(), std::vector<double>(5, 4 * 0.4), 1e-6);
}

TEST(ToDot, SharedNodesAppearOnceAndSeveralRootsAreDrawn) {
  Tensor x = zeros({2}).requires_grad_();
  Tensor h = x.exp();
  Tensor a = h * x;  // x reaches mul twice: directly and through exp
  Tensor b = h.sin();
  Dot d = parse(autograd::to_dot(TensorList{a, b}));
  EXPECT_EQ(d.declarations, static_cast<int>(d.nodes.size()));
  EXPECT_EQ(labels_with_shape(d, "ellipse"), (std::multiset<std::string>{"leaf\\n[2]"}));
  EXPECT_EQ(labels_with_shape(d, "box"), (std::multiset<std::string>{"exp\\n[2]", "mul\\n[2]", "sin\\n[2]"}));
  EXPECT_EQ(labels_with_shape(d, "plaintext"), (std::multiset<std::string>{"output 0\\n[2]", "output 1\\n[2]"}));
  std::vector<std::pair<std::string, std::string>> expected = {
      {"leaf\\n[2]", "exp\\n[2]"}, {"exp\\n[2]", "mul\\n[2]"},      {"leaf\\n[2]", "mul\\n[2]"},
      {"exp\\n[2]", "sin\\n[2]"},  {"mul\\n[2]", "output 0\\n[2]"}, {"sin\\n[2]", "output 1\\n[2]"}};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(labelled_edges(d), expected);
}

TEST(ToDot, TensorWithoutHistoryIsJustAnOutput) {
  Tensor c = ones({3});
  Dot d = parse(autograd::to_dot(c));
  EXPECT_EQ(labels_with_shape(d, "plaintext"), (std::multiset<std::string>{"output 0\\n[3]"}));
  EXPECT_EQ(d.nodes.size(), 1u);
  EXPECT_TRUE(d.edges.empty());
  // A leaf that requires grad is drawn as its own ellipse.
  Tensor x = ones({2, 2}).requires_grad_();
  Dot dl = parse(autograd::to_dot(x));
  EXPECT_EQ(labels_with_shape(dl, "ellipse"), (std::multiset<std::string>{"leaf\\n[2, 2]"}));
  EXPECT_EQ(dl.edges.size(), 1u);
}

}  // namespace
}  // namespace hpml
