// hpml::cuda (core/cuda.h) in a build without CUDA: nothing is available, and what needs a GPU
// says why. CMakeLists.txt builds this file instead of src/core/cuda/ when HPML_WITH_CUDA is off.
#include "hpml/core/cuda.h"
#include "hpml/core/error.h"

namespace hpml::cuda {

namespace {
constexpr const char* kWhy = "hpml was not built with CUDA";
[[noreturn]] void refuse(const char* op) {
  HPML_FAIL("cuda::", op, ": ", kWhy, "\nhint: rebuild with the CUDA toolkit (cmake --preset cuda), or use the cpu or sim device");
}
}  // namespace

bool is_built() { return false; }
bool is_available() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return kWhy; }
int current_device() { refuse("current_device"); }
void set_device(int) { refuse("set_device"); }
void synchronize(int) { refuse("synchronize"); }
DeviceGuard::DeviceGuard(int) : previous_(-1) { refuse("DeviceGuard"); }
DeviceGuard::~DeviceGuard() = default;
DeviceProperties get_device_properties(int) { refuse("get_device_properties"); }
Versions versions() { return {}; }
size_t raw_allocation_count(int) { return 0; }

}  // namespace hpml::cuda
