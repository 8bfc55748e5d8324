#include "master/config/lexer.h"

#include <gtest/gtest.h>

namespace sluice::master::config {
namespace {

using words = std::vector<std::string>;

std::optional<std::string> test_env(const std::string& name) {
  if (name == "HOST") return "10.0.0.1";
  if (name == "LIST") return "a  b c";
  if (name == "EMPTY") return "";
  return std::nullopt;
}

words split(std::string_view line) {
  return split_words(line, test_env).words;
}

TEST(Lexer, SplitsOnSpacesAndTabsAndDropsComments) {
  EXPECT_EQ(split("  bind\t:80   # the front door"), (words{"bind", ":80"}));
  EXPECT_EQ(split("# only a comment"), words{});
  EXPECT_EQ(split(""), words{});
}

TEST(Lexer, BackslashEscapesSpaceHashAndQuotesButKeepsRegexEscapes) {
  EXPECT_EQ(split(R"(reqirep ^([^\ :]*)\ /x/(.*) \1\ /\2)"),
            (words{"reqirep", "^([^ :]*) /x/(.*)", R"(\1 /\2)"}));
  EXPECT_EQ(split(R"(a\#b \\ \' \")"), (words{"a#b", "\\", "'", "\""}));
  EXPECT_EQ(split(R"(path_reg ^/a\.b$)"), (words{"path_reg", R"(^/a\.b$)"}));
}

TEST(Lexer, ControlEscapes) {
  EXPECT_EQ(split(R"(a\tb \x41\x7e c\r\n)"), (words{"a\tb", "A~", "c\r\n"}));
  EXPECT_TRUE(split_words(R"(\xZZ)", test_env).error.has_value());
}

TEST(Lexer, SingleQuotesAreStrong) {
  EXPECT_EQ(split(R"(log-format '%ci $HOST \ # x')"), (words{"log-format", R"(%ci $HOST \ # x)"}));
}

TEST(Lexer, DoubleQuotesExpandEnvironmentAndKeepSpaces) {
  EXPECT_EQ(split(R"(server s "${HOST}:80" "a b")"), (words{"server", "s", "10.0.0.1:80", "a b"}));
  EXPECT_EQ(split(R"("$HOST")"), (words{"10.0.0.1"}));
  EXPECT_EQ(split(R"("\$HOST")"), (words{"$HOST"}));
  // Outside double quotes `$` is literal.
  EXPECT_EQ(split(R"($HOST)"), (words{"$HOST"}));
}

TEST(Lexer, EnvironmentDefaultsAndSplitting) {
  EXPECT_EQ(split(R"("${NOPE-8080}")"), (words{"8080"}));
  EXPECT_EQ(split(R"("${HOST-8080}")"), (words{"10.0.0.1"}));
  EXPECT_EQ(split(R"(x "${LIST[*]}" y)"), (words{"x", "a", "b", "c", "y"}));
}

TEST(Lexer, UnsetVariableWarnsAndExpandsEmpty) {
  auto l = split_words(R"(x "${NOPE}")", test_env);
  EXPECT_EQ(l.words, (words{"x", ""}));
  ASSERT_EQ(l.warnings.size(), 1u);
  EXPECT_NE(l.warnings[0].find("NOPE"), std::string::npos);
}

TEST(Lexer, QuotedPiecesGlueIntoOneWord) {
  EXPECT_EQ(split(R"("a b"'c d'e)"), (words{"a bc de"}));
  EXPECT_EQ(split(R"(x "" y)"), (words{"x", "", "y"}));
}

TEST(Lexer, UnterminatedQuoteIsAnError) {
  auto l = split_words(R"(x "abc)", test_env);
  ASSERT_TRUE(l.error.has_value());
  EXPECT_NE(l.error->find("unterminated double quote"), std::string::npos);
  EXPECT_TRUE(split_words("x 'abc", test_env).error.has_value());
}

TEST(Lexer, HashInsideQuotesIsNotAComment) {
  EXPECT_EQ(split(R"(a "b # c" d)"), (words{"a", "b # c", "d"}));
}

}  // namespace
}  // namespace sluice::master::config
