#include "health/http_check.h"

#include <gtest/gtest.h>

namespace sluice::health {
namespace {

namespace pb = sluice::config;

pb::HttpCheck check(pb::HttpCheck::Expect e = pb::HttpCheck::EXPECT_DEFAULT,
                    std::string pattern = "", bool negate = false) {
  pb::HttpCheck hc;
  hc.set_enabled(true);
  hc.set_method("GET");
  hc.set_uri("/health");
  hc.set_version("HTTP/1.1");
  hc.add_headers("Host: example.com");
  hc.set_expect(e);
  hc.set_expect_pattern(pattern);
  hc.set_expect_negate(negate);
  return hc;
}

TEST(HttpCheck, RequestCarriesMethodUriVersionHeadersAndCloses) {
  auto hc = check();
  EXPECT_EQ(build_check_request(hc),
            "GET /health HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
  hc.set_body("ping");
  EXPECT_EQ(build_check_request(hc),
            "GET /health HTTP/1.1\r\nHost: example.com\r\n"
            "Connection: close\r\nContent-Length: 4\r\n\r\nping");
  pb::HttpCheck old_style;
  EXPECT_EQ(build_check_request(old_style), "OPTIONS / HTTP/1.0\r\nConnection: close\r\n\r\n");
}

TEST(HttpCheck, DefaultExpectationIs2xxOr3xx) {
  auto hc = check();
  EXPECT_TRUE(judge_check_response(hc, "HTTP/1.1 200 OK\r\n", false).ok);
  EXPECT_TRUE(judge_check_response(hc, "HTTP/1.0 302 Found\r\n", false).ok);
  auto v = judge_check_response(hc, "HTTP/1.1 500 Oops\r\n", false);
  EXPECT_TRUE(v.complete);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.status, 500);
  EXPECT_EQ(v.reason, "Layer7 wrong status");
}

TEST(HttpCheck, WaitsForTheStatusLine) {
  auto hc = check();
  EXPECT_FALSE(judge_check_response(hc, "HTTP/1.1 20", false).complete);
  auto v = judge_check_response(hc, "", true);
  EXPECT_TRUE(v.complete);
  EXPECT_EQ(v.reason, "Layer7 no response");
  EXPECT_EQ(judge_check_response(hc, "garbage\r\n", false).reason, "Layer7 invalid response");
  EXPECT_EQ(judge_check_response(hc, "HTTP/1.1 99x\r\n", false).reason, "Layer7 invalid response");
}

TEST(HttpCheck, StatusListsRangesAndRegex) {
  auto hc = check(pb::HttpCheck::EXPECT_STATUS, "200,301-302");
  EXPECT_TRUE(judge_check_response(hc, "HTTP/1.1 301 x\r\n", false).ok);
  EXPECT_FALSE(judge_check_response(hc, "HTTP/1.1 303 x\r\n", false).ok);
  auto re = check(pb::HttpCheck::EXPECT_RSTATUS, "^2");
  EXPECT_TRUE(judge_check_response(re, "HTTP/1.1 204 x\r\n", false).ok);
  auto neg = check(pb::HttpCheck::EXPECT_STATUS, "503", true);
  EXPECT_TRUE(judge_check_response(neg, "HTTP/1.1 500 x\r\n", false).ok);
  EXPECT_FALSE(judge_check_response(neg, "HTTP/1.1 503 x\r\n", false).ok);
}

TEST(HttpCheck, BodyExpectationsWaitForTheBody) {
  auto hc = check(pb::HttpCheck::EXPECT_STRING, "ready");
  EXPECT_FALSE(judge_check_response(hc, "HTTP/1.1 200 OK\r\n\r\nnot re", false).complete);
  EXPECT_TRUE(judge_check_response(hc, "HTTP/1.1 200 OK\r\n\r\nall ready", false).ok);
  auto v = judge_check_response(hc, "HTTP/1.1 200 OK\r\n\r\nstarting", true);
  EXPECT_TRUE(v.complete);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "Layer7 wrong content");
  auto re = check(pb::HttpCheck::EXPECT_RSTRING, "^ERR", true);
  EXPECT_TRUE(judge_check_response(re, "HTTP/1.1 200 OK\r\n\r\nfine", true).ok);
  EXPECT_FALSE(judge_check_response(re, "HTTP/1.1 200 OK\r\n\r\nERROR", true).ok);
}

}  // namespace
}  // namespace sluice::health
