// Internal to src/data: how the DataLoader tells a worker who it is (data::worker_info()).
#pragma once

#include <optional>

#include "hpml/data/dataset.h"

namespace hpml::data::detail {
void set_thread_worker_info(std::optional<WorkerInfo> info);
void set_process_worker_info(std::optional<WorkerInfo> info);
}  // namespace hpml::data::detail
