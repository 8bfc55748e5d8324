// http-request / http-response actions, redirects, and the legacy req*/rsp* keywords.
#include <gtest/gtest.h>

#include "tests/unit/master/config/compile_helpers.h"

namespace sluice::master::config {
namespace {

using namespace testing;
namespace pb = sluice::config;

compile_result backend_with(std::string_view lines) {
  std::string text = "backend b\n  mode http\n";
  text += lines;
  return compile(text);
}

TEST(Rules, HttpRequestActions) {
  auto r = backend_with(R"(  http-request set-header Host bk.dom.com
  http-request add-header X-Client %[src]
  http-request del-header X-Secret
  http-request replace-header X-Host internal public
  http-request replace-value X-Forwarded-For ^10\..* hidden
  http-request set-path /v2%[path]
  http-request replace-path /mirror/foo/(.*) /\1
  http-request replace-uri ^http://[^/]+(/.*) \1
  http-request set-uri /x
  http-request set-query a=1
  http-request set-method POST
  http-request redirect scheme https code 301 if !{ ssl_fc }
  http-request redirect location /new drop-query
  http-request redirect prefix https://example.com code 308
  http-request return status 200 content-type text/plain string ok if { path /health }
  http-request deny deny_status 429 if { path_beg /slow }
  http-request allow
  http-response set-status 404 reason Gone
  http-response replace-header Location ^http://bk.dom.com(.*) \1
  http-response del-header Server
  http-response deny
)");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& be = r.config.backends(0);
  ASSERT_EQ(be.http_request_size(), 17);
  EXPECT_EQ(be.http_request(0).action(), pb::ACTION_SET_HEADER);
  EXPECT_EQ(be.http_request(0).name(), "Host");
  EXPECT_EQ(be.http_request(0).format(), "bk.dom.com");
  EXPECT_EQ(be.http_request(6).action(), pb::ACTION_REPLACE_PATH);
  EXPECT_EQ(be.http_request(6).regex(), "/mirror/foo/(.*)");
  EXPECT_EQ(be.http_request(6).format(), R"(/\1)");
  const auto& scheme = be.http_request(11);
  EXPECT_EQ(scheme.redirect().kind(), pb::Redirect::KIND_SCHEME);
  EXPECT_EQ(scheme.redirect().code(), 301u);
  EXPECT_TRUE(scheme.has_condition());
  EXPECT_TRUE(be.http_request(12).redirect().drop_query());
  EXPECT_EQ(be.http_request(12).redirect().code(), 302u);
  EXPECT_EQ(be.http_request(14).status(), 200u);
  EXPECT_EQ(be.http_request(14).body(), "ok");
  EXPECT_EQ(be.http_request(15).status(), 429u);
  EXPECT_FALSE(be.http_request(16).has_condition());
  ASSERT_EQ(be.http_response_size(), 4);
  EXPECT_EQ(be.http_response(0).status(), 404u);
  EXPECT_EQ(be.http_response(0).reason(), "Gone");
  EXPECT_EQ(be.http_response(3).status(), 403u);
}

TEST(Rules, ActionErrors) {
  auto r = backend_with(R"(  http-request set-header Host
  http-request set-header X a b
  http-request frobnicate
  http-request set-var(txn.x) str(y)
  http-response set-path /x
  http-request set-status 200
  http-request replace-path ([ x
  http-request redirect location /x code 200
  http-request redirect somewhere /x
  http-request return status 200 string ok
  http-request use-service lua.hello
  http-request set-header X %[src
  http-request set-hdr X y
)");
  EXPECT_TRUE(has_error(r, 3, "'http-request set-header' expects <name> <value>"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 4, "unexpected 'b' after 'http-request set-header X a'"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 5, "unknown 'http-request' action 'frobnicate'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 6, "unknown 'http-request' action 'set-var(txn.x)'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 7, "'set-path' is not a valid 'http-response' action"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 8, "'set-status' is not a valid 'http-request' action"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 9, "invalid regex '(['")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 10, "redirect code must be 301, 302, 303, 307 or 308"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 11, "'redirect' expects 'location', 'prefix' or 'scheme'"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 12, "with a body needs a 'content-type'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 13, "service 'lua.hello' is not supported")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 14, "unclosed '%['")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 15, "did you mean 'set-header'?")) << all_messages(r);
}

TEST(Rules, PrometheusExporterMarksTheFrontend) {
  auto r = compile(
      "frontend stats\n  mode http\n  bind :8404\n"
      "  http-request use-service prometheus-exporter if { path /metrics }\n");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  EXPECT_TRUE(r.config.frontends(0).prometheus_exporter());
}

TEST(Rules, ProxyRedirectKeyword) {
  auto r = compile("frontend f\n  mode http\n  bind :80\n  redirect scheme https if !{ ssl_fc }\n");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  EXPECT_EQ(r.config.frontends(0).http_request(0).action(), pb::ACTION_REDIRECT);
}

TEST(Legacy, RulesCompileWithAWarningNamingTheModernForm) {
  auto r = backend_with(R"(  reqirep ^([^\ :]*)\ /mirror/foo/(.*) \1\ /\2
  reqadd X-Proxied:\ yes
  reqidel ^X-Secret:
  reqideny ^User-Agent:.*curl
  reqallow ^GET
  rspirep ^Location:\ (https?://bk.dom.com(:[0-9]+)?)?(/.*) Location:\ /mirror/foo\3
  rspdel ^Server:
  rspadd X-Served-By:\ sluice
  rspdeny ^X-Internal:
  block if { path_beg /admin }
)");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& be = r.config.backends(0);
  ASSERT_EQ(be.legacy_request_size(), 5);
  const auto& rep = be.legacy_request(0);
  EXPECT_EQ(rep.action(), pb::ACTION_LINE_REPLACE);
  EXPECT_TRUE(rep.ignore_case());
  EXPECT_EQ(rep.regex(), "^([^ :]*) /mirror/foo/(.*)");
  EXPECT_EQ(rep.format(), R"(\1 /\2)");
  EXPECT_EQ(be.legacy_request(1).action(), pb::ACTION_LINE_ADD);
  EXPECT_EQ(be.legacy_request(1).format(), "X-Proxied: yes");
  EXPECT_EQ(be.legacy_request(2).action(), pb::ACTION_LINE_DELETE);
  EXPECT_EQ(be.legacy_request(3).action(), pb::ACTION_LINE_DENY);
  EXPECT_EQ(be.legacy_request(4).action(), pb::ACTION_LINE_ALLOW);
  EXPECT_FALSE(be.legacy_request(4).ignore_case());
  ASSERT_EQ(be.legacy_response_size(), 4);
  EXPECT_EQ(be.legacy_response(0).format(), R"(Location: /mirror/foo\3)");
  EXPECT_EQ(be.http_request(0).action(), pb::ACTION_DENY);  // block
  EXPECT_TRUE(has_warning(r, 3, "'reqirep' was removed in HAProxy 2.1")) << all_messages(r);
  EXPECT_TRUE(has_warning(r, 3, "'http-request replace-path, replace-uri or replace-header'"));
  EXPECT_TRUE(has_warning(r, 4, "'http-request add-header'"));
  EXPECT_TRUE(has_warning(r, 8, "'http-response replace-header'"));
  EXPECT_TRUE(has_warning(r, 12, "'block' was removed in HAProxy 2.0"));
  EXPECT_EQ(count(r, severity::warning), 10u) << all_messages(r);
}

TEST(Legacy, UnescapedSpaceInARegexIsAnErrorThatSaysSo) {
  auto r = backend_with("  reqirep  ^([^ :]*)\\ /mirror/foo/(.*)     \\1\\ /\\2\n");
  EXPECT_TRUE(has_error(r, 3, "'reqirep' takes 2 arguments (<search> <replace>)"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 3, "but got 3")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 3, "An unescaped space splits a regex")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 3, "'^([^' alone is not a valid regex")) << all_messages(r);
}

TEST(Legacy, OtherArgumentErrors) {
  auto r = backend_with(R"(  reqrep ^x
  reqadd NoColonHere
  rspirep ^(bad x
  reqsetbe ^Host:\ x bk
)");
  EXPECT_TRUE(has_error(r, 3, "'reqrep' takes 2 arguments")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 4, "expects a whole header line")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 5, "invalid regex '^(bad'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 6, "'reqsetbe' is not supported by sluice")) << all_messages(r);
}

}  // namespace
}  // namespace sluice::master::config
