// ACL definitions and conditions as compiled into the Config message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/master/config/compile_helpers.h"

namespace sluice::master::config {
namespace {

using namespace testing;
namespace pb = sluice::config;

compile_result frontend_with(std::string_view lines) {
  std::string text = "frontend f\n  mode http\n  bind :80\n";
  text += lines;
  text += "\nbackend b\n  mode http\n";
  return compile(text);
}

const pb::Acl& acl_named(const compile_result& r, std::string_view name) {
  for (const auto& a : r.config.frontends(0).acls()) {
    if (a.name() == name) return a;
  }
  static pb::Acl none;
  ADD_FAILURE() << "no ACL " << name;
  return none;
}

TEST(Acl, FetchesMatchersAndFlags) {
  auto r = frontend_with(R"(  acl host_dom.com req.hdr(Host) dom.com
  acl path_mirror_foo path -m beg /mirror/foo/
  acl api path_beg -i /API /v1
  acl static path_end .css .js
  acl loc hdr_sub(x-forwarded-for,-1) 10.
  acl re url_reg -i ^/a(b|c)$
  acl local src 127.0.0.1 10.0.0.0/8 ::1
  acl port dst_port 80 8000:8080
  acl big hdr_val(content-length) gt 1000
  acl short path_len lt 5
  acl has_q query -m found
  acl tok url_param(token) -m len 32
  acl dom hdr_dom(host) example.com
  acl dir path_dir images
  acl tls ssl_fc
  acl sni ssl_fc_sni -m end .example.com
  acl ver req.ver 1.0
  acl meth method PUT POST
  acl b base_beg dom.com/x
  acl not_found status 404
  use_backend b if host_dom.com path_mirror_foo
)");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& host = acl_named(r, "host_dom.com");
  EXPECT_EQ(host.terms(0).sample().fetch(), pb::FETCH_REQ_HDR);
  EXPECT_EQ(host.terms(0).sample().name(), "Host");
  EXPECT_EQ(host.terms(0).match(), pb::MATCH_STR);

  EXPECT_EQ(acl_named(r, "path_mirror_foo").terms(0).match(), pb::MATCH_BEG);
  const auto& api = acl_named(r, "api").terms(0);
  EXPECT_TRUE(api.ignore_case());
  EXPECT_EQ(api.values_size(), 2);
  EXPECT_EQ(acl_named(r, "static").terms(0).match(), pb::MATCH_END);
  const auto& loc = acl_named(r, "loc").terms(0);
  EXPECT_EQ(loc.match(), pb::MATCH_SUB);
  EXPECT_EQ(loc.sample().occurrence(), -1);
  EXPECT_EQ(acl_named(r, "re").terms(0).match(), pb::MATCH_REG);
  const auto& local = acl_named(r, "local").terms(0);
  EXPECT_EQ(local.match(), pb::MATCH_IP);
  ASSERT_EQ(local.nets_size(), 3);
  EXPECT_EQ(local.nets(1).prefix(), 8u);
  const auto& port = acl_named(r, "port").terms(0);
  ASSERT_EQ(port.ints_size(), 2);
  EXPECT_EQ(port.ints(1).min(), 8000);
  EXPECT_EQ(port.ints(1).max(), 8080);
  const auto& big = acl_named(r, "big").terms(0);
  EXPECT_EQ(big.ints(0).min(), 1001);
  EXPECT_FALSE(big.ints(0).has_max());
  EXPECT_EQ(acl_named(r, "short").terms(0).match(), pb::MATCH_LEN);
  EXPECT_EQ(acl_named(r, "short").terms(0).ints(0).max(), 4);
  EXPECT_EQ(acl_named(r, "has_q").terms(0).match(), pb::MATCH_FOUND);
  EXPECT_EQ(acl_named(r, "dom").terms(0).match(), pb::MATCH_DOM);
  EXPECT_EQ(acl_named(r, "dir").terms(0).match(), pb::MATCH_DIR);
  EXPECT_EQ(acl_named(r, "tls").terms(0).match(), pb::MATCH_BOOL);
  EXPECT_TRUE(acl_named(r, "not_found").terms(0).sample().response());

  const auto& ub = r.config.frontends(0).use_backends(0);
  ASSERT_EQ(ub.condition().any_size(), 1);
  EXPECT_EQ(ub.condition().any(0).terms_size(), 2);  // implicit AND
}

TEST(Acl, RepeatedNamesAreOredAndConditionsCombine) {
  auto r = frontend_with(R"(  acl a path_beg /a
  acl a path_beg /b
  acl c method GET
  use_backend b if a !c or { path /x } || METH_POST
  use_backend b unless ! a
)");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& fe = r.config.frontends(0);
  EXPECT_EQ(acl_named(r, "a").terms_size(), 2);
  const auto& cond = fe.use_backends(0).condition();
  EXPECT_FALSE(cond.unless());
  ASSERT_EQ(cond.any_size(), 3);
  ASSERT_EQ(cond.any(0).terms_size(), 2);
  EXPECT_FALSE(cond.any(0).terms(0).negate());
  EXPECT_TRUE(cond.any(0).terms(1).negate());
  EXPECT_EQ(fe.acls(cond.any(1).terms(0).acl()).terms(0).sample().fetch(), pb::FETCH_PATH);
  EXPECT_EQ(fe.acls(cond.any(2).terms(0).acl()).name(), "METH_POST");
  const auto& un = fe.use_backends(1).condition();
  EXPECT_TRUE(un.unless());
  EXPECT_TRUE(un.any(0).terms(0).negate());
}

TEST(Acl, PredefinedAcls) {
  auto r = frontend_with(R"(  http-request deny if !LOCALHOST METH_CONNECT
  http-request allow if TRUE HTTP_1.1 HTTP_URL_SLASH
  http-request deny if FALSE || HTTP_CONTENT || HTTP_URL_ABS || METH_GET || HTTP
)");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& get = acl_named(r, "METH_GET").terms(0);
  EXPECT_EQ(get.sample().fetch(), pb::FETCH_METHOD);
  EXPECT_EQ(get.values_size(), 2);  // GET and HEAD
  EXPECT_EQ(acl_named(r, "LOCALHOST").terms(0).nets_size(), 2);
  EXPECT_EQ(acl_named(r, "TRUE").terms(0).sample().fetch(), pb::FETCH_ALWAYS_TRUE);
}

TEST(Acl, Errors) {
  auto r = frontend_with(R"(  acl a pth_beg /x
  acl b path_beg -m nope /x
  acl c url_reg ^(unclosed
  acl d src 10.0.0.0/99
  acl e dst_port eighty
  acl f hdr_val /x
  acl g path(x) /x
  acl h path -q /x
  acl i status
  use_backend b if undefined_acl
  use_backend b if {path_beg /x}
  use_backend b if { path_beg /x
  use_backend b if TRUE or
  use_backend b when a
  acl j hdr(host),lower x
  acl k method -m found GET
)");
  EXPECT_TRUE(has_error(r, 4, "unknown fetch method 'pth_beg' in ACL; did you mean 'path_beg'?"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 5, "unknown match method 'nope' after '-m'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 6, "invalid ACL pattern '^(unclosed': missing closing parenthesis"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 7, "invalid prefix length '99'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 8, "'eighty' is not an integer")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 9, "fetch 'hdr_val' needs an argument")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 10, "fetch 'path' takes no argument")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 11, "unknown ACL flag '-q'")) << all_messages(r);
  EXPECT_TRUE(has_warning(r, 12, "has no pattern")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 13, "unknown ACL 'undefined_acl' in condition")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 14, "braces need spaces around them")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 15, "missing '}'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 16, "condition ends without an ACL")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 17, "expected 'if' or 'unless' after 'use_backend b', got 'when'"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 18, "sample converters ('lower') are not supported")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 19, "match 'found' takes no pattern")) << all_messages(r);
}

TEST(Acl, AclMustBeDeclaredBeforeUse) {
  auto r = frontend_with("  use_backend b if late\n  acl late path /x\n");
  EXPECT_TRUE(has_error(r, 4, "unknown ACL 'late'")) << all_messages(r);
}

TEST(Acl, ResponseAclInRequestContextWarns) {
  auto r = frontend_with("  acl loc res.hdr(location) -m found\n  use_backend b if loc\n");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  EXPECT_TRUE(has_warning(r, 5, "only involves response fetches")) << all_messages(r);
}

TEST(Acl, PatternFile) {
  auto path = std::filesystem::temp_directory_path() / "sluice-acl-patterns.lst";
  std::ofstream(path) << "# blocked paths\n/admin\n\n  /private  \n";
  auto r = frontend_with("  acl blocked path_beg -f " + path.string() + "\n");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& t = acl_named(r, "blocked").terms(0);
  ASSERT_EQ(t.values_size(), 2);
  EXPECT_EQ(t.values(1), "/private");
  std::filesystem::remove(path);
  auto missing = frontend_with("  acl blocked path_beg -f /nonexistent/x.lst\n");
  EXPECT_TRUE(has_error(missing, 4, "cannot read ACL pattern file")) << all_messages(missing);
}

}  // namespace
}  // namespace sluice::master::config
