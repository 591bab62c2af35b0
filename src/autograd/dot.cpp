// autograd::to_dot: the graph behind some tensors as Graphviz DOT text.
#include <sstream>
#include <unordered_map>
#include <vector>

#include "autograd/internal.h"
#include "hpml/autograd/engine.h"

namespace hpml::autograd {

std::string to_dot(const TensorList& roots) {
  std::ostringstream os;
  os << "digraph autograd {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  std::unordered_map<const Node*, int> ids;
  std::vector<const Node*> stack;
  auto id_of = [&](const Node* n) {
    auto [it, inserted] = ids.emplace(n, static_cast<int>(ids.size()));
    if (inserted) stack.push_back(n);
    return it->second;
  };
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& t = roots[r];
    if (!t.defined()) continue;
    os << "  out" << r << " [label=\"output " << r << "\\n" << t.sizes() << "\", shape=plaintext];\n";
    if (Edge e = detail::gradient_edge(t); e.valid()) os << "  n" << id_of(e.node.get()) << " -> out" << r << ";\n";
  }
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    const int id = ids[n];
    if (auto* acc = dynamic_cast<const detail::AccumulateGrad*>(n)) {
      os << "  n" << id << " [label=\"leaf\\n" << acc->output_meta[0].sizes << "\", shape=ellipse, style=filled, "
         << "fillcolor=lightblue];\n";
    } else {
      os << "  n" << id << " [label=\"" << n->name();
      for (const TensorMeta& m : n->output_meta) os << "\\n" << m.sizes;
      os << "\", shape=box];\n";
    }
    for (const Edge& e : n->next_edges)
      if (e.valid()) os << "  n" << id_of(e.node.get()) << " -> n" << id << ";\n";
  }
  os << "}\n";
  return os.str();
}

}  // namespace hpml::autograd
