// Device: where a tensor's memory lives. `cpu` always works; `sim:N` is the simulated
// asynchronous device (core/sim.h), which every build has; `cuda:N` is a value for a CUDA
// backend, which this build does not have: using it raises "not built with CUDA".
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace hpml {

enum class DeviceType : uint8_t { CPU, CUDA, Sim };
inline constexpr int kNumDeviceTypes = 3;

class Device {
 public:
  constexpr Device(DeviceType type = DeviceType::CPU, int index = -1)  // NOLINT: implicit by design
      : type_(type), index_(static_cast<int16_t>(index)) {}
  // Parses "cpu", "cuda", "cuda:1", "sim", "sim:1"; throws hpml::Error on anything else.
  Device(std::string_view spec);  // NOLINT: implicit like torch::Device("cuda:0")
  Device(const char* spec) : Device(std::string_view(spec)) {}  // NOLINT

  constexpr DeviceType type() const { return type_; }
  // -1 for the cpu, and for "sim" or "cuda" without an index ("the current device").
  constexpr int index() const { return index_; }
  constexpr bool has_index() const { return index_ >= 0; }
  constexpr bool is_cpu() const { return type_ == DeviceType::CPU; }
  constexpr bool is_cuda() const { return type_ == DeviceType::CUDA; }
  constexpr bool is_sim() const { return type_ == DeviceType::Sim; }
  constexpr bool operator==(const Device& o) const { return type_ == o.type_ && index_ == o.index_; }
  std::string str() const;

 private:
  DeviceType type_;
  int16_t index_;
};

inline constexpr Device kCPU{DeviceType::CPU};

inline std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

// "cpu", "cuda", "sim".
const char* device_type_name(DeviceType t);

// Throws unless `d` can hold tensors in this build: "<op>: device cuda:0 is not available: ...".
void check_device_available(const Device& d, const char* op);

// `d` with its index filled in: the current device of its type where it has none ("sim" -> "sim:0").
// Every tensor's device has an index (or is the cpu), so two tensors compare by value.
Device resolve_device(const Device& d, const char* op);

}  // namespace hpml
