// Every optimizer with each of its option sets (and two-group cases), for the fixture tests.
#include "optim/optim_test_util.h"

namespace hpml::optimtest {

namespace {
template <class Opt, class Options>
Case one(const std::string& name, const std::string& torch_name, Options o, int64_t n = 37) {
  return Case{name, torch_name, {n}, [o](const TensorList& ps) { return std::make_unique<Opt>(TensorList{ps[0]}, o); }};
}
template <class Opt, class Options>
Case two(const std::string& name, const std::string& torch_name, Options a, Options b) {
  return Case{name, torch_name, {5, 19}, [a, b](const TensorList& ps) {
                auto opt = std::make_unique<Opt>(TensorList{ps[0]}, a);
                opt->add_param_group({{ps[1]}, b});
                return std::unique_ptr<optim::Optimizer>(std::move(opt));
              }};
}
}  // namespace

std::vector<Case> all_cases() {
  using namespace optim;  // NOLINT
  return {
      one<SGD>("sgd_plain", "SGD", SGDOptions{.lr = 0.1}),
      one<SGD>("sgd_momentum", "SGD", SGDOptions{.lr = 0.1, .momentum = 0.9}),
      one<SGD>("sgd_dampening", "SGD", SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.5}),
      one<SGD>("sgd_nesterov", "SGD", SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true}),
      one<SGD>("sgd_weight_decay", "SGD", SGDOptions{.lr = 0.1, .weight_decay = 0.01}),
      one<SGD>("sgd_all_maximize", "SGD",
               SGDOptions{.lr = 0.1, .momentum = 0.8, .weight_decay = 0.01, .nesterov = true, .maximize = true}),
      two<SGD>("sgd_groups", "SGD", SGDOptions{.lr = 0.1, .momentum = 0.9}, SGDOptions{.lr = 0.01, .weight_decay = 0.1}),
      one<Adagrad>("adagrad_default", "Adagrad", AdagradOptions{}),
      one<Adagrad>("adagrad_lr_decay", "Adagrad", AdagradOptions{.lr = 0.1, .lr_decay = 0.05}),
      one<Adagrad>("adagrad_weight_decay", "Adagrad", AdagradOptions{.lr = 0.1, .weight_decay = 0.1}),
      one<Adagrad>("adagrad_initial_eps", "Adagrad", AdagradOptions{.lr = 0.1, .initial_accumulator_value = 0.5, .eps = 1e-6}),
      one<Adagrad>("adagrad_maximize", "Adagrad", AdagradOptions{.lr = 0.1, .maximize = true}),
      one<Adadelta>("adadelta_default", "Adadelta", AdadeltaOptions{}),
      one<Adadelta>("adadelta_rho_eps", "Adadelta", AdadeltaOptions{.lr = 0.5, .rho = 0.8, .eps = 1e-5}),
      one<Adadelta>("adadelta_weight_decay", "Adadelta", AdadeltaOptions{.weight_decay = 0.1}),
      one<Adadelta>("adadelta_maximize", "Adadelta", AdadeltaOptions{.maximize = true}),
      two<Adadelta>("adadelta_groups", "Adadelta", AdadeltaOptions{}, AdadeltaOptions{.lr = 0.1, .rho = 0.5}),
      one<RMSprop>("rmsprop_default", "RMSprop", RMSpropOptions{}),
      one<RMSprop>("rmsprop_momentum", "RMSprop", RMSpropOptions{.momentum = 0.9}),
      one<RMSprop>("rmsprop_centered", "RMSprop", RMSpropOptions{.centered = true}),
      one<RMSprop>("rmsprop_centered_momentum_wd", "RMSprop",
                   RMSpropOptions{.weight_decay = 0.1, .momentum = 0.5, .centered = true}),
      one<RMSprop>("rmsprop_alpha_eps_maximize", "RMSprop", RMSpropOptions{.alpha = 0.9, .eps = 1e-6, .maximize = true}),
      one<Adam>("adam_default", "Adam", AdamOptions{}),
      one<Adam>("adam_betas_eps", "Adam", AdamOptions{.lr = 0.01, .betas = {0.8, 0.99}, .eps = 1e-6}),
      one<Adam>("adam_weight_decay", "Adam", AdamOptions{.lr = 0.01, .weight_decay = 0.1}),
      one<Adam>("adam_amsgrad", "Adam", AdamOptions{.lr = 0.01, .amsgrad = true}),
      one<Adam>("adam_all_maximize", "Adam", AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true, .maximize = true}),
      two<Adam>("adam_groups", "Adam", AdamOptions{.lr = 0.01}, AdamOptions{.lr = 0.001, .betas = {0.5, 0.9}}),
      one<AdamW>("adamw_default", "AdamW", AdamWOptions{}),
      one<AdamW>("adamw_weight_decay_amsgrad", "AdamW", AdamWOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true}),
      one<AdamW>("adamw_maximize", "AdamW", AdamWOptions{.lr = 0.01, .maximize = true}),
      // capturable (Note [Capturable Adam]): the step count on the device, the update op by op;
      // PyTorch runs its usual Adam (capturable is not in the options it is given).
      one<Adam>("adam_capturable", "Adam", AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true, .capturable = true}),
      one<AdamW>("adamw_capturable", "AdamW", AdamWOptions{.lr = 0.01, .maximize = true, .capturable = true}),
  };
}

}  // namespace hpml::optimtest
