// `hpml list [what]`: the models, datasets, optimizers, schedules and experiments the command
// offers, from one table (catalog.cpp) that "did you mean" and help texts can share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace hpml::cli {

struct CatalogEntry {
  std::string name;                  // as the command line spells it: "cosine", "mnist:PATH"
  std::string group;                 // models | datasets | optimizers | schedules | experiments
  std::string description;           // one line
  std::vector<std::string> options;  // the options it reads ("--step-size", ...)
};

// Every entry, grouped in the order of catalog_groups(), each group in a sensible order.
const std::vector<CatalogEntry>& catalog();
// "models", "datasets", "optimizers", "schedules", "experiments".
std::vector<std::string> catalog_groups();
// The names of one group in table order; empty for a group that does not exist.
std::vector<std::string> names(std::string_view group);

// "unknown model 'cnnn' (did you mean cnn?) (logreg, linreg, mlp, cnn, lenet)": the error for
// a `value` that is not a name of `group`.
std::string unknown_name(std::string_view what, const std::string& value, std::string_view group);

// What `hpml list GROUP` prints: one group under its heading, or every group for "". A singular
// ("schedule") names its group too; any other name is an error naming it and the groups.
std::string list_text(const std::string& group);
void add_list_options(CLI::App& app, std::string& group);
int list(const std::string& group);

}  // namespace hpml::cli
