// Device parsing and availability. CUDA is a value only until the CUDA backend lands.
#include "hpml/core/device.h"

#include <charconv>

#include "hpml/core/error.h"

namespace hpml {

Device::Device(std::string_view spec) : type_(DeviceType::CPU), index_(-1) {
  auto parse_index = [&](std::string_view digits) {
    int v = -1;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    HPML_CHECK(ec == std::errc() && p == digits.data() + digits.size() && v >= 0 && v < 1024,
               "Device: invalid device string '", spec, "' (expected cpu, cuda or cuda:N)");
    return v;
  };
  if (spec == "cpu") return;
  if (spec.starts_with("cpu:")) {
    parse_index(spec.substr(4));
    return;
  }
  if (spec == "cuda") {
    type_ = DeviceType::CUDA;
    index_ = 0;
    return;
  }
  HPML_CHECK(spec.starts_with("cuda:"), "Device: invalid device string '", spec,
             "' (expected cpu, cuda or cuda:N)");
  type_ = DeviceType::CUDA;
  index_ = static_cast<int16_t>(parse_index(spec.substr(5)));
}

std::string Device::str() const {
  if (is_cpu()) return "cpu";
  return "cuda:" + std::to_string(index_ < 0 ? 0 : index_);
}

void check_device_available(const Device& d, const char* op) {
  HPML_CHECK(d.is_cpu(), op, ": device ", d, " is not available: hpml was not built with CUDA",
             "\nhint: use the cpu device; hpml has no CUDA backend yet");
}

}  // namespace hpml
