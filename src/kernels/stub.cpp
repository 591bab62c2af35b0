// The stub backend: every slot throws "<op> is not implemented on <device>". A new backend starts
// from such a table (refusing_table in backend.h) and replaces the slots one by one
// (docs/adding-a-backend.md); the ops then work on the new device as soon as their kernels do, and
// say clearly which do not yet.
#include "kernels/backend.h"

namespace hpml::kernels {

namespace {
constexpr char kDevice[] = "stub";  // a new backend's device name goes here
constexpr Backend kStub = refusing_table<kDevice>();
}  // namespace

const Backend& stub_backend() { return kStub; }

}  // namespace hpml::kernels
