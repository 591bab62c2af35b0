// Device: where a tensor's memory lives. `cpu` works; `cuda:N` is a value for a CUDA backend,
// which hpml does not have yet: using it raises "not built with CUDA".
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace hpml {

enum class DeviceType : uint8_t { CPU, CUDA };

class Device {
 public:
  constexpr Device(DeviceType type = DeviceType::CPU, int index = -1)  // NOLINT: implicit by design
      : type_(type), index_(static_cast<int16_t>(index)) {}
  // Parses "cpu", "cuda", "cuda:1"; throws hpml::Error on anything else.
  Device(std::string_view spec);  // NOLINT: implicit like torch::Device("cuda:0")
  Device(const char* spec) : Device(std::string_view(spec)) {}  // NOLINT

  constexpr DeviceType type() const { return type_; }
  constexpr int index() const { return index_; }
  constexpr bool is_cpu() const { return type_ == DeviceType::CPU; }
  constexpr bool is_cuda() const { return type_ == DeviceType::CUDA; }
  constexpr bool operator==(const Device& o) const { return type_ == o.type_ && index_ == o.index_; }
  std::string str() const;

 private:
  DeviceType type_;
  int16_t index_;
};

inline constexpr Device kCPU{DeviceType::CPU};

inline std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

// Throws unless `d` can hold tensors in this build: "<op>: device cuda:0 is not available: ...".
void check_device_available(const Device& d, const char* op);

}  // namespace hpml
