// "Did you mean --epochs?": the closest of a list of names to a misspelt one, for the errors of
// the command line, of a --config file and of option values.
#pragma once

#include <string>
#include <vector>

namespace hpml::cli {

// The candidate nearest to `word` by edit distance (insertions, deletions, substitutions and
// swaps of neighbours), or "" when none is near enough to be a typo (distance at most 1 for
// short names, up to a third of the length for long ones).
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean X?)" or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace hpml::cli
