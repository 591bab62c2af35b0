// The backend registry: one kernel table per device type (the cpu's here, the simulated device's
// in sim_backend.cpp), and the lookup that names the op when a device has none.
#include "kernels/backend.h"

#include <cstring>

#include "hpml/core/error.h"
#include "kernels/cpu/cpu_kernels.h"

namespace hpml::kernels {

namespace {
#define HPML_COUNT_SLOT(slot) +1
// A slot added to Backend must be named in HPML_BACKEND_SLOTS: this assert fails until it is.
// A table that leaves a slot out of its designated initializer still compiles (with a null
// pointer; comparing function addresses with null is not a constant expression in every build,
// the sanitizers' included), so Backends.EveryRegisteredTableFillsEverySlot checks every
// registered table at run time.
static_assert(kBackendSlots == 0 HPML_BACKEND_SLOTS(HPML_COUNT_SLOT), "Backend gained or lost a slot: update "
              "HPML_BACKEND_SLOTS and every backend table");
#undef HPML_COUNT_SLOT

// cpu to cpu: both are host memory.
void cpu_copy_between(const Tensor& dst, const Tensor& src, bool) {
  std::memcpy(dst.data_ptr(), src.data_ptr(), static_cast<size_t>(src.numel()) * src.element_size());
}

constexpr Backend kCpu{
    .name = "cpu",
    .copy = cpu::copy,
    .copy_between = cpu_copy_between,
    .fill = cpu::fill,
    .unary = cpu::unary,
    .binary = cpu::binary,
    .where = cpu::where,
    .reduce = cpu::reduce,
    .var = cpu::var,
    .arg_reduce = cpu::arg_reduce,
    .softmax = cpu::softmax,
    .softmax_backward = cpu::softmax_backward,
    .gemm = cpu::gemm,
    .bmm = cpu::bmm,
    .attention = cpu::attention,
    .attention_backward = cpu::attention_backward,
    .index_select = cpu::index_select,
    .gather = cpu::gather,
    .scatter = cpu::scatter,
    .index_add = cpu::index_add,
    .masked_select = cpu::masked_select,
    .tri = cpu::tri,
    .arange = cpu::arange,
    .uniform = cpu::uniform,
    .normal = cpu::normal,
    .randint = cpu::randint,
    .conv2d = cpu::conv2d,
    .conv2d_backward_input = cpu::conv2d_backward_input,
    .conv2d_backward_weight = cpu::conv2d_backward_weight,
    .max_pool2d = cpu::max_pool2d,
    .max_pool2d_backward = cpu::max_pool2d_backward,
    .avg_pool2d = cpu::avg_pool2d,
    .avg_pool2d_backward = cpu::avg_pool2d_backward,
    .adaptive_avg_pool2d = cpu::adaptive_avg_pool2d,
    .adaptive_avg_pool2d_backward = cpu::adaptive_avg_pool2d_backward,
    .batch_norm_stats = cpu::batch_norm_stats,
    .batch_norm_backward_stats = cpu::batch_norm_backward_stats,
    .channel_affine = cpu::channel_affine,
    .channel_affine2 = cpu::channel_affine2,
    .optim_step = cpu::optim_step,
    .nll_loss = cpu::nll_loss,
    .check_range = cpu::check_range,
};
}  // namespace

const Backend& sim_backend();  // sim_backend.cpp
#if HPML_WITH_CUDA
const Backend& cuda_backend();  // cuda/cuda_backend.cpp
#endif

const Backend& kCpuBackend = kCpu;

const Backend* backend_table(DeviceType type) {
  // Indexed by DeviceType: cpu, cuda (null in a build without CUDA), sim.
#if HPML_WITH_CUDA
  static const Backend* const tables[kNumDeviceTypes] = {&kCpu, &cuda_backend(), &sim_backend()};
#else
  static const Backend* const tables[kNumDeviceTypes] = {&kCpu, nullptr, &sim_backend()};
#endif
  return tables[static_cast<int>(type)];
}

void no_backend(Device d, const char* op) {
  check_device_available(d, op);
  HPML_FAIL(op, ": this build has no kernels for device ", d);
}

std::vector<NamedBackend> registered_backends() {
  std::vector<NamedBackend> out;
  for (int t = 0; t < kNumDeviceTypes; ++t)
    if (const Backend* b = backend_table(static_cast<DeviceType>(t)))
      out.push_back({device_type_name(static_cast<DeviceType>(t)), b});
  return out;
}

}  // namespace hpml::kernels
