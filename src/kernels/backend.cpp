// The backend registry: the CPU table, and the lookup that names the op when a device has none.
#include "kernels/backend.h"

#include "kernels/cpu/cpu_kernels.h"

namespace hpml::kernels {

namespace {
// A slot added to Backend must be filled in every table: this assert fails until the count is
// updated, which sends you here (and the backend test checks that no slot is null).
static_assert(sizeof(Backend) == 39 * sizeof(void*), "Backend gained or lost a slot: update every backend table");

constexpr Backend kCpu{
    .name = "cpu",
    .copy = cpu::copy,
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
};
}  // namespace

const Backend& cpu_backend() { return kCpu; }

const Backend& backend(Device d, const char* op) {
  check_device_available(d, op);
  return kCpu;
}

}  // namespace hpml::kernels
