// nn::Module: the base of every layer and model. It registers parameters, buffers and child
// modules under PyTorch's dotted names, switches train/eval, converts dtypes, saves and loads
// state dicts, prints the module tree, and adds "in features.3 (Conv2d): " to errors raised inside.
//
//   struct Net : nn::Module {
//     nn::Linear fc1{784, 256}, fc2{256, 10};
//     Net() : Module("Net") { register_module("fc1", fc1); register_module("fc2", fc2); }
//     Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
//   };
//   Net net;  Tensor y = net(x);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/tensor.h"

namespace hpml::nn {

// Ordered (name, tensor) pairs: what state_dict() returns and load_state_dict() takes.
using StateDict = std::vector<std::pair<std::string, Tensor>>;

// An error raised inside a module's forward, already prefixed with where it happened.
class ModuleError : public Error {
 public:
  using Error::Error;
};

class Module {
 public:
  explicit Module(std::string type_name = "Module");
  virtual ~Module();
  // Modules register members by address: copying would alias them, moving would leave the
  // registrations behind. Leaf layers and containers (whose children live on the heap) move.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&& other);
  Module& operator=(Module&&) = delete;

  // The computation. Modules with one tensor in and one out override this; operator() calls it
  // and annotates errors with the module's path.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x);

  // ---- registration (call from the constructor) -----------------------------------------
  // Adds a parameter (a leaf that requires grad) and returns the handle to keep as a member.
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  // Adds a buffer: state that is saved and converted with the module but not trained
  // (BatchNorm's running statistics). An undefined tensor registers an absent buffer.
  Tensor register_buffer(const std::string& name, Tensor value);
  // Adds a child held by the caller (usually a member of the derived class).
  template <typename M>
  M& register_module(const std::string& name, M& child) {
    add_child(name, &child, nullptr);
    return child;
  }
  // Adds a child this module owns.
  template <typename M>
  M& register_module(const std::string& name, std::shared_ptr<M> child) {
    M& ref = *child;
    add_child(name, &ref, std::move(child));
    return ref;
  }

  // ---- traversal (PyTorch's dotted names: "features.0.weight") ------------------------
  TensorList parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  TensorList buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Module*>> named_children() const;
  std::vector<Module*> children() const;
  // This module (name "") and every descendant, depth first.
  std::vector<std::pair<std::string, Module*>> named_modules() const;
  std::vector<Module*> modules() const;

  // ---- modes and conversion ---------------------------------------------------------------
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Clears every parameter's gradient (set_to_none: undefined, else zeros).
  void zero_grad(bool set_to_none = true);
  // Converts floating parameters and buffers in place (the tensor handles stay the same).
  Module& to(DType dtype);
  // Moves parameters, their gradients and buffers to `device` in place: the tensor handles stay
  // the same, so an optimizer built before the move steps the moved tensors.
  Module& to(Device device);
  // Moves every parameter, buffer and defined gradient to shared memory in place
  // (Tensor::share_memory_), so that processes started afterwards update the same tensors
  // (Hogwild training, examples/hogwild.cpp).
  Module& share_memory();
  // Calls fn on every module, children first, then this one (like PyTorch's apply).
  Module& apply(const std::function<void(Module&)>& fn);

  // ---- state -------------------------------------------------------------------------------
  // Parameters and buffers by dotted name (the tensors themselves, not copies).
  StateDict state_dict() const;
  // Copies values in by name. strict: every key must match, both ways; shapes must always match.
  void load_state_dict(const StateDict& state, bool strict = true);

  // ---- printing -----------------------------------------------------------------------------
  const std::string& type_name() const { return type_name_; }
  // What goes between the parentheses: "in_features=784, out_features=256, bias=True".
  virtual std::string extra_repr() const { return ""; }
  // The module tree, as PyTorch prints it.
  std::string repr() const;
  // Dotted path from the root module ("features.3"); empty for a root.
  std::string path() const;

 protected:
  // Runs f, adding this module's path to an hpml::Error raised inside (Note [Errors inside
  // modules]). operator() uses it; so do modules whose forward takes other arguments (losses).
  template <typename F>
  auto with_context(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const ModuleError&) {
      throw;
    } catch (const Error& e) {
      throw_in_context(e);
    }
  }
  Tensor* find_parameter(const std::string& name);
  Tensor* find_buffer(const std::string& name);

 private:
  struct Child {
    std::string name;
    Module* module;
    std::shared_ptr<Module> owned;  // null when the caller owns it
  };
  void add_child(const std::string& name, Module* child, std::shared_ptr<Module> owned);
  [[noreturn]] void throw_in_context(const Error& e) const;
  static Module& checked_for_move(Module& o);
  void check_name(const std::string& name, const char* what) const;
  template <typename F>
  void visit(const std::string& prefix, bool recurse, const F& f) const;

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<Child> children_;
  Module* parent_ = nullptr;
  std::string name_in_parent_;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace hpml::nn
