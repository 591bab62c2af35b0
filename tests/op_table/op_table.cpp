// The op table: Args, and the assembly of the per-family tables in tests/op_table/.
#include "op_table/op_table.h"

#include <sstream>

#include "hpml/core/error.h"

namespace hpml::ops {

namespace table {
void add_unary_ops(std::vector<OpInfo>& t);
void add_binary_ops(std::vector<OpInfo>& t);
void add_reduce_ops(std::vector<OpInfo>& t);
void add_linalg_ops(std::vector<OpInfo>& t);
void add_view_ops(std::vector<OpInfo>& t);
void add_index_ops(std::vector<OpInfo>& t);
void add_conv_ops(std::vector<OpInfo>& t);
void add_norm_ops(std::vector<OpInfo>& t);
void add_attention_ops(std::vector<OpInfo>& t);
void add_sorting_ops(std::vector<OpInfo>& t);
void add_pointwise_ops(std::vector<OpInfo>& t);
void add_shape_ops(std::vector<OpInfo>& t);  // roll, tile, ..., einsum, index_put (shape_ops.cpp)
void add_nn_conv_ops(std::vector<OpInfo>& t);   // nn_conv_ops.cpp
void add_nn_layer_ops(std::vector<OpInfo>& t);  // nn_layer_ops.cpp
}  // namespace table

bool Args::has(std::string_view key) const {
  for (const auto& [k, v] : kv_)
    if (k == key) return true;
  return false;
}

const ArgValue& Args::get(std::string_view key) const {
  for (const auto& [k, v] : kv_)
    if (k == key) return v;
  HPML_FAIL("op table: sample has no argument '", key, "' (has: ", str(), ")");
}

int64_t Args::i(std::string_view key) const {
  const ArgValue& v = get(key);
  HPML_CHECK(std::holds_alternative<int64_t>(v), "op table: argument '", key, "' is not an integer");
  return std::get<int64_t>(v);
}
double Args::d(std::string_view key) const {
  const ArgValue& v = get(key);
  if (std::holds_alternative<int64_t>(v)) return static_cast<double>(std::get<int64_t>(v));
  HPML_CHECK(std::holds_alternative<double>(v), "op table: argument '", key, "' is not a number");
  return std::get<double>(v);
}
bool Args::b(std::string_view key) const {
  const ArgValue& v = get(key);
  HPML_CHECK(std::holds_alternative<bool>(v), "op table: argument '", key, "' is not a bool");
  return std::get<bool>(v);
}
std::vector<int64_t> Args::ints(std::string_view key) const {
  const ArgValue& v = get(key);
  HPML_CHECK(std::holds_alternative<std::vector<int64_t>>(v), "op table: argument '", key, "' is not a list");
  return std::get<std::vector<int64_t>>(v);
}
std::string Args::s(std::string_view key) const {
  const ArgValue& v = get(key);
  HPML_CHECK(std::holds_alternative<std::string>(v), "op table: argument '", key, "' is not a string");
  return std::get<std::string>(v);
}

std::string Args::str() const {
  std::ostringstream os;
  bool first = true;
  for (const auto& [k, v] : kv_) {
    os << (first ? "" : ", ") << k << '=';
    first = false;
    std::visit([&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, std::vector<int64_t>>) os << IntArrayRef(x);
      else if constexpr (std::is_same_v<T, bool>) os << (x ? "true" : "false");
      else os << x;
    }, v);
  }
  return os.str();
}

const std::vector<OpInfo>& op_table() {
  static const std::vector<OpInfo> table = [] {
    std::vector<OpInfo> t;
    table::add_unary_ops(t);
    table::add_binary_ops(t);
    table::add_reduce_ops(t);
    table::add_linalg_ops(t);
    table::add_view_ops(t);
    table::add_index_ops(t);
    table::add_conv_ops(t);
    table::add_norm_ops(t);
    table::add_attention_ops(t);
    table::add_sorting_ops(t);
    table::add_pointwise_ops(t);
    table::add_shape_ops(t);
    table::add_nn_conv_ops(t);
    table::add_nn_layer_ops(t);
    return t;
  }();
  return table;
}

const OpInfo& find_op(std::string_view name) {
  for (const OpInfo& op : op_table())
    if (op.name == name) return op;
  HPML_FAIL("op table: no op named '", name, "'");
}

}  // namespace hpml::ops
