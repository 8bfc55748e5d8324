#include "master/config/address.h"

#include <gtest/gtest.h>

namespace sluice::master::config {
namespace {

TEST(Address, BindForms) {
  auto a = parse_bind_endpoint(":80");
  ASSERT_TRUE(a) << a.error;
  EXPECT_EQ(a.value.host, "");
  EXPECT_EQ(a.value.port_first, 80u);

  auto b = parse_bind_endpoint("*:8080");
  ASSERT_TRUE(b);
  EXPECT_EQ(b.value.host, "");

  auto c = parse_bind_endpoint(":::443");
  ASSERT_TRUE(c) << c.error;
  EXPECT_EQ(c.value.host, "::");
  EXPECT_TRUE(c.value.ipv6);
  EXPECT_EQ(c.value.port_first, 443u);

  auto d = parse_bind_endpoint("10.0.0.1:8000-8010");
  ASSERT_TRUE(d);
  EXPECT_EQ(d.value.port_first, 8000u);
  EXPECT_EQ(d.value.port_last, 8010u);

  auto e = parse_bind_endpoint("[::1]:80");
  ASSERT_TRUE(e) << e.error;
  EXPECT_EQ(e.value.host, "::1");

  auto f = parse_bind_endpoint("ipv6@::1:80");
  ASSERT_TRUE(f) << f.error;
  EXPECT_EQ(f.value.host, "::1");

  auto u = parse_bind_endpoint("unix@/run/x.sock");
  ASSERT_TRUE(u);
  EXPECT_EQ(u.value.unix_path, "/run/x.sock");
}

TEST(Address, BadBinds) {
  EXPECT_NE(parse_bind_endpoint("127.0.0.1").error.find("missing port"), std::string::npos);
  EXPECT_NE(parse_bind_endpoint(":99999").error.find("invalid port"), std::string::npos);
  EXPECT_NE(parse_bind_endpoint(":0").error.find("invalid port"), std::string::npos);
  EXPECT_NE(parse_bind_endpoint("300.1.1.1:80").error.find("invalid bind address"),
            std::string::npos);
  EXPECT_NE(parse_bind_endpoint("example.com:80").error.find("invalid bind address"),
            std::string::npos);
  EXPECT_NE(parse_bind_endpoint(":90-80").error.find("ends before it starts"), std::string::npos);
  EXPECT_NE(parse_bind_endpoint("abns@x:80").error.find("not supported"), std::string::npos);
}

TEST(Address, ServerForms) {
  auto a = parse_server_endpoint("bk.dom.com:80");
  ASSERT_TRUE(a);
  EXPECT_EQ(a.value.host, "bk.dom.com");
  EXPECT_FALSE(a.value.numeric);
  auto b = parse_server_endpoint("10.1.2.3");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b.value.has_port);
  EXPECT_TRUE(b.value.numeric);
  // As in HAProxy, the last colon is the port: IPv6 without a port needs brackets.
  auto c = parse_server_endpoint("2001:db8::10:8080");
  ASSERT_TRUE(c) << c.error;
  EXPECT_EQ(c.value.host, "2001:db8::10");
  EXPECT_EQ(c.value.port_first, 8080u);
  auto c2 = parse_server_endpoint("[::1]");
  ASSERT_TRUE(c2) << c2.error;
  EXPECT_TRUE(c2.value.ipv6);
  EXPECT_FALSE(c2.value.has_port);
  EXPECT_FALSE(parse_server_endpoint("::1"));
  auto d = parse_server_endpoint("[2001:db8::1]:8443");
  ASSERT_TRUE(d) << d.error;
  EXPECT_EQ(d.value.port_first, 8443u);
  EXPECT_FALSE(parse_server_endpoint("bad host:80"));
  EXPECT_FALSE(parse_server_endpoint("h:port"));
  EXPECT_FALSE(parse_server_endpoint("h:+10"));
}

TEST(Address, IpNetworks) {
  auto a = parse_ip_net("10.0.0.0/8");
  ASSERT_TRUE(a);
  EXPECT_EQ(a.value.prefix(), 8u);
  EXPECT_EQ(a.value.address().size(), 4u);
  auto b = parse_ip_net("192.168.0.0/255.255.0.0");
  ASSERT_TRUE(b) << b.error;
  EXPECT_EQ(b.value.prefix(), 16u);
  auto c = parse_ip_net("::1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c.value.prefix(), 128u);
  EXPECT_FALSE(parse_ip_net("10.0.0.0/33"));
  EXPECT_FALSE(parse_ip_net("10.0.0.0/255.0.255.0"));
  EXPECT_FALSE(parse_ip_net("nope"));
}

}  // namespace
}  // namespace sluice::master::config
