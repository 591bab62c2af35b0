// The autograd methods of Tensor: requires_grad, grad, grad_fn, backward, hooks, detach.
#include "autograd/internal.h"
#include "hpml/autograd/engine.h"
#include "hpml/core/error.h"
#include "hpml/core/tensor.h"
#include "hpml/ops/binary.h"

namespace hpml::autograd::detail {

// The retain_grad hook accumulates into the tensor's .grad slot, which it shares (no pointer back
// to the tensor, so no cycle). `generation` retires hooks left on an old grad_fn by an in-place op.
void install_retain_hook(const Tensor& t) {
  AutogradMeta& m = t.impl()->autograd_or_create();
  if (!m.grad) m.grad = std::make_shared<Tensor>();
  if (!m.retain_generation) m.retain_generation = std::make_shared<uint64_t>(0);
  const uint64_t gen = ++*m.retain_generation;
  std::shared_ptr<Tensor> slot = m.grad;
  std::shared_ptr<uint64_t> current = m.retain_generation;
  m.grad_fn->hooks_of_output(m.output_nr).push_back([slot, current, gen](const Tensor& g) {
    if (*current != gen) return Tensor();
    // Under create_graph (grad mode on in backward) the sum and clone are recorded too.
    *slot = slot->defined() ? *slot + g : g.clone();
    return Tensor();
  });
}

}  // namespace hpml::autograd::detail

namespace hpml {

namespace {
const Tensor& undefined_tensor() {
  static const Tensor t;
  return t;
}
const std::shared_ptr<autograd::Node>& no_node() {
  static const std::shared_ptr<autograd::Node> n;
  return n;
}
}  // namespace

bool Tensor::requires_grad() const {
  AutogradMeta* m = ck(__func__).autograd();
  return m && (m->requires_grad || m->grad_fn);
}

Tensor& Tensor::requires_grad_(bool r) {
  HPML_CHECK(defined(), "requires_grad_: tensor is undefined");
  AutogradMeta* m = ck(__func__).autograd();
  if (m && m->grad_fn) {
    HPML_CHECK(r, "requires_grad_: you can only change requires_grad of leaf tensors; this one was made by ",
               m->grad_fn->name(), "\nhint: use detach() to get a leaf that does not require grad");
    return *this;
  }
  HPML_CHECK(!r || is_floating(dtype()), "requires_grad_: only tensors of floating dtype can require gradients, got ",
             dtype());
  if (r || m) ck(__func__).autograd_or_create().requires_grad = r;
  return *this;
}

bool Tensor::is_leaf() const {
  AutogradMeta* m = ck(__func__).autograd();
  return !m || !m->grad_fn;
}

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const {
  AutogradMeta* m = ck(__func__).autograd();
  return m ? m->grad_fn : no_node();
}

uint32_t Tensor::output_nr() const {
  AutogradMeta* m = ck(__func__).autograd();
  return m ? m->output_nr : 0;
}

const Tensor& Tensor::grad() const {
  AutogradMeta* m = ck(__func__).autograd();
  return m && m->grad ? *m->grad : undefined_tensor();
}

Tensor& Tensor::mutable_grad() {
  AutogradMeta& m = ck(__func__).autograd_or_create();
  if (!m.grad) m.grad = std::make_shared<Tensor>();
  return *m.grad;
}

void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) {
    HPML_CHECK(g.sizes() == sizes(), "set_grad: gradient has shape ", g.sizes(), " but the tensor has shape ", sizes());
    HPML_CHECK(g.dtype() == dtype(), "set_grad: gradient has dtype ", g.dtype(), " but the tensor has dtype ", dtype());
  }
  mutable_grad() = g;
}

bool Tensor::retains_grad() const {
  AutogradMeta* m = ck(__func__).autograd();
  return m && m->retains_grad;
}

void Tensor::retain_grad() {
  HPML_CHECK(requires_grad(), "retain_grad: the tensor does not require grad");
  if (is_leaf() || retains_grad()) return;
  AutogradMeta& m = ck(__func__).autograd_or_create();
  m.retains_grad = true;
  autograd::detail::install_retain_hook(*this);
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  HPML_CHECK(defined(), "backward: tensor is undefined");
  autograd::backward({*this}, gradient.defined() ? TensorList{gradient} : TensorList{}, retain_graph, create_graph);
}

size_t Tensor::register_hook(Hook fn) const {
  HPML_CHECK(requires_grad(), "register_hook: cannot register a hook on a tensor that does not require grad");
  AutogradMeta& m = ck(__func__).autograd_or_create();
  if (m.grad_fn) {
    auto& hooks = m.grad_fn->hooks_of_output(m.output_nr);
    hooks.push_back(std::move(fn));
    return hooks.size() - 1;
  }
  m.hooks.push_back(std::move(fn));
  return m.hooks.size() - 1;
}

size_t Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> fn) const {
  HPML_CHECK(requires_grad() && !grad_fn(), "register_post_accumulate_grad_hook: only a leaf that requires grad has "
             "an accumulated gradient, but this tensor ", requires_grad() ? "is not a leaf" : "does not require grad");
  AutogradMeta& m = ck(__func__).autograd_or_create();
  m.post_accumulate_hooks.push_back(std::move(fn));
  return m.post_accumulate_hooks.size() - 1;
}

void Tensor::remove_post_accumulate_grad_hook(size_t handle) const {
  AutogradMeta* m = defined() ? impl()->autograd() : nullptr;
  HPML_CHECK(m && handle < m->post_accumulate_hooks.size(), "remove_post_accumulate_grad_hook: no hook ", handle);
  m->post_accumulate_hooks[handle] = nullptr;  // handles of the others stay valid
}

Tensor Tensor::detach() const {
  HPML_CHECK(defined(), "detach: tensor is undefined");
  return Tensor(IntrusivePtr<TensorImpl>::make(ck(__func__).storage(), dtype(), sizes(), strides(), storage_offset()));
}

Tensor& Tensor::detach_() {
  HPML_CHECK(defined(), "detach_: tensor is undefined");
  if (AutogradMeta* m = ck(__func__).autograd()) {
    m->grad_fn.reset();
    m->output_nr = 0;
    m->requires_grad = false;
    m->is_view = false;
  }
  return *this;
}

bool Tensor::is_view() const {
  AutogradMeta* m = ck(__func__).autograd();
  return m && m->is_view;
}

}  // namespace hpml
