// The compiler as a whole: sections, defaults, name resolution, cross-proxy checks.
#include "master/config/compiler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/master/config/compile_helpers.h"

namespace sluice::master::config {
namespace {

using namespace testing;
namespace pb = sluice::config;

constexpr std::string_view basic = R"(global
    workers 2
    maxconn 5000
    tune.bufsize 32k
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 1m
    retries 2
    option redispatch
    default-server inter 500ms fall 2
frontend www
    bind :80,:::8080
    default_backend web
backend web
    balance leastconn
    server a 10.0.0.1:80 check
    server b 10.0.0.2:80 check weight 3 rise 5 backup
)";

TEST(Compiler, AppliesGlobalAndProxyDefaults) {
  auto r = compile(basic);
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& c = r.config;
  EXPECT_EQ(c.global().workers(), 2u);
  EXPECT_EQ(c.global().maxconn(), 5000u);
  EXPECT_EQ(c.global().bufsize(), 32768u);
  EXPECT_EQ(c.global().maxrewrite(), 1024u);
  EXPECT_EQ(c.global().http_maxhdr(), 101u);
  EXPECT_EQ(c.global().metrics_prefix(), "sluice");

  ASSERT_EQ(c.frontends_size(), 1);
  const auto& fe = c.frontends(0);
  EXPECT_EQ(fe.mode(), pb::MODE_HTTP);
  EXPECT_EQ(fe.timeouts().client_ms(), 30000u);
  ASSERT_EQ(fe.binds_size(), 2);
  EXPECT_EQ(fe.binds(0).port_first(), 80u);
  EXPECT_EQ(fe.binds(1).address(), "::");
  EXPECT_TRUE(fe.has_default_backend());
  EXPECT_EQ(fe.default_backend(), 0u);

  ASSERT_EQ(c.backends_size(), 1);
  const auto& be = c.backends(0);
  EXPECT_EQ(be.balance(), pb::BALANCE_LEASTCONN);
  EXPECT_EQ(be.retries(), 2u);
  EXPECT_TRUE(be.options().redispatch());
  EXPECT_EQ(be.timeouts().server_ms(), 60000u);
  ASSERT_EQ(be.servers_size(), 2);
  const auto& a = be.servers(0);
  EXPECT_EQ(a.inter_ms(), 500u);      // from default-server
  EXPECT_EQ(a.fastinter_ms(), 500u);  // defaults to inter
  EXPECT_EQ(a.downinter_ms(), 500u);
  EXPECT_EQ(a.fall(), 2u);
  EXPECT_EQ(a.rise(), 2u);  // HAProxy's default
  EXPECT_EQ(a.weight(), 1u);
  const auto& b = be.servers(1);
  EXPECT_TRUE(b.backup());
  EXPECT_EQ(b.weight(), 3u);
  EXPECT_EQ(b.rise(), 5u);
}

TEST(Compiler, HaproxyDefaultsWithoutAnySettings) {
  auto r = compile("backend b\n  server s 127.0.0.1:80 check\n");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& be = r.config.backends(0);
  EXPECT_EQ(be.mode(), pb::MODE_TCP);
  EXPECT_EQ(be.retries(), 3u);
  EXPECT_EQ(be.balance(), pb::BALANCE_ROUNDROBIN);
  EXPECT_EQ(be.servers(0).inter_ms(), 2000u);
  EXPECT_EQ(be.servers(0).fall(), 3u);
  EXPECT_EQ(be.servers(0).error_limit(), 10u);
}

TEST(Compiler, ListenIsAFrontendAndABackendUsingItself) {
  auto r = compile("listen app\n  mode http\n  bind 127.0.0.1:81\n  server s 127.0.0.1:80\n");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  ASSERT_EQ(r.config.frontends_size(), 1);
  ASSERT_EQ(r.config.backends_size(), 1);
  EXPECT_TRUE(r.config.frontends(0).has_default_backend());
  EXPECT_TRUE(r.config.frontends(0).from_listen());
  EXPECT_EQ(r.config.backends(0).name(), "app");
}

TEST(Compiler, OldListenAddressForm) {
  auto r = compile("listen app 127.0.0.1:81\n  server s 127.0.0.1:80\n");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  EXPECT_EQ(r.config.frontends(0).binds(0).port_first(), 81u);
}

TEST(Compiler, NamedDefaultsAndFrom) {
  auto r = compile(R"(defaults web
  mode http
  timeout client 7s
defaults tcp
  mode tcp
frontend f from web
  bind :80
  default_backend b
backend b from web
  server s 127.0.0.1:80
backend t
  server s 127.0.0.1:80
)");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  EXPECT_EQ(r.config.frontends(0).mode(), pb::MODE_HTTP);
  EXPECT_EQ(r.config.frontends(0).timeouts().client_ms(), 7000u);
  EXPECT_EQ(r.config.backends(1).mode(), pb::MODE_TCP);  // the last defaults
}

TEST(Compiler, UnknownDefaultsName) {
  auto r = compile("defaults web\nfrontend f from wbe\n  bind :80\n");
  EXPECT_TRUE(has_error(r, 2, "no defaults section named 'wbe'; did you mean 'web'?"))
      << all_messages(r);
}

TEST(Compiler, ReportsEveryErrorNotOnlyTheFirst) {
  auto r = compile(R"(frontend f
  bind :80
  tiemout client 5s
  maxconn lots
  default_backend nowhere
backend b
  server s 10.0.0.1:80 wieght 3
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, 3,
                        "unknown keyword 'tiemout' in 'frontend' section; did you mean "
                        "'timeout'?"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 4, "'lots' is not an integer")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 5, "unknown backend 'nowhere'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 7, "unknown server option 'wieght'; did you mean 'weight'?"))
      << all_messages(r);
  EXPECT_EQ(r.diag.error_count(), 4u);
  EXPECT_EQ(r.config.frontends_size(), 0);  // nothing half-compiled
}

TEST(Compiler, UnknownBackendSuggestsTheClosestName) {
  auto r = compile("frontend f\n bind :80\n use_backend bk_ap if TRUE\nbackend bk_app\n");
  EXPECT_TRUE(has_error(r, 3, "unknown backend 'bk_ap' in 'use_backend'; did you mean 'bk_app'?"))
      << all_messages(r);
}

TEST(Compiler, DuplicateNames) {
  auto r = compile(R"(frontend a
  bind :80
frontend a
  bind :81
backend a
  server s 1.1.1.1:80
  server s 1.1.1.2:80
listen a
)");
  EXPECT_TRUE(has_error(r, 3, "frontend 'a' has the same name as frontend 'a' declared at t.cfg:1"))
      << all_messages(r);
  EXPECT_FALSE(has_error(r, 5, "same name"));  // a frontend and a backend may share a name
  EXPECT_TRUE(has_error(r, 7, "server 's' is declared twice in backend 'a'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 8, "listen 'a' has the same name as frontend 'a'")) << all_messages(r);
}

TEST(Compiler, ModeMismatchBetweenFrontendAndBackend) {
  auto r = compile(R"(frontend f
  mode tcp
  bind :80
  default_backend b
backend b
  mode http
)");
  EXPECT_TRUE(has_error(r, 4,
                        "frontend 'f' is in mode tcp and cannot use backend 'b', which is "
                        "in mode http"))
      << all_messages(r);
}

TEST(Compiler, HttpRulesInATcpProxyAreErrors) {
  auto r = compile(R"(frontend f
  mode tcp
  bind :80
  http-request set-header X-A b
)");
  EXPECT_TRUE(
      has_error(r, 4, "'http-request' needs 'mode http', but frontend 'f' is in 'mode tcp'"))
      << all_messages(r);
}

TEST(Compiler, ImplicitModeWithHttpRulesRunsAsHttpAndSaysSo) {
  auto r = compile("frontend f\n  bind :80\n  http-request set-header X-A b\n");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  EXPECT_EQ(r.config.frontends(0).mode(), pb::MODE_HTTP);
  EXPECT_TRUE(has_warning(r, 1, "has no 'mode'")) << all_messages(r);
}

TEST(Compiler, KeywordInTheWrongSection) {
  auto r = compile("defaults\n  server s 1.1.1.1:80\nbackend b\n  bind :80\nglobal\n  mode http\n");
  EXPECT_TRUE(has_error(r, 2, "'server' is not allowed in a 'defaults' section"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 4, "'bind' is not allowed in a 'backend' section")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 6, "unknown keyword 'mode' in 'global' section")) << all_messages(r);
}

TEST(Compiler, GlobalKeywordInAProxyIsNamedAsSuch) {
  auto r = compile("frontend f\n  bind :80\n  pidfile /run/x.pid\n");
  EXPECT_TRUE(has_error(r, 3, "'pidfile' belongs in the 'global' section")) << all_messages(r);
}

TEST(Compiler, UnsupportedKeywordsAreRejectedNotIgnored) {
  auto r = compile(R"(global
  ca-base /etc/ssl
frontend f
  bind :443 ssl crt /etc/x.pem
  stick-table type ip size 1m
  option tcp-check
backend b
  server s 1.1.1.1:443 ssl verify none
  tcp-request content accept
resolvers dns
  nameserver a 1.1.1.1:53
)");
  EXPECT_FALSE(has_error(r, 2, "")) << all_messages(r);  // ca-base is known
  EXPECT_TRUE(has_error(r, 4, "cannot read '/etc/x.pem'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 5, "'stick-table' is not supported by sluice")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 6, "'option tcp-check' is not supported by sluice")) << all_messages(r);
  EXPECT_FALSE(has_error(r, 8, "")) << all_messages(r);  // TLS to a server, verify none
  EXPECT_TRUE(has_error(r, 9, "'tcp-request' is not supported by sluice")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 10, "section 'resolvers' is not supported by sluice"))
      << all_messages(r);
  EXPECT_FALSE(has_error(r, 11, ""));  // lines of an unsupported section are skipped
}

TEST(Compiler, TimeoutsAndUnits) {
  auto r = compile(R"(defaults
  timeout connect 5x
  timeout client
  timeout server 1500us
  timeout tarpit 1s
  timeout nope 1s
backend b
)");
  EXPECT_TRUE(has_error(r, 2, "'timeout connect': unknown time unit 'x'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 3, "'timeout client' expects 1 argument (<time>), got 0"))
      << all_messages(r);
  EXPECT_TRUE(has_error(r, 5, "'timeout tarpit' is not supported")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 6, "unknown timeout 'nope'")) << all_messages(r);
}

TEST(Compiler, BindErrors) {
  auto r = compile(R"(frontend f
  bind 127.0.0.1
  bind 1.2.3:80
  bind :80 frobnicate
  bind
)");
  EXPECT_TRUE(has_error(r, 2, "missing port")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 3, "invalid bind address '1.2.3'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 4, "unknown bind option 'frobnicate'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 5, "'bind' expects an address")) << all_messages(r);
}

TEST(Compiler, ServerErrors) {
  auto r = compile(R"(backend b
  server a
  server b 10.0.0.1:99999
  server c 10.0.0.1:80 weight 300
  server d 10.0.0.1:80 inter 0
  server e 10.0.0.1:80 observe layer9
  server f 10.0.0.1:80 rise
)");
  EXPECT_TRUE(has_error(r, 2, "'server' expects a name and an address")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 3, "invalid port '99999'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 4, "out of range (0..256)")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 5, "must be greater than zero")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 6, "'observe' expects layer4 or layer7")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 7, "server option 'rise' expects a number")) << all_messages(r);
}

TEST(Compiler, BalanceForms) {
  auto r = compile(R"(backend a
  balance uri whole depth 3
  hash-type consistent djb2
backend b
  balance url_param userid
backend c
  balance hdr(Host) use_domain_only
backend d
  balance random(3)
backend e
  balance roundrobn
)");
  EXPECT_TRUE(has_error(r, 11,
                        "unknown balance algorithm 'roundrobn'; did you mean "
                        "'roundrobin'?"))
      << all_messages(r);
  EXPECT_EQ(r.diag.error_count(), 1u) << all_messages(r);
}

TEST(Compiler, BalanceFormsCompile) {
  auto r = compile(R"(backend a
  balance uri whole depth 3
  hash-type consistent djb2
backend b
  balance url_param userid
backend c
  balance hdr(Host)
backend d
  balance random(3)
)");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& c = r.config;
  EXPECT_EQ(c.backends(0).balance(), pb::BALANCE_URI);
  EXPECT_TRUE(c.backends(0).balance_uri_whole());
  EXPECT_EQ(c.backends(0).balance_uri_depth(), 3u);
  EXPECT_TRUE(c.backends(0).hash_consistent());
  EXPECT_EQ(c.backends(0).hash_function(), "djb2");
  EXPECT_EQ(c.backends(1).balance_arg(), "userid");
  EXPECT_EQ(c.backends(2).balance(), pb::BALANCE_HDR);
  EXPECT_EQ(c.backends(2).balance_arg(), "Host");
  EXPECT_EQ(c.backends(3).random_draws(), 3u);
}

TEST(Compiler, StatsSocketAndLogTargets) {
  auto r = compile(R"(global
  stats socket /run/sluice.sock mode 660 level operator
  log /dev/log local0
  log 127.0.0.1:1514 len 4096 format rfc5424 local1 notice
  log stdout format raw local0
  log stderr local9
)");
  EXPECT_TRUE(has_error(r, 6, "unknown log facility 'local9'")) << all_messages(r);
  EXPECT_EQ(r.diag.error_count(), 1u) << all_messages(r);
}

TEST(Compiler, StatsSocketValues) {
  auto r = compile(R"(global
  stats socket /run/sluice.sock mode 660 level operator
  log 127.0.0.1:1514 len 4096 format rfc5424 local1 notice
)");
  ASSERT_TRUE(r.ok()) << all_messages(r);
  const auto& g = r.config.global();
  ASSERT_EQ(g.stats_sockets_size(), 1);
  EXPECT_EQ(g.stats_sockets(0).mode(), 0660u);
  EXPECT_EQ(g.stats_sockets(0).level(), "operator");
  ASSERT_EQ(g.logs_size(), 1);
  EXPECT_EQ(g.logs(0).port(), 1514u);
  EXPECT_EQ(g.logs(0).max_length(), 4096u);
  EXPECT_EQ(g.logs(0).format(), pb::LogTarget::FORMAT_RFC5424);
  EXPECT_EQ(g.logs(0).max_level(), "notice");
}

TEST(Compiler, NbthreadWarnsAndWorkersIsSluices) {
  auto r = compile("global\n  nbthread 4\n  workers 0\n");
  EXPECT_TRUE(has_warning(r, 2, "scales with 'workers N'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 3, "out of range (1..256)")) << all_messages(r);
}

TEST(Compiler, LineOutsideAnySection) {
  auto r = compile("bind :80\n");
  EXPECT_TRUE(has_error(r, 1, "appears outside of any section")) << all_messages(r);
}

TEST(Compiler, FrontendWithoutBindWarns) {
  auto r = compile("frontend f\n  mode http\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(has_warning(r, 1, "has no 'bind' line")) << all_messages(r);
}

TEST(Compiler, ErrorfileIsReadAndChecked) {
  auto r = compile("defaults\n  errorfile 503 /nonexistent/503.http\n  errorfile 302 /x\n");
  EXPECT_TRUE(has_error(r, 2, "cannot read error file '/nonexistent/503.http'")) << all_messages(r);
  EXPECT_TRUE(has_error(r, 3, "does not handle status 302")) << all_messages(r);
}

TEST(Compiler, MultipleFilesAndFoldersLoadInOrder) {
  auto dir = std::filesystem::temp_directory_path() / "sluice-compiler-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto write = [&](const char* name, const char* text) { std::ofstream(dir / name) << text; };
  write("20-backend.cfg", "backend b\n  mode http\n  server s 127.0.0.1:80\n");
  write("10-frontend.cfg", "frontend f\n  mode http\n  bind :80\n  default_backend b\n");
  write("notes.txt", "this is not a config\n");
  auto r = compile_files({dir.string()});
  ASSERT_TRUE(r.ok()) << all_messages(r);
  ASSERT_EQ(r.config.files_size(), 2);
  EXPECT_NE(r.config.files(0).find("10-frontend.cfg"), std::string::npos);
  EXPECT_EQ(r.config.frontends(0).default_backend(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(Compiler, MissingFile) {
  auto r = compile_files({"/nonexistent/sluice.cfg"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(all_messages(r).find("cannot open '/nonexistent/sluice.cfg'"), std::string::npos);
}

}  // namespace
}  // namespace sluice::master::config
