// Out-of-line throw helpers for HPML_CHECK / HPML_ASSERT (keeps the check sites small).
#include "hpml/core/error.h"

namespace hpml::detail {

void throw_error(std::string msg) { throw Error(std::move(msg)); }

void throw_internal(const char* file, int line, const char* cond, std::string msg) {
  throw Error(str_cat("internal error in hpml (", file, ":", line, "): ", cond, " failed",
                      msg.empty() ? "" : ": ", msg, "\nhint: this is a bug in hpml; please report it"));
}

}  // namespace hpml::detail
