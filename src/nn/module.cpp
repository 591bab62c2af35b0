// nn::Module: registration, traversal, modes, dtype conversion, state dicts, printing, and the
// error context added by operator().
#include "hpml/nn/module.h"

#include <algorithm>
#include <sstream>

#include "hpml/autograd/grad_mode.h"
#include "hpml/core/file.h"
#include "hpml/autograd/node.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/views.h"

namespace hpml::autograd::detail {
void forget_leaf(Node* accumulator);  // src/autograd/node.cpp
}

namespace hpml::nn {

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}
Module::~Module() = default;

// Checks run before anything is moved, so a refused move leaves `o` intact.
Module& Module::checked_for_move(Module& o) {
  HPML_CHECK(o.parent_ == nullptr, "cannot move module ", o.type_name_, " ('", o.name_in_parent_,
             "'): it is registered in a parent that points at it");
  for (const Child& c : o.children_)
    HPML_CHECK(c.owned != nullptr, "cannot move module ", o.type_name_, ": its child '", c.name,
               "' is a member registered by reference\nhint: construct the module where it will live "
               "(or hold it in a std::shared_ptr)");
  return o;
}

Module::Module(Module&& o)
    : type_name_(std::move(checked_for_move(o).type_name_)),
      training_(o.training_),
      parameters_(std::move(o.parameters_)),
      buffers_(std::move(o.buffers_)),
      children_(std::move(o.children_)) {
  for (Child& c : children_) c.module->parent_ = this;
}

Tensor Module::forward(const Tensor&) {
  HPML_FAIL(type_name_, " has no forward(const Tensor&)\nhint: override forward in your module, or call its own method");
}

// Note [Errors inside modules]
// operator() wraps forward: an hpml::Error raised inside gets the module's dotted path and type
// in front ("in features.3 (Conv2d): conv2d: ..."), once — by the innermost module that saw it,
// which knows the most precise place; the modules around it let the annotated error pass.
Tensor Module::operator()(const Tensor& x) {
  return with_context([&] { return forward(x); });
}

void Module::throw_in_context(const Error& e) const {
  const std::string p = path();
  throw ModuleError(hpml::detail::str_cat("in ", p.empty() ? type_name_ : p + " (" + type_name_ + ")", ": ", e.what()));
}

void Module::check_name(const std::string& name, const char* what) const {
  HPML_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_, ": invalid ", what, " name '", name,
             "' (must be non-empty and contain no '.')");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& e) { return e.first == name; });
  };
  bool child = std::any_of(children_.begin(), children_.end(), [&](const Child& c) { return c.name == name; });
  HPML_CHECK(!taken(parameters_) && !taken(buffers_) && !child, type_name_, ": the name '", name,
             "' is already registered");
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_name(name, "parameter");
  HPML_CHECK(value.defined(), type_name_, ": parameter '", name, "' is an undefined tensor");
  HPML_CHECK(value.is_leaf(), type_name_, ": parameter '", name, "' must be a leaf tensor; it was made by ",
             value.grad_fn()->name(), "\nhint: create it under a NoGradGuard or detach() it");
  if (requires_grad) value.requires_grad_(true);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_name(name, "buffer");
  buffers_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, Module* child, std::shared_ptr<Module> owned) {
  check_name(name, "module");
  HPML_CHECK(child != this, type_name_, ": a module cannot be its own child");
  children_.push_back(Child{name, child, std::move(owned)});
  if (!child->parent_) {  // a module registered twice keeps its first name (as PyTorch lists it)
    child->parent_ = this;
    child->name_in_parent_ = name;
  }
}

Tensor* Module::find_parameter(const std::string& name) {
  for (auto& [n, t] : parameters_)
    if (n == name) return &t;
  return nullptr;
}
Tensor* Module::find_buffer(const std::string& name) {
  for (auto& [n, t] : buffers_)
    if (n == name) return &t;
  return nullptr;
}

// Calls f(dotted_name, tensor, is_parameter) for this module's tensors, then its children's.
template <typename F>
void Module::visit(const std::string& prefix, bool recurse, const F& f) const {
  for (const auto& [n, t] : parameters_) f(prefix + n, t, true);
  for (const auto& [n, t] : buffers_)
    if (t.defined()) f(prefix + n, t, false);
  if (!recurse) return;
  for (const Child& c : children_) c.module->visit(prefix + c.name + ".", true, f);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  visit("", recurse, [&](const std::string& n, const Tensor& t, bool is_param) {
    if (!is_param) return;
    // A parameter shared by two modules is listed once, under its first name (as in PyTorch).
    for (const auto& e : out)
      if (e.second.is_same(t)) return;
    out.emplace_back(n, t);
  });
  return out;
}

TensorList Module::parameters(bool recurse) const {
  TensorList out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  visit("", recurse, [&](const std::string& n, const Tensor& t, bool is_param) {
    if (!is_param) out.emplace_back(n, t);
  });
  return out;
}

TensorList Module::buffers(bool recurse) const {
  TensorList out;
  for (auto& [n, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_children() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const Child& c : children_) out.emplace_back(c.name, c.module);
  return out;
}

std::vector<Module*> Module::children() const {
  std::vector<Module*> out;
  for (const Child& c : children_) out.push_back(c.module);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() const {
  // Depth first; a module reachable twice is listed once, under its first name (PyTorch's memo).
  std::vector<std::pair<std::string, Module*>> out;
  std::vector<const Module*> seen;
  auto walk = [&](auto& self, const Module* m, const std::string& prefix) -> void {
    if (std::find(seen.begin(), seen.end(), m) != seen.end()) return;
    seen.push_back(m);
    out.emplace_back(prefix, const_cast<Module*>(m));
    for (const Child& c : m->children_) self(self, c.module, prefix.empty() ? c.name : prefix + "." + c.name);
  };
  walk(walk, this, "");
  return out;
}

std::vector<Module*> Module::modules() const {
  std::vector<Module*> out;
  for (auto& [n, m] : named_modules()) out.push_back(m);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (Child& c : children_) c.module->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else {
      NoGradGuard ng;
      p.mutable_grad().zero_();
    }
  }
}

namespace {
// Converts t (and its gradient) to dtype in place, keeping the handle. Autograd's accumulator
// caches the leaf's dtype, so it is dropped and made anew on the next use.
void convert_in_place(Tensor& t, DType dtype) {
  if (!t.defined() || !t.is_floating_point() || t.dtype() == dtype) return;
  NoGradGuard ng;
  Tensor c = t.detach().to(dtype);
  t.impl()->set_data(c.impl()->storage(), dtype, c.sizes(), c.strides(), c.storage_offset());
  t.bump_version();
  if (AutogradMeta* m = t.impl()->autograd()) {
    autograd::detail::forget_leaf(m->grad_accumulator.get());
    m->grad_accumulator.reset();
    if (m->grad && m->grad->defined()) *m->grad = m->grad->to(dtype);
  }
}
}  // namespace

Module& Module::to(DType dtype) {
  HPML_CHECK(is_floating(dtype), type_name_, ".to: modules convert to floating dtypes only, got ", dtype);
  for (Module* m : modules()) {
    for (auto& [n, t] : m->parameters_) convert_in_place(t, dtype);
    for (auto& [n, t] : m->buffers_) convert_in_place(t, dtype);
  }
  return *this;
}

Module& Module::share_memory() {
  for (Tensor& p : parameters()) {
    p.share_memory_();
    if (p.grad().defined()) p.mutable_grad().share_memory_();
  }
  for (Tensor& b : buffers()) b.share_memory_();
  return *this;
}

namespace {
// Moves t's values to `device` in place: the same TensorImpl gets the new storage, so every
// handle to it (an optimizer built before, a tied weight) sees the move, as in PyTorch's
// `param.data = param.data.to(device)`.
void move_in_place(const Tensor& t, Device device) {
  if (!t.defined() || t.device() == device) return;
  Tensor moved;
  {
    NoGradGuard ng;
    moved = t.detach().to(device);
  }
  t.impl()->set_data(moved.impl()->storage(), moved.dtype(), moved.sizes(), moved.strides(), moved.storage_offset());
}
}  // namespace

Module& Module::to(Device device) {
  device = resolve_device(device, "Module.to");
  for (Tensor& p : parameters()) {
    move_in_place(p, device);
    if (p.grad().defined()) move_in_place(p.grad(), device);
  }
  for (Tensor& b : buffers()) move_in_place(b, device);
  return *this;
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (Child& c : children_) c.module->apply(fn);
  fn(*this);
  return *this;
}

StateDict Module::state_dict() const {
  StateDict out;
  visit("", true, [&](const std::string& n, const Tensor& t, bool) { out.emplace_back(n, t); });
  return out;
}

namespace {
// The first 20 keys (escaped: they may come from a file), then how many more there are.
void list_keys(std::ostream& os, const std::vector<std::string>& keys) {
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < keys.size() && i < kShown; ++i) os << " " << printable(keys[i]);
  if (keys.size() > kShown) os << " and " << keys.size() - kShown << " more";
}
}  // namespace

void Module::load_state_dict(const StateDict& state, bool strict) {
  StateDict own = state_dict();
  std::vector<std::string> missing, unexpected;
  // (named loop variables, not structured bindings: clang 14 cannot capture those in lambdas)
  for (const auto& entry : own) {
    const std::string& name = entry.first;
    const Tensor& t = entry.second;
    auto it = std::find_if(state.begin(), state.end(), [&](const auto& e) { return e.first == name; });
    if (it == state.end()) {
      missing.push_back(name);
      continue;
    }
    HPML_CHECK(it->second.defined(), "load_state_dict: ", printable(name), " is an undefined tensor");
    HPML_CHECK(it->second.sizes() == t.sizes(), "load_state_dict: size mismatch for ", printable(name), ": the checkpoint has ",
               it->second.sizes(), ", the model has ", t.sizes());
  }
  for (const auto& entry : state) {
    const std::string& name = entry.first;
    if (std::none_of(own.begin(), own.end(), [&](const auto& e) { return e.first == name; })) unexpected.push_back(name);
  }
  if (strict && (!missing.empty() || !unexpected.empty())) {
    std::ostringstream os;
    os << "load_state_dict: error(s) in loading the state dict for " << type_name_ << ":";
    if (!missing.empty()) {
      os << "\n  missing keys:";
      list_keys(os, missing);
    }
    if (!unexpected.empty()) {
      os << "\n  unexpected keys:";
      list_keys(os, unexpected);
    }
    os << "\nhint: pass strict = false to load the keys that match";
    throw Error(os.str());
  }
  NoGradGuard ng;
  for (auto& entry : own) {
    const std::string& name = entry.first;
    auto it = std::find_if(state.begin(), state.end(), [&](const auto& e) { return e.first == name; });
    if (it == state.end()) continue;
    Tensor dst = entry.second;
    dst.copy_(it->second);
  }
}

std::string Module::path() const {
  if (!parent_) return "";
  const std::string up = parent_->path();
  return up.empty() ? name_in_parent_ : up + "." + name_in_parent_;
}

std::string Module::repr() const {
  std::ostringstream os;
  os << type_name_ << "(";
  const std::string extra = extra_repr();
  if (children_.empty()) {
    os << extra << ")";
    return os.str();
  }
  if (!extra.empty()) os << "\n  " << extra;
  for (const Child& c : children_) {
    std::string sub = c.module->repr();
    // Indent the child's lines by two spaces, as PyTorch's _addindent does.
    std::string indented;
    for (char ch : sub) {
      indented += ch;
      if (ch == '\n') indented += "  ";
    }
    os << "\n  (" << c.name << "): " << indented;
  }
  os << "\n)";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.repr(); }

}  // namespace hpml::nn
