// Grad mode (per thread) and anomaly mode (per process, HPML_DETECT_ANOMALY=1 at start-up).
#include "hpml/autograd/grad_mode.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace hpml::autograd {

namespace {
thread_local bool t_grad_enabled = true;
std::atomic<bool> g_anomaly{[] {
  const char* env = std::getenv("HPML_DETECT_ANOMALY");
  return env != nullptr && std::strcmp(env, "1") == 0;
}()};
}  // namespace

bool GradMode::is_enabled() { return t_grad_enabled; }
void GradMode::set_enabled(bool enabled) { t_grad_enabled = enabled; }
bool AnomalyMode::is_enabled() { return g_anomaly.load(std::memory_order_relaxed); }
void AnomalyMode::set_enabled(bool enabled) { g_anomaly.store(enabled); }

}  // namespace hpml::autograd
