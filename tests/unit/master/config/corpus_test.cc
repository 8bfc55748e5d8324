// The config corpus in tests/configs: every valid/*.cfg must compile; every
// invalid/*.cfg states the diagnostics it must produce in comments:
//   # expect-error: LINE: text       an error at LINE whose message contains text
//   # expect-warning: LINE: text     likewise for a warning
// A valid config may also state expected warnings, and `# expect-no-warnings`.
// Paths in a corpus file may use ${CORPUS} for the corpus folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "master/config/compiler.h"
#include "tests/unit/master/config/compile_helpers.h"

namespace sluice::master::config {
namespace {

namespace fs = std::filesystem;
using namespace testing;

struct expectation {
  severity level;
  uint32_t line;
  std::string text;
};

struct corpus_file {
  std::string text;
  std::vector<expectation> expected;
  bool no_warnings = false;
};

corpus_file load(const fs::path& path) {
  corpus_file f;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  f.text = ss.str();
  // Test scaffolding, not config syntax: fine to use std::regex here.
  static const std::regex expect_re(R"(#\s*expect-(error|warning):\s*(\d+):\s*(.*?)\s*$)");
  std::istringstream lines(f.text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_search(line, m, expect_re)) {
      f.expected.push_back({m[1] == "error" ? severity::error : severity::warning,
                            static_cast<uint32_t>(std::stoul(m[2])), m[3]});
    }
    if (line.find("# expect-no-warnings") != std::string::npos) f.no_warnings = true;
  }
  return f;
}

std::vector<fs::path> corpus(const char* sub) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(SLUICE_CONFIG_CORPUS) / sub)) {
    if (e.path().extension() == ".cfg") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

compile_result compile_corpus_file(const fs::path& path) {
  return compile_files({path.string()}, [](const std::string& name) -> std::optional<std::string> {
    if (name == "CORPUS") return std::string(SLUICE_CONFIG_CORPUS);
    if (name == "SLUICE_TEST_PORT") return std::string("8080");
    return std::nullopt;
  });
}

void check_expectations(const fs::path& path, const corpus_file& f, const compile_result& r) {
  for (const auto& e : f.expected) {
    EXPECT_TRUE(has(r, e.level, e.line, e.text))
        << path.filename() << ": expected " << (e.level == severity::error ? "error" : "warning")
        << " at line " << e.line << " containing: " << e.text << "\ngot:\n"
        << all_messages(r);
  }
}

TEST(Corpus, ValidConfigsCompile) {
  auto files = corpus("valid");
  EXPECT_GE(files.size(), 30u);
  // Run from the corpus folder so relative errorfile/pattern paths resolve.
  auto cwd = fs::current_path();
  fs::current_path(fs::path(SLUICE_CONFIG_CORPUS) / "valid");
  for (const auto& path : files) {
    corpus_file f = load(path);
    compile_result r = compile_corpus_file(path);
    EXPECT_TRUE(r.ok()) << path.filename() << " should be valid:\n" << all_messages(r);
    check_expectations(path, f, r);
    if (f.no_warnings) {
      EXPECT_EQ(count(r, severity::warning), 0u) << path.filename() << ":\n" << all_messages(r);
    }
  }
  fs::current_path(cwd);
}

TEST(Corpus, InvalidConfigsFailWithTheExpectedDiagnostics) {
  auto files = corpus("invalid");
  EXPECT_GE(files.size(), 30u);
  auto cwd = fs::current_path();
  fs::current_path(fs::path(SLUICE_CONFIG_CORPUS) / "invalid");
  for (const auto& path : files) {
    corpus_file f = load(path);
    compile_result r = compile_corpus_file(path);
    EXPECT_FALSE(r.ok()) << path.filename() << " should be invalid";
    EXPECT_FALSE(f.expected.empty()) << path.filename() << " states no expect-error line";
    check_expectations(path, f, r);
  }
  fs::current_path(cwd);
}

// The seed notes' config, with its `[...]` replaced by a server line: as printed, the
// unescaped space in `[^ :]` splits the regex, and that exact line must be the error;
// with the space escaped, it compiles with only warnings.
TEST(Corpus, SeedConfig) {
  std::string text;
  std::error_code missing;
  for (const auto& e : fs::directory_iterator(SLUICE_SEED_DIR, missing)) {
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    size_t open = s.find("```\n");
    if (open == std::string::npos) continue;
    size_t close = s.find("```", open + 4);
    text = s.substr(open + 4, close - open - 4);
  }
  if (text.empty()) GTEST_SKIP() << "seed notes not found at " << SLUICE_SEED_DIR;
  size_t dots = text.find("[...]");
  ASSERT_NE(dots, std::string::npos);
  text.replace(dots, 5, "server bk1 bk.dom.com:80");

  auto raw = compile_text(text, "seed.cfg");
  EXPECT_FALSE(raw.ok());
  EXPECT_EQ(raw.diag.error_count(), 1u) << all_messages(raw);
  uint32_t reqirep_line = 0;
  {
    std::istringstream lines(text);
    std::string l;
    for (uint32_t n = 1; std::getline(lines, l); ++n) {
      if (l.find("reqirep") != std::string::npos) reqirep_line = n;
    }
  }
  EXPECT_TRUE(has_error(raw, reqirep_line, "An unescaped space splits a regex"))
      << all_messages(raw);

  std::string fixed = text;
  fixed.replace(fixed.find("[^ :]"), 5, "[^\\ :]");
  auto ok = compile_text(fixed, "seed.cfg");
  ASSERT_TRUE(ok.ok()) << all_messages(ok);
  for (const auto& d : ok.diag.all()) {
    bool legacy = d.message.find("was removed in HAProxy 2.1") != std::string::npos;
    bool mode = d.message.find("has no 'mode'") != std::string::npos;
    bool bind = d.message.find("has no 'bind' line") != std::string::npos;
    EXPECT_TRUE(legacy || mode || bind) << "unexpected: " << format(d);
  }
  const auto& be = ok.config.backends(0);
  EXPECT_EQ(be.legacy_request_size(), 1);
  EXPECT_EQ(be.legacy_response_size(), 3);
  EXPECT_EQ(ok.config.frontends(0).use_backends(0).backend(), 0u);
}

}  // namespace
}  // namespace sluice::master::config
