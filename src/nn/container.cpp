// Sequential, ModuleList, ModuleDict.
#include "hpml/nn/container.h"

namespace hpml::nn {

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : items_) y = (*m)(y);
  return y;
}

Module& Sequential::operator[](size_t i) const {
  HPML_CHECK(i < items_.size(), "Sequential: index ", i, " is out of range for ", items_.size(), " modules");
  return *items_[i];
}

Module& ModuleList::operator[](size_t i) const {
  HPML_CHECK(i < items_.size(), "ModuleList: index ", i, " is out of range for ", items_.size(), " modules");
  return *items_[i];
}

bool ModuleDict::contains(const std::string& key) const {
  for (const auto& [k, m] : items_)
    if (k == key) return true;
  return false;
}

Module& ModuleDict::operator[](const std::string& key) const {
  for (const auto& [k, m] : items_)
    if (k == key) return *m;
  HPML_FAIL("ModuleDict: no module named '", key, "'");
}

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, m] : items_) out.push_back(k);
  return out;
}

}  // namespace hpml::nn
