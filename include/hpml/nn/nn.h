// Everything in hpml::nn.
#pragma once

#include "hpml/nn/clip_grad.h"
#include "hpml/nn/container.h"
#include "hpml/nn/conv.h"
#include "hpml/nn/functional.h"
#include "hpml/nn/init.h"
#include "hpml/nn/layers.h"
#include "hpml/nn/loss.h"
#include "hpml/nn/module.h"
#include "hpml/nn/normalization.h"
#include "hpml/nn/transformer.h"
#include "hpml/nn/rnn.h"
