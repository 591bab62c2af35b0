// Edit distances for "did you mean": optimal string alignment (Damerau-Levenshtein without
// repeated edits of one substring), small enough for option and subcommand names.
#include "suggest.h"

#include <algorithm>

namespace hpml::cli {

namespace {

size_t distance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1, 0));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

}  // namespace

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  if (word.size() > 200) return {};  // nobody misspells a name that long
  std::string best;
  size_t best_d = 0;
  for (const std::string& c : candidates) {
    const size_t d = distance(word, c);
    if (best.empty() || d < best_d) {
      best = c;
      best_d = d;
    }
  }
  // "--" of an option counts for nothing: measure the name alone.
  const size_t len = word.rfind("--", 0) == 0 ? word.size() - 2 : word.size();
  const size_t limit = std::max<size_t>(1, len / 3);
  return !best.empty() && best_d > 0 && best_d <= limit ? best : std::string();
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string c = closest(word, candidates);
  return c.empty() ? std::string() : " (did you mean " + c + "?)";
}

}  // namespace hpml::cli
