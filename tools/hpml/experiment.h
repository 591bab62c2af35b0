// `hpml experiment NAME` (experiment.cpp): lr-decay, momentum, lr-range, batch-size, optimizers,
// batchnorm, init and activations on the blobs task of the concepts list; figures, a CSV and a
// table under OUT/NAME/.
#pragma once

#include <string>

#include "hpml/hpml.h"

namespace hpml::cli {
int experiment(const std::string& name, int seeds, int epochs, const std::string& out);
}
