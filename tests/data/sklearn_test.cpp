// numpy's legacy RandomState and scikit-learn's make_blobs (include/hpml/data/sklearn.h) against
// values printed by numpy 1.24 (Debian's python3-numpy) and scikit-learn 1.9: raw MT19937 words,
// random_sample, the polar Gaussian and its cached half, uniform, randint's masked rejection,
// shuffle, and the SHA-256 of make_blobs(1000, 3 centers, 2 features, std 2, random_state=2).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "data/data_test_util.h"
#include "hpml/data/sklearn.h"

namespace hpml::data {
namespace {

// Doubles compare exactly: the point is bit-for-bit agreement with numpy.
TEST(NumpyRandomStateTest, MatchesNumpyDraws) {
  // numpy.random.MT19937()._legacy_seeding(2); .random_raw(3)
  NumpyRandomState raw(2);
  EXPECT_EQ(raw.next_uint32(), 1872583848U);
  EXPECT_EQ(raw.next_uint32(), 794921487U);
  EXPECT_EQ(raw.next_uint32(), 111352301U);
  // RandomState(2).random_sample(3)
  NumpyRandomState rs(2);
  EXPECT_EQ(rs.random_sample(), 0.43599490214200376);
  EXPECT_EQ(rs.random_sample(), 0.025926231827891333);
  EXPECT_EQ(rs.random_sample(), 0.5496624778787091);
  // RandomState(0).random_sample(2); RandomState(4294967295).random_sample(1)
  NumpyRandomState zero(0), top(4294967295LL);
  EXPECT_EQ(zero.random_sample(), 0.5488135039273248);
  EXPECT_EQ(zero.random_sample(), 0.7151893663724195);
  EXPECT_EQ(top.random_sample(), 0.0976320289940138);
  // rs = RandomState(7); rs.random_sample(700); rs.random_sample(1): past the first 624 words.
  NumpyRandomState seven(7);
  for (int i = 0; i < 700; ++i) seven.random_sample();
  EXPECT_EQ(seven.random_sample(), 0.059200845313875594);
}

TEST(NumpyRandomStateTest, GaussianUniformAndIntegers) {
  // RandomState(2).standard_normal(3): the second value is the cached half of the first pair.
  NumpyRandomState g(2);
  EXPECT_EQ(g.standard_normal(), -0.4167578474054706);
  EXPECT_EQ(g.standard_normal(), -0.056266827226329474);
  EXPECT_EQ(g.standard_normal(), -2.136196095668454);
  NumpyRandomState z(0);  // RandomState(0).standard_normal(2)
  EXPECT_EQ(z.standard_normal(), 1.764052345967664);
  EXPECT_EQ(z.standard_normal(), 0.4001572083672233);
  // rs = RandomState(2); rs.uniform(-10, 10, size=(3, 2)); rs.normal(loc=[1.0, -1.0], scale=2.0, size=(1, 2))
  NumpyRandomState u(2);
  const double centers[6] = {-1.2801019571599248, -9.481475363442174, 0.9932495575741829,
                             -1.293552147634463,  -1.5926439582502194, -3.3933035799225175};
  for (double c : centers) EXPECT_EQ(u.uniform(-10, 10), c);
  EXPECT_EQ(u.normal(1.0, 2.0), 2.0057628343160854);
  EXPECT_EQ(u.normal(-1.0, 2.0), -3.490576173214463);
  // RandomState(2).randint(0, 7, size=6): the same masked rejection as random_interval(6)
  NumpyRandomState r(2);
  for (uint64_t v : {0, 5, 0, 6, 3, 2}) EXPECT_EQ(r.random_interval(6), v);
  // RandomState(2).randint(0, 2**40, size=3, dtype=np.int64): the 64-bit branch
  NumpyRandomState w(2);
  for (uint64_t v : {722349427215ULL, 1021908186696ULL, 98559752491ULL})
    EXPECT_EQ(w.random_interval((uint64_t{1} << 40) - 1), v);
  EXPECT_EQ(w.random_interval(0), 0U);
  // a = np.arange(10); RandomState(2).shuffle(a)
  NumpyRandomState s(2);
  std::vector<int64_t> a{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  s.shuffle(a);
  EXPECT_EQ(a, (std::vector<int64_t>{4, 1, 5, 0, 7, 2, 3, 6, 9, 8}));
  std::vector<int64_t> empty_vec;
  s.shuffle(empty_vec);  // a no-op, as numpy's
  EXPECT_TRUE(empty_vec.empty());
}

// sha256sum of a file's bytes (coreutils, present wherever the tests build).
std::string sha256_of(const std::string& path) {
  FILE* p = popen(("sha256sum '" + path + "'").c_str(), "r");
  if (!p) return "popen failed";
  char buf[65] = {};
  const size_t got = std::fread(buf, 1, 64, p);
  pclose(p);
  return got == 64 ? std::string(buf, 64) : "sha256sum gave no digest (is coreutils installed?)";
}

TEST(SklearnBlobsTest, EqualsScikitLearnBitForBit) {
  // make_blobs(n_samples=1000, centers=3, n_features=2, cluster_std=2.0, random_state=2): the
  // SHA-256 of X.astype('<f4').tobytes() + y.astype('<i8').tobytes().
  Blobs b = sklearn_make_blobs({.n_samples = 1000, .n_features = 2, .n_centers = 3, .cluster_std = {2.0}, .seed = 2});
  ASSERT_EQ(datatest::shape(b.X), (std::vector<int64_t>{1000, 2}));
  ASSERT_EQ(b.X.dtype(), kFloat32);
  ASSERT_EQ(b.y.dtype(), kInt64);
  // X[:2] and y[:10] as scikit-learn prints them, and the centers (the first six uniforms above).
  EXPECT_FLOAT_EQ(b.X.data_ptr<float>()[0], 0.48719811f);
  EXPECT_FLOAT_EQ(b.X.data_ptr<float>()[3], -3.47915742f);
  EXPECT_EQ(datatest::values(b.y.slice(0, 0, 10)), (std::vector<double>{2, 2, 2, 0, 1, 0, 1, 1, 2, 2}));
  EXPECT_EQ(b.centers.to(kFloat64).data_ptr<double>()[0], static_cast<double>(static_cast<float>(-1.2801019571599248)));
  datatest::TempDir dir;
  const std::string path = dir.file("blobs.bin");
  {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(b.X.contiguous().data_ptr()), static_cast<std::streamsize>(b.X.nbytes()));
    f.write(static_cast<const char*>(b.y.contiguous().data_ptr()), static_cast<std::streamsize>(b.y.nbytes()));
    ASSERT_TRUE(f.good());
  }
  ASSERT_EQ(std::filesystem::file_size(path), 1000u * 2 * 4 + 1000u * 8);
  EXPECT_EQ(sha256_of(path), "08533e555311ea64164d4cfa7c5f94fb92a1c41a3ecde11911e89f1d08ddd63c");
}

TEST(SklearnBlobsTest, OptionsAndErrors) {
  // Counts as scikit-learn splits them; no shuffle keeps the centers in order.
  Blobs b = sklearn_make_blobs({.n_samples = 10, .n_centers = 3, .shuffle = false, .seed = 0, .dtype = kFloat64});
  EXPECT_EQ(datatest::values(b.y), (std::vector<double>{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(b.X.dtype(), kFloat64);
  // Given centers draw no uniforms: the first point is center + std * standard_normal().
  Blobs c = sklearn_make_blobs({.samples_per_center = {1, 2}, .centers = zeros({2, 3}), .cluster_std = {1.0, 3.0},
                                .shuffle = false, .seed = 2, .dtype = kFloat64});
  EXPECT_EQ(datatest::shape(c.X), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(c.X.data_ptr<double>()[0], -0.4167578474054706);
  EXPECT_EQ(c.X.data_ptr<double>()[1], -0.056266827226329474);
  EXPECT_THROW(sklearn_make_blobs({.n_samples = 10}), Error);  // no seed
  EXPECT_THROW(sklearn_make_blobs({.n_samples = 10, .seed = uint64_t{1} << 32}), Error);
  EXPECT_THROW(sklearn_make_blobs({.n_samples = 10, .cluster_std = {1.0, 2.0}, .seed = 0}), Error);
  EXPECT_THROW(sklearn_make_blobs({.n_samples = 10, .cluster_std = {-1.0}, .seed = 0}), Error);
  EXPECT_THROW(sklearn_make_blobs({.n_samples = -1, .seed = 0}), Error);
  EXPECT_THROW(NumpyRandomState(-1), Error);
  EXPECT_THROW(NumpyRandomState(int64_t{1} << 32), Error);
}

}  // namespace
}  // namespace hpml::data
