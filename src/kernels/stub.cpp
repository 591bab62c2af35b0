// The stub backend: every slot throws "<op> is not implemented on <device>". A new backend starts
// as a copy of this table and replaces the slots one by one (docs/adding-a-backend.md); the ops
// then work on the new device as soon as their kernels do, and say clearly which do not yet.
#include "hpml/core/error.h"
#include "kernels/backend.h"

namespace hpml::kernels {

namespace {
constexpr const char* kDevice = "stub";  // a new backend's device name goes here

// A function with the slot's signature that refuses: Refuse<decltype(Backend::gemm), name>::call.
template <typename Slot, const char* Name>
struct Refuse;
template <typename... Args, const char* Name>
struct Refuse<void (*)(Args...), Name> {
  static void call(Args...) { HPML_FAIL(Name, " is not implemented on ", kDevice); }
};

#define HPML_REFUSE(slot) .slot = Refuse<decltype(Backend::slot), slot_names::slot>::call,
constexpr Backend kStub{.name = kDevice, HPML_BACKEND_SLOTS(HPML_REFUSE)};
#undef HPML_REFUSE
}  // namespace

const Backend& stub_backend() { return kStub; }

}  // namespace hpml::kernels
