// The ACL engine and the rule lists, fed with configs compiled by the real compiler and
// with requests and responses built by hand.
#include "worker/route/acl.h"

#include <gtest/gtest.h>

#include "master/config/compiler.h"
#include "worker/route/format.h"
#include "worker/route/http_rules.h"

namespace sluice::worker::route {
namespace {

namespace pb = sluice::config;

pb::Config compile_ok(const std::string& frontend_lines) {
  std::string text = "frontend fe\n  mode http\n  bind :8080\n" + frontend_lines +
                     "  default_backend b\nbackend b\n  mode http\n  server s 127.0.0.1:1\n";
  auto r = master::config::compile_text(text, "t.cfg");
  EXPECT_TRUE(r.ok()) << text;
  return r.config;
}

http::request make_request(std::string target, std::vector<http::header_field> headers = {},
                           std::string method = "GET") {
  http::request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers.fields = std::move(headers);
  return r;
}

txn make_txn(const http::request& r, const char* src = "192.0.2.10") {
  txn t;
  t.req = &r;
  parse_ip(src, t.src);
  t.src.port = 40000;
  parse_ip("127.0.0.1", t.dst);
  t.dst.port = 8080;
  return t;
}

// Whether `acl NAME SPEC` (the frontend's only ACL) matches the request.
bool matches(const std::string& spec, const http::request& r, const char* src = "192.0.2.10") {
  pb::Config cfg = compile_ok("  acl x " + spec + "\n");
  acl_set acls(cfg.frontends(0).acls());
  return acls.matches(0, make_txn(r, src));
}

TEST(Acl, StringMatchers) {
  auto r = make_request("/static/img/logo.PNG?v=2", {{"Host", "www.Example.com"}});
  EXPECT_TRUE(matches("path /static/img/logo.PNG", r));
  EXPECT_FALSE(matches("path /static/img/logo.png", r));
  EXPECT_TRUE(matches("path -i /static/img/logo.png", r));
  EXPECT_TRUE(matches("path_beg /nope /static/", r));  // values are ORed
  EXPECT_TRUE(matches("path_end -i .png .jpg", r));
  EXPECT_TRUE(matches("path_sub /img/", r));
  EXPECT_TRUE(matches("path_reg ^/static/.*\\.PNG$", r));
  EXPECT_FALSE(matches("path_reg ^/static/.*\\.png$", r));
  EXPECT_TRUE(matches("path_reg -i ^/static/.*\\.png$", r));
  EXPECT_TRUE(matches("path_dir img", r));
  EXPECT_FALSE(matches("path_dir im", r));
  EXPECT_TRUE(matches("hdr_dom(host) -i example.com", r));
  EXPECT_FALSE(matches("hdr_dom(host) -i ample.com", r));
  EXPECT_TRUE(matches("hdr(host) -m len 15", r));
  EXPECT_TRUE(matches("hdr(host) -m found", r));
  EXPECT_FALSE(matches("hdr(x-missing) -m found", r));
  EXPECT_TRUE(matches("url_param(v) 2", r));
  EXPECT_TRUE(matches("query v=2", r));
}

TEST(Acl, HeaderOccurrencesAndCommaSeparatedValues) {
  auto r = make_request("/", {{"X-F", "a, b"}, {"X-F", "c"}});
  EXPECT_TRUE(matches("hdr(x-f) b", r));
  EXPECT_TRUE(matches("hdr(x-f,1) a", r));
  EXPECT_FALSE(matches("hdr(x-f,1) b", r));
  EXPECT_TRUE(matches("hdr(x-f,-1) c", r));
  EXPECT_TRUE(matches("req.hdr_cnt(x-f) 3", r));
}

TEST(Acl, IntegersAndRanges) {
  auto r = make_request("/?n=42", {{"Content-Length", "10"}, {"X-N", "-5"}});
  EXPECT_TRUE(matches("urlp(n) -m int 40:50", r));
  EXPECT_FALSE(matches("urlp(n) -m int 43:", r));
  EXPECT_TRUE(matches("hdr_val(content-length) gt 9", r));
  EXPECT_FALSE(matches("hdr_val(content-length) lt 10", r));
  EXPECT_TRUE(matches("hdr_val(x-n) lt 0", r));
  EXPECT_TRUE(matches("dst_port 8080", r));
  EXPECT_TRUE(matches("src_port 39000:41000", r));
}

TEST(Acl, AddressesAndNetworks) {
  auto r = make_request("/", {{"X-Real-IP", "10.1.2.3"}});
  EXPECT_TRUE(matches("src 192.0.2.0/24", r));
  EXPECT_FALSE(matches("src 10.0.0.0/8", r));
  EXPECT_TRUE(matches("src 10.0.0.0/8 192.0.2.10", r));
  EXPECT_TRUE(matches("hdr_ip(x-real-ip) 10.0.0.0/8", r));
  EXPECT_TRUE(matches("src 2001:db8::/32", r, "2001:db8::1"));
  EXPECT_FALSE(matches("src 192.0.2.0/24", r, "2001:db8::1"));
  // A client on a dual-stack socket shows as ::ffff:a.b.c.d and still matches v4 nets.
  EXPECT_TRUE(matches("src 192.0.2.0/24", r, "::ffff:192.0.2.7"));
}

TEST(Acl, MethodVersionBooleansAndPredefined) {
  auto r = make_request("/", {}, "DELETE");
  r.version_minor = 0;
  EXPECT_TRUE(matches("method DELETE", r));
  EXPECT_TRUE(matches("req.ver 1.0", r));
  EXPECT_FALSE(matches("ssl_fc", r));
  EXPECT_TRUE(matches("always_true", r));
  EXPECT_FALSE(matches("always_false", r));
  EXPECT_TRUE(matches("req.proto_http", r));
}

TEST(Acl, ConditionsCombineAndNegate) {
  pb::Config cfg = compile_ok(R"(  acl api path_beg /api
  acl admin path_beg /api/admin
  acl local src 192.0.2.0/24
  http-request deny if admin !local || { hdr(x-block) -m found }
  http-request deny unless api
)");
  const auto& fe = cfg.frontends(0);
  acl_set acls(fe.acls());
  auto holds = [&](int rule, const http::request& r, const char* src) {
    return acls.holds(fe.http_request(rule).condition(), make_txn(r, src));
  };
  auto admin = make_request("/api/admin");
  EXPECT_FALSE(holds(0, admin, "192.0.2.1"));
  EXPECT_TRUE(holds(0, admin, "198.51.100.1"));
  EXPECT_TRUE(holds(0, make_request("/x", {{"X-Block", "1"}}), "192.0.2.1"));
  EXPECT_FALSE(holds(1, make_request("/api/x"), "192.0.2.1"));
  EXPECT_TRUE(holds(1, make_request("/x"), "192.0.2.1"));
}

TEST(Format, SamplesAliasesAndConverters) {
  auto r = make_request("/p/q?x=1", {{"Host", "Site.Test"}, {"X-V", "a"}, {"X-V", "b"}});
  txn t = make_txn(r);
  t.frontend_name = "fe";
  t.backend_name = "be";
  EXPECT_EQ(format("%[src]:%cp %f>%b").render(t), "192.0.2.10:40000 fe>be");
  EXPECT_EQ(format("%[req.hdr(host),lower] %[hdr(x-v)] %[hdr(x-v,1)]").render(t), "site.test b a");
  EXPECT_EQ(format("%[path]%[query] 100%%").render(t), "/p/qx=1 100%");
  EXPECT_EQ(format("%[url_param(x)]|%[url_param(none)]|").render(t), "1||");
  EXPECT_TRUE(format("plain").literal());
  EXPECT_FALSE(format("a %[src]").literal());
}

TEST(Rules, RequestActionsRunInOrderAndStopAtAReply) {
  pb::Config cfg = compile_ok(R"(  http-request set-header X-A 1
  http-request add-header X-A 2
  http-request replace-header X-Host (.*)\.internal \1.public
  http-request replace-path ^/old/(.*) /new/\1
  http-request set-query y=2
  http-request deny deny_status 429 if { path_beg /new/blocked }
  http-request set-header X-After yes
)");
  const auto& fe = cfg.frontends(0);
  acl_set acls(fe.acls());
  rule_list rules(fe.http_request(), acls);
  auto r = make_request("/old/a?x=1", {{"X-Host", "app.internal"}});
  txn t = make_txn(r);
  reply out;
  ASSERT_EQ(rules.apply(r, t, out), rule_outcome::go_on);
  EXPECT_EQ(r.target, "/new/a?y=2");
  EXPECT_EQ(r.headers.count("x-a"), 2u);
  EXPECT_EQ(*r.headers.get("x-host"), "app.public");
  EXPECT_EQ(*r.headers.get("x-after"), "yes");

  auto blocked = make_request("/old/blocked");
  txn tb = make_txn(blocked);
  ASSERT_EQ(rules.apply(blocked, tb, out), rule_outcome::reply);
  EXPECT_EQ(out.status, 429u);
  EXPECT_TRUE(out.error_page);
  EXPECT_EQ(blocked.headers.get("x-after"), nullptr);
}

TEST(Rules, LegacyLineRulesSeeTheRawLines) {
  pb::Config cfg = compile_ok(R"(  reqirep ^([^\ :]*)\ /mirror/foo/(.*) \1\ /\2
  reqidel ^x-secret:
  reqadd X-Added:\ yes
)");
  const auto& fe = cfg.frontends(0);
  acl_set acls(fe.acls());
  rule_list rules(fe.legacy_request(), acls);
  auto r = make_request("/mirror/foo/bar?q=1", {{"X-SECRET", "1"}, {"Host", "dom.com"}});
  txn t = make_txn(r);
  reply out;
  ASSERT_EQ(rules.apply(r, t, out), rule_outcome::go_on);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/bar?q=1");
  EXPECT_EQ(r.headers.get("x-secret"), nullptr);
  EXPECT_EQ(*r.headers.get("x-added"), "yes");
}

TEST(Rules, Redirects) {
  pb::Config cfg = compile_ok(R"(  http-request redirect scheme https if { hdr(host) -m found }
  http-request redirect prefix /v2 code 301 drop-query
)");
  const auto& fe = cfg.frontends(0);
  acl_set acls(fe.acls());
  rule_list rules(fe.http_request(), acls);
  auto r = make_request("/a?b=1", {{"Host", "h:8443"}});
  txn t = make_txn(r);
  reply out;
  ASSERT_EQ(rules.apply(r, t, out), rule_outcome::reply);
  EXPECT_EQ(out.status, 302u);
  ASSERT_FALSE(out.headers.empty());
  EXPECT_EQ(out.headers[0].second, "https://h:8443/a?b=1");
  auto r2 = make_request("/a?b=1");
  txn t2 = make_txn(r2);
  ASSERT_EQ(rules.apply(r2, t2, out), rule_outcome::reply);
  EXPECT_EQ(out.status, 301u);
  EXPECT_EQ(out.headers[0].second, "/v2/a");
}

TEST(Rules, ReplaceValueKeepsSeparators) {
  std::string why;
  auto re = regex::compile("^a(.*)", false, why);
  ASSERT_TRUE(re);
  EXPECT_EQ(replace_each_value(*re, "ab, c,ad", "A\\1"), "Ab, c,Ad");
}

}  // namespace
}  // namespace sluice::worker::route
