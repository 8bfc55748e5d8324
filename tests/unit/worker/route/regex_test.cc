#include "worker/route/regex.h"

#include <gtest/gtest.h>

namespace sluice::worker::route {
namespace {

regex must(std::string_view pattern, bool icase = false) {
  std::string error;
  auto r = regex::compile(pattern, icase, error);
  EXPECT_TRUE(r.has_value()) << error;
  return std::move(*r);
}

TEST(Regex, ReportsCompileErrorsWithOffset) {
  std::string error;
  EXPECT_FALSE(regex::compile("^([^", false, error).has_value());
  EXPECT_NE(error.find("at offset"), std::string::npos) << error;
}

TEST(Regex, MatchIsUnanchoredAndCaseSensitiveUnlessAsked) {
  EXPECT_TRUE(must("internal").matches("the internal host"));
  EXPECT_FALSE(must("INTERNAL").matches("the internal host"));
  EXPECT_TRUE(must("INTERNAL", true).matches("the internal host"));
}

TEST(Regex, ReplaceExpandsBackReferencesAndReplacesTheWholeSubject) {
  std::string out;
  auto r = must(R"(^([^ :]*) /mirror/foo/(.*))", true);
  ASSERT_TRUE(r.replace("GET /mirror/foo/bar HTTP/1.1", R"(\1 /\2)", out));
  EXPECT_EQ(out, "GET /bar HTTP/1.1");

  out.clear();
  ASSERT_TRUE(must("internal").replace("the internal host", "public", out));
  EXPECT_EQ(out, "public");
}

TEST(Regex, ReplaceHandlesTwoDigitGroupsAndUnsetGroups) {
  std::string out;
  auto r = must("(a)(b)?(c)(d)(e)(f)(g)(h)(i)(j)(k)");
  ASSERT_TRUE(r.replace("acdefghijk", R"(\11-\2-\1\\x)", out));
  EXPECT_EQ(out, R"(k--a\\x)");
}

TEST(Regex, NoMatchLeavesOutputUntouched) {
  std::string out = "keep";
  EXPECT_FALSE(must("^x").replace("abc", "y", out));
  EXPECT_EQ(out, "keep");
}

}  // namespace
}  // namespace sluice::worker::route
