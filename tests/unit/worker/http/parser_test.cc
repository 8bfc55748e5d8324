#include "worker/http/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace sluice::worker::http {
namespace {

using namespace std::string_literals;

const char* kinds[] = {"incomplete", "complete", "error"};

std::string describe(const parse_result& r) {
  std::string s = kinds[static_cast<int>(r.status)];
  if (r.status == parse_status::complete) s += " consumed=" + std::to_string(r.consumed);
  if (r.status == parse_status::error) s += " " + std::to_string(r.http_status) + " " + r.why;
  return s;
}

// Feeds growing prefixes, as a session does, and returns the first answer that is not
// "incomplete" (or the last one). Every earlier answer must have been "incomplete".
template <class Parse>
parse_result feed_prefixes(std::string_view in, Parse&& parse) {
  parse_result r;
  for (size_t n = 1; n <= in.size(); ++n) {
    r = parse(in.substr(0, n));
    if (r.status != parse_status::incomplete) {
      if (r.status == parse_status::complete) {
        EXPECT_EQ(r.consumed, n) << "prefix " << n;
      }
      return r;
    }
  }
  return r;
}

parse_result parse_req(std::string_view in, request& out, const limits& lim = {}) {
  return parse_request(in, lim, out);
}

parse_result parse_resp(std::string_view in, response& out, request_context ctx = {},
                        const limits& lim = {}) {
  return parse_response(in, lim, ctx, out);
}

std::string many_fields(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "X-" + std::to_string(i) + ": a\r\n";
  return s;
}

struct bad_case {
  const char* name;
  std::string input;
  unsigned status;
};

// Refused requests; the statuses are HAProxy 2.6's unless docs/http.md lists a difference.
std::vector<bad_case> bad_requests() {
  const std::string post = "POST / HTTP/1.1\r\nHost: a\r\n";
  return {
      {"version 1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
      {"version 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"version 0.9", "GET / HTTP/0.9\r\n\r\n", 505},
      {"http/0.9 request line", "GET /\r\n\r\n", 400},
      {"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
      {"two-digit minor", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
      {"no minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400},
      {"other protocol", "GET / FOO/1.1\r\nHost: a\r\n\r\n", 400},
      {"space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
      {"two spaces after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"two spaces before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"bad method byte", "G(ET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"space in path", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"tab in path", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"utf-8 in path", "GET /a\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"DEL in path", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"NUL in path", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"s, 400},
      {"fragment in path", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"bare CR line end", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
      {"CR CR LF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400},
      {"CR then garbage before request", "\r\rGET / HTTP/1.1\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"empty name", "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400},
      {"no colon", "GET / HTTP/1.1\r\nHost: a\r\nXYZ\r\n\r\n", 400},
      {"bad name byte", "GET / HTTP/1.1\r\nHost: a\r\nX(A: b\r\n\r\n", 400},
      {"utf-8 in name", "GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: a\r\n\r\n", 400},
      {"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: o\0e\r\n\r\n"s, 400},
      {"CR in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: o\re\r\n\r\n", 400},
      {"DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: o\x7f\r\n\r\n", 400},
      {"SOH in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: o\x01\r\n\r\n", 400},
      {"obs-fold first", "GET / HTTP/1.1\r\n X-A: one\r\nHost: a\r\n\r\n", 400},
      {"two equal Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
      {"two different Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"authority differs", "GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"userinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"https authority differs", "GET https://a/ HTTP/1.1\r\nHost: b\r\n\r\n", 400},
      {"port differs", "GET http://a:8080/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"CL plus sign", post + "Content-Length: +2\r\n\r\n", 400},
      {"CL empty", post + "Content-Length: \r\n\r\n", 400},
      {"CL empty element", post + "Content-Length: 2,,2\r\n\r\n", 400},
      {"CL trailing comma", post + "Content-Length: 2,\r\n\r\n", 400},
      {"CL inner space", post + "Content-Length: 1 2\r\n\r\n", 400},
      {"CL negative", post + "Content-Length: -1\r\n\r\n", 400},
      {"CL hex", post + "Content-Length: 0x10\r\n\r\n", 400},
      {"CL differ", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
      {"CL list differ", post + "Content-Length: 5, 6\r\n\r\n", 400},
      {"CL 2^63", post + "Content-Length: 9223372036854775808\r\n\r\n", 400},
      {"CL 20 digits", post + "Content-Length: 99999999999999999999\r\n\r\n", 400},
      {"CL bad next to TE", post + "Content-Length: abc\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"TE gzip only", post + "Transfer-Encoding: gzip\r\n\r\n", 400},
      {"TE chunked not last", post + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"TE chunked twice", post + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
      {"TE chunked in two fields",
       post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE unknown", post + "Transfer-Encoding: foo\r\n\r\n", 400},
      {"TE empty", post + "Transfer-Encoding: \r\n\r\n", 400},
      {"TE identity", post + "Transfer-Encoding: identity\r\n\r\n", 400},
      {"TE with parameter", post + "Transfer-Encoding: chunked;q=1\r\n\r\n", 400},
      {"TE xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n", 400},
      {"TE gzip before chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 422},
      {"TE gzip field then chunked field",
       post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 422},
      {"101 fields", "GET / HTTP/1.1\r\nHost: a\r\n" + many_fields(100) + "\r\n", 400},
      {"head too large", "GET / HTTP/1.1\r\nX: " + std::string(16000, 'a') + "\r\n\r\n", 400},
      {"request line too large", "GET /" + std::string(15400, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n",
       400},
      {"request line too large, unfinished", "GET /" + std::string(16000, 'a'), 400},
      {"empty lines past the limit", std::string(20000, '\n'), 400},
      {"empty target", "GET  HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"binary garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},
  };
}

TEST(ParseRequestBad, EveryCaseHasItsStatus) {
  auto cases = bad_requests();
  ASSERT_GE(cases.size(), 35u);
  for (const auto& c : cases) {
    request r;
    parse_result res = parse_req(c.input, r);
    EXPECT_EQ(res.status, parse_status::error) << c.name << ": " << describe(res);
    EXPECT_EQ(res.http_status, c.status) << c.name << ": " << res.why;
    EXPECT_STRNE(res.why, "") << c.name;
  }
}

TEST(ParseRequestBad, ByteByByteGivesTheSameStatus) {
  for (const auto& c : bad_requests()) {
    request r;
    parse_result res = feed_prefixes(c.input, [&](std::string_view p) { return parse_req(p, r); });
    EXPECT_EQ(res.status, parse_status::error) << c.name << ": " << describe(res);
    EXPECT_EQ(res.http_status, c.status) << c.name;
  }
}

// Errors in the bytes already received are reported without waiting for the head's end.
TEST(ParseRequestBad, RefusedBeforeTheHeadIsComplete) {
  request r;
  EXPECT_EQ(parse_req("G(", r).status, parse_status::error);
  EXPECT_EQ(parse_req("GET /a\tb", r).status, parse_status::error);
  EXPECT_EQ(parse_req("GET / HTTP/1.1\r\nX-A: o\x01", r).status, parse_status::error);
  parse_result v = parse_req("GET / HTTP/2.0\r\n", r);
  EXPECT_EQ(v.status, parse_status::error);
  EXPECT_EQ(v.http_status, 505u);
  EXPECT_EQ(parse_req("GET / HTTP/1.1\r\nHost: a\r\n", r).status, parse_status::incomplete);
}

TEST(ParseRequestBad, HeadLimitIsExact) {
  limits lim;
  lim.max_head = 64;
  std::string head = "GET / HTTP/1.1\r\nX: ";
  std::string tail = "\r\n\r\n";
  std::string exact = head + std::string(lim.max_head - head.size() - tail.size(), 'a') + tail;
  ASSERT_EQ(exact.size(), lim.max_head);
  request r;
  parse_result ok = parse_req(exact + "GET", r, lim);
  EXPECT_EQ(ok.status, parse_status::complete) << describe(ok);
  EXPECT_EQ(ok.consumed, lim.max_head);

  std::string over = head + std::string(lim.max_head - head.size() - tail.size() + 1, 'a') + tail;
  EXPECT_EQ(parse_req(over, r, lim).status, parse_status::error);
  // Unfinished: still waiting at max_head bytes, refused at one more.
  EXPECT_EQ(parse_req(over.substr(0, lim.max_head), r, lim).status, parse_status::incomplete);
  EXPECT_EQ(parse_req(over.substr(0, lim.max_head + 1), r, lim).status, parse_status::error);
}

TEST(ParseRequestBad, FieldCountFollowsMaxHeaders) {
  request r;
  std::string hundred = "GET / HTTP/1.1\r\nHost: a\r\n" + many_fields(99) + "\r\n";
  EXPECT_EQ(parse_req(hundred, r).status, parse_status::complete);
  EXPECT_EQ(r.headers.fields.size(), 100u);
  limits lim;
  lim.max_headers = 3;
  EXPECT_EQ(parse_req("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", r, lim).status,
            parse_status::complete);
  EXPECT_EQ(parse_req("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", r, lim).status,
            parse_status::error);
  // obs-fold continues a field; it is not one more.
  EXPECT_EQ(parse_req("GET / HTTP/1.1\r\nA: 1\r\n 1\r\nB: 2\r\n\r\n", r, lim).status,
            parse_status::complete);
}

struct good_case {
  const char* name;
  std::string input;
};

std::vector<good_case> good_requests() {
  return {
      {"simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"bare LF", "GET / HTTP/1.1\nHost: a\n\n"},
      {"mixed line ends", "GET / HTTP/1.1\nHost: a\r\nX: b\n\r\n"},
      {"empty lines first", "\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n  two\r\n\r\n"},
      {"post", "POST /p?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"},
      {"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"http/1.0", "GET / HTTP/1.0\r\n\r\n"},
      {"absolute-form", "GET http://A:80/x?y HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"utf-8 value", "GET / HTTP/1.1\r\nHost: a\r\nX: \xc3\xa9t\xc3\xa9\r\n\r\n"},
  };
}

TEST(ParseRequestGood, ByteByByteGivesTheSameResult) {
  for (const auto& c : good_requests()) {
    request whole;
    parse_result a = parse_req(c.input, whole);
    ASSERT_EQ(a.status, parse_status::complete) << c.name << ": " << describe(a);
    request piecewise;
    parse_result b =
        feed_prefixes(c.input, [&](std::string_view p) { return parse_req(p, piecewise); });
    ASSERT_EQ(b.status, parse_status::complete) << c.name;
    EXPECT_EQ(a.consumed, b.consumed) << c.name;
    std::string sa, sb;
    serialize(whole, sa);
    serialize(piecewise, sb);
    EXPECT_EQ(sa, sb) << c.name;
    EXPECT_EQ(whole.body, piecewise.body) << c.name;
  }
}

TEST(ParseRequestGood, SimpleGet) {
  request r;
  std::string in = "GET /index.html?a=b HTTP/1.1\r\nHost: example.com\r\nAccept:  */* \t\r\n\r\n";
  parse_result res = parse_req(in, r);
  ASSERT_EQ(res.status, parse_status::complete) << describe(res);
  EXPECT_EQ(res.consumed, in.size());
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/index.html?a=b");
  EXPECT_EQ(r.version_minor, 1u);
  ASSERT_EQ(r.headers.fields.size(), 2u);
  EXPECT_EQ(r.headers.fields[0].name, "Host");
  EXPECT_EQ(r.headers.fields[0].value, "example.com");
  EXPECT_EQ(r.headers.fields[1].value, "*/*");
  EXPECT_EQ(r.body, body_kind::none);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.close_after);
  EXPECT_FALSE(r.upgrade);
  EXPECT_FALSE(r.expect_continue);
}

TEST(ParseRequestGood, PipelinedConsumesOnlyTheFirstHead) {
  std::string first = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
  std::string in = first + "abcGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  request r;
  parse_result res = parse_req(in, r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.consumed, first.size());
  EXPECT_EQ(r.target, "/a");
  EXPECT_EQ(r.body, body_kind::length);
  EXPECT_EQ(r.content_length, 3u);
  res = parse_req(std::string_view(in).substr(first.size() + 3), r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(r.target, "/b");
  EXPECT_EQ(r.body, body_kind::none);
}

TEST(ParseRequestGood, EmptyLinesBeforeTheRequestLineAreCounted) {
  std::string in = "\r\n\n\r\nGET / HTTP/1.1\r\n\r\n";
  request r;
  parse_result res = parse_req(in, r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.consumed, in.size());
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(parse_req("\r\n\r\n", r).status, parse_status::incomplete);
  // Leading empty lines look like the end of a head; the head after them is still awaited.
  EXPECT_EQ(parse_req("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n", r).status, parse_status::incomplete);
  EXPECT_EQ(parse_req("\n\nGET / HTTP/1.1\r\nHost: a\r\n\r", r).status, parse_status::incomplete);
}

TEST(ParseRequestGood, LfOnly) {
  std::string in = "GET / HTTP/1.1\nHost: a\nX: b \n\n";
  request r;
  parse_result res = parse_req(in + "tail", r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.consumed, in.size());
  ASSERT_EQ(r.headers.fields.size(), 2u);
  EXPECT_EQ(r.headers.fields[1].value, "b");
}

TEST(ParseRequestGood, ObsFoldJoinsWithOneSpace) {
  request r;
  ASSERT_EQ(
      parse_req("GET / HTTP/1.1\r\nX-A: one \r\n  two\r\n\tthree \r\n \r\nB: c\r\n\r\n", r).status,
      parse_status::complete);
  ASSERT_EQ(r.headers.fields.size(), 2u);
  EXPECT_EQ(r.headers.fields[0].value, "one two three");
  EXPECT_EQ(r.headers.fields[1].value, "c");
  ASSERT_EQ(parse_req("GET / HTTP/1.1\r\nX-A:\r\n two\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.headers.fields[0].value, "two");
}

TEST(ParseRequestGood, Http10) {
  request r;
  ASSERT_EQ(parse_req("GET / HTTP/1.0\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.version_minor, 0u);
  EXPECT_FALSE(r.keep_alive);
  ASSERT_EQ(parse_req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_TRUE(r.keep_alive);
  ASSERT_EQ(
      parse_req("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", r).status,
      parse_status::complete);
  EXPECT_FALSE(r.keep_alive);
  ASSERT_EQ(
      parse_req("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", r).status,
      parse_status::complete);
  EXPECT_FALSE(r.expect_continue);
  ASSERT_EQ(parse_req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.body, body_kind::chunked);
  EXPECT_TRUE(r.close_after);
}

TEST(ParseRequestGood, ConnectionTokens) {
  request r;
  ASSERT_EQ(parse_req("GET / HTTP/1.1\r\nConnection: foo, CLOSE\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_FALSE(r.keep_alive);
  ASSERT_EQ(parse_req("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_TRUE(r.keep_alive);
  ASSERT_EQ(parse_req("GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n"
                      "Upgrade: websocket\r\n\r\n",
                      r)
                .status,
            parse_status::complete);
  EXPECT_TRUE(r.upgrade);
  EXPECT_TRUE(r.keep_alive);
  ASSERT_EQ(parse_req("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_FALSE(r.upgrade);
  ASSERT_EQ(parse_req("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_FALSE(r.upgrade);
}

TEST(ParseRequestGood, ExpectContinue) {
  request r;
  ASSERT_EQ(
      parse_req("PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n", r).status,
      parse_status::complete);
  EXPECT_TRUE(r.expect_continue);
  ASSERT_EQ(parse_req("PUT / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 9\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_FALSE(r.expect_continue);
}

TEST(ParseRequestGood, ContentLengthAndTransferEncodingChunkedWins) {
  request r;
  std::string in =
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
      "content-length: 5\r\n\r\n";
  ASSERT_EQ(parse_req(in, r).status, parse_status::complete);
  EXPECT_EQ(r.body, body_kind::chunked);
  EXPECT_EQ(r.headers.count("Content-Length"), 0u);
  EXPECT_EQ(r.headers.fields.size(), 2u);
  EXPECT_TRUE(r.close_after);
  EXPECT_TRUE(r.keep_alive);
}

TEST(ParseRequestGood, ChunkedSpellings) {
  request r;
  for (const char* te : {"chunked", "CHUNKED", "chunked ,", ", chunked", " Chunked\t"}) {
    std::string in = "POST / HTTP/1.1\r\nTransfer-Encoding: "s + te + "\r\n\r\n";
    parse_result res = parse_req(in, r);
    ASSERT_EQ(res.status, parse_status::complete) << te << ": " << describe(res);
    EXPECT_EQ(r.body, body_kind::chunked) << te;
    EXPECT_FALSE(r.close_after) << te;
  }
}

TEST(ParseRequestGood, EqualContentLengthsCollapse) {
  request r;
  for (const char* cl : {"Content-Length: 2\r\nContent-Length: 2\r\n", "Content-Length: 2, 2\r\n",
                         "Content-Length: 2 ,2\r\ncontent-length: 02\r\n", "Content-Length: 02\r\n",
                         "Content-Length: 2,\r\n 2\r\n"}) {
    std::string in = "POST / HTTP/1.1\r\nHost: a\r\n"s + cl + "X: y\r\n\r\n";
    parse_result res = parse_req(in, r);
    ASSERT_EQ(res.status, parse_status::complete) << cl << describe(res);
    EXPECT_EQ(r.body, body_kind::length);
    EXPECT_EQ(r.content_length, 2u);
    EXPECT_EQ(r.headers.count("content-length"), 1u) << cl;
    ASSERT_EQ(r.headers.fields.size(), 3u) << cl;
    EXPECT_EQ(r.headers.fields[1].value, "2") << cl;
    EXPECT_EQ(r.headers.fields[2].name, "X") << cl;
  }
  // A single canonical field is left as it was.
  ASSERT_EQ(parse_req("POST / HTTP/1.1\r\ncontent-LENGTH: 7\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.headers.fields[0].name, "content-LENGTH");
}

TEST(ParseRequestGood, ContentLengthLimits) {
  request r;
  ASSERT_EQ(parse_req("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.body, body_kind::none);
  EXPECT_EQ(r.content_length, 0u);
  EXPECT_EQ(r.headers.count("Content-Length"), 1u);
  ASSERT_EQ(parse_req("POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.body, body_kind::length);
  EXPECT_EQ(r.content_length, 9223372036854775807ull);
}

TEST(ParseRequestGood, AbsoluteForm) {
  request r;
  ASSERT_EQ(parse_req("GET HTTP://Example.COM:80/p/q?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", r)
                .status,
            parse_status::complete);
  EXPECT_EQ(r.path(), "/p/q");
  EXPECT_EQ(r.query(), "x=1");
  EXPECT_EQ(r.authority(), "Example.COM:80");
  ASSERT_EQ(parse_req("GET https://a/ HTTP/1.1\r\nHost: a:443\r\n\r\n", r).status,
            parse_status::complete);
  ASSERT_EQ(parse_req("GET http://a:81/ HTTP/1.1\r\nHost: A:81\r\n\r\n", r).status,
            parse_status::complete);
  ASSERT_EQ(parse_req("GET http://b HTTP/1.1\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.path(), "/");
  EXPECT_FALSE(r.has_query());
}

TEST(ParseRequestGood, OtherTargetForms) {
  request r;
  ASSERT_EQ(parse_req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.target, "*");
  EXPECT_EQ(r.path(), "");
  ASSERT_EQ(parse_req("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.authority(), "a:443");
  EXPECT_EQ(r.path(), "");
}

TEST(ParseRequestGood, NoHostIsAccepted) {
  request r;
  EXPECT_EQ(parse_req("GET / HTTP/1.1\r\n\r\n", r).status, parse_status::complete);
}

TEST(ParseRequestGood, RoundTripThroughSerialize) {
  request r;
  ASSERT_EQ(parse_req("GET /x HTTP/1.1\nHost: a\nX-A: one\n two\n\n", r).status,
            parse_status::complete);
  std::string out;
  serialize(r, out);
  EXPECT_EQ(out, "GET /x HTTP/1.1\r\nHost: a\r\nX-A: one two\r\n\r\n");
  request again;
  parse_result res = parse_req(out, again);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.consumed, out.size());
}

// Responses.

std::vector<bad_case> bad_responses() {
  const std::string ok = "HTTP/1.1 200 OK\r\n";
  return {
      {"version 1.2", "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", 502},
      {"version 2.0", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", 502},
      {"lowercase version", "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 502},
      {"status 99", "HTTP/1.1 099 OK\r\n\r\n", 502},
      {"status 600", "HTTP/1.1 600 OK\r\n\r\n", 502},
      {"four digits", "HTTP/1.1 2000 OK\r\n\r\n", 502},
      {"two digits", "HTTP/1.1 20 OK\r\n\r\n", 502},
      {"letters", "HTTP/1.1 abc OK\r\n\r\n", 502},
      {"no space before reason", "HTTP/1.1 200OK\r\n\r\n", 502},
      {"two spaces", "HTTP/1.1  200 OK\r\n\r\n", 502},
      {"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", 502},
      {"http/0.9 body", "hello", 502},
      {"CL differ", ok + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n", 502},
      {"CL negative", ok + "Content-Length: -1\r\n\r\n", 502},
      {"TE gzip", ok + "Transfer-Encoding: gzip\r\n\r\n", 502},
      {"TE gzip, chunked", ok + "Transfer-Encoding: gzip, chunked\r\n\r\n", 502},
      {"TE chunked, gzip", ok + "Transfer-Encoding: chunked, gzip\r\n\r\n", 502},
      {"NUL in value", ok + "X: a\0b\r\n\r\n"s, 502},
      {"CR in value", ok + "X: a\rb\r\n\r\n", 502},
      {"bad name", ok + "X Y: a\r\n\r\n", 502},
      {"obs-fold first", ok + " X: a\r\n\r\n", 502},
      {"101 fields", ok + many_fields(101) + "\r\n", 502},
      {"head too large", ok + "X: " + std::string(16000, 'a') + "\r\n\r\n", 502},
  };
}

TEST(ParseResponseBad, EveryCaseIs502) {
  auto cases = bad_responses();
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    response r;
    parse_result res = parse_resp(c.input, r);
    EXPECT_EQ(res.status, parse_status::error) << c.name << ": " << describe(res);
    EXPECT_EQ(res.http_status, c.status) << c.name;
    response piecewise;
    res = feed_prefixes(c.input, [&](std::string_view p) { return parse_resp(p, piecewise); });
    EXPECT_EQ(res.status, parse_status::error) << c.name << " (byte by byte)";
    EXPECT_EQ(res.http_status, c.status) << c.name << " (byte by byte)";
  }
}

TEST(ParseResponseGood, LengthAndKeepAlive) {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
  response r;
  parse_result res = parse_resp(head + "okHTTP/1.1", r);
  ASSERT_EQ(res.status, parse_status::complete) << describe(res);
  EXPECT_EQ(res.consumed, head.size());
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.body, body_kind::length);
  EXPECT_EQ(r.content_length, 2u);
  EXPECT_TRUE(r.keep_alive);

  response piecewise;
  res = feed_prefixes(head, [&](std::string_view p) { return parse_resp(p, piecewise); });
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(piecewise.content_length, 2u);
}

TEST(ParseResponseGood, UntilClose) {
  response r;
  ASSERT_EQ(parse_resp("HTTP/1.1 200 OK\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.body, body_kind::until_close);
  EXPECT_FALSE(r.keep_alive);
}

TEST(ParseResponseGood, BodilessStatuses) {
  for (unsigned status : {100u, 101u, 103u, 204u, 304u}) {
    response r;
    std::string in = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 5\r\n\r\n";
    ASSERT_EQ(parse_resp(in, r).status, parse_status::complete) << status;
    EXPECT_EQ(r.body, body_kind::none) << status;
    EXPECT_EQ(r.status, status);
  }
  response r;
  ASSERT_EQ(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", r, {.head = true}).status,
            parse_status::complete);
  EXPECT_EQ(r.body, body_kind::none);
  EXPECT_TRUE(r.keep_alive);
  ASSERT_EQ(parse_resp("HTTP/1.1 200 Connected\r\n\r\n", r, {.connect = true}).status,
            parse_status::complete);
  EXPECT_EQ(r.body, body_kind::none);
  ASSERT_EQ(parse_resp("HTTP/1.1 407 No\r\nContent-Length: 3\r\n\r\n", r, {.connect = true}).status,
            parse_status::complete);
  EXPECT_EQ(r.body, body_kind::length);
}

TEST(ParseResponseGood, SwitchingProtocols) {
  response r;
  std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n";
  parse_result res = parse_resp(head + "\x81\x05hello", r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.consumed, head.size());
  EXPECT_EQ(r.body, body_kind::none);
}

TEST(ParseResponseGood, ChunkedAndLength) {
  response r;
  ASSERT_EQ(
      parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n", r)
          .status,
      parse_status::complete);
  EXPECT_EQ(r.body, body_kind::chunked);
  EXPECT_EQ(r.headers.count("Content-Length"), 0u);
  EXPECT_TRUE(r.close_after);
}

TEST(ParseResponseGood, Http10) {
  response r;
  ASSERT_EQ(parse_resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.version_minor, 0u);
  EXPECT_FALSE(r.keep_alive);
  ASSERT_EQ(parse_resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", r)
                .status,
            parse_status::complete);
  EXPECT_TRUE(r.keep_alive);
  ASSERT_EQ(
      parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", r).status,
      parse_status::complete);
  EXPECT_FALSE(r.keep_alive);
}

TEST(ParseResponseGood, EmptyReasonAndLenientLines) {
  response r;
  ASSERT_EQ(parse_resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.reason, "");
  EXPECT_EQ(r.body, body_kind::none);
  ASSERT_EQ(parse_resp("HTTP/1.1 404 \r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.reason, "");
  std::string in = "\r\nHTTP/1.1 200 Very OK\nContent-Length: 0\n\n";
  parse_result res = parse_resp(in, r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.consumed, in.size());
  EXPECT_EQ(r.reason, "Very OK");
}

}  // namespace
}  // namespace sluice::worker::http
