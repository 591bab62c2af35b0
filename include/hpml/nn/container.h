// Containers: Sequential (children run in order), ModuleList (an indexable list), ModuleDict
// (children by name). They own the modules put into them; children are named "0", "1", ... (or
// by their key), which gives PyTorch's state-dict names ("features.0.weight").
#pragma once

#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "hpml/nn/module.h"

namespace hpml::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  // Sequential(nn::Linear(2, 8), nn::ReLU(), nn::Linear(8, 1)) — the modules are moved in.
  template <typename... Ms, typename = std::enable_if_t<(std::is_base_of_v<Module, std::decay_t<Ms>> && ...)>>
  explicit Sequential(Ms&&... modules) : Module("Sequential") {
    (push_back(std::make_shared<std::decay_t<Ms>>(std::move(modules))), ...);
  }
  Sequential(Sequential&&) = default;

  template <typename M>
  M& push_back(std::shared_ptr<M> m) {
    M& ref = register_module(std::to_string(items_.size()), m);
    items_.push_back(std::move(m));
    return ref;
  }
  // Constructs the module in place: seq.emplace_back<nn::Linear>(784, 256).
  template <typename M, typename... Args>
  M& emplace_back(Args&&... args) {
    return push_back(std::make_shared<M>(std::forward<Args>(args)...));
  }

  Tensor forward(const Tensor& x) override;
  size_t size() const { return items_.size(); }
  Module& operator[](size_t i) const;

 private:
  std::vector<std::shared_ptr<Module>> items_;
};

class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  ModuleList(ModuleList&&) = default;
  template <typename M>
  M& push_back(std::shared_ptr<M> m) {
    M& ref = register_module(std::to_string(items_.size()), m);
    items_.push_back(std::move(m));
    return ref;
  }
  template <typename M, typename... Args>
  M& emplace_back(Args&&... args) {
    return push_back(std::make_shared<M>(std::forward<Args>(args)...));
  }
  size_t size() const { return items_.size(); }
  Module& operator[](size_t i) const;
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::shared_ptr<Module>> items_;
};

class ModuleDict : public Module {
 public:
  ModuleDict() : Module("ModuleDict") {}
  ModuleDict(ModuleDict&&) = default;
  template <typename M>
  M& insert(const std::string& key, std::shared_ptr<M> m) {
    HPML_CHECK(!contains(key), "ModuleDict: key '", key, "' is already present");
    M& ref = register_module(key, m);
    items_.emplace_back(key, std::move(m));
    return ref;
  }
  bool contains(const std::string& key) const;
  Module& operator[](const std::string& key) const;
  size_t size() const { return items_.size(); }
  std::vector<std::string> keys() const;

 private:
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> items_;  // insertion order
};

}  // namespace hpml::nn
