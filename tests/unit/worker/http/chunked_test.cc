#include "worker/http/chunked.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace sluice::worker::http {
namespace {

using namespace std::string_literals;
using st = chunked_decoder::status;

struct outcome {
  st status = st::more;
  size_t consumed = 0;  // over the whole input
  uint64_t payload = 0;
};

// Feeds `in` cut at `cuts` (sorted offsets) and stops at the first answer that is not
// "more", as a session does.
outcome feed_split(std::string_view in, const std::vector<size_t>& cuts,
                   chunked_decoder d = chunked_decoder()) {
  outcome o;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(in.size());
  for (size_t end : ends) {
    auto r = d.feed(in.substr(from, end - from));
    if (r.st != st::more) {
      o.status = r.st;
      o.consumed = from + r.consumed;
      o.payload = d.payload_bytes();
      return o;
    }
    EXPECT_EQ(r.consumed, end - from);
    from = end;
  }
  o.consumed = in.size();
  o.payload = d.payload_bytes();
  return o;
}

outcome feed_whole(std::string_view in, chunked_decoder d = chunked_decoder()) {
  return feed_split(in, {}, d);
}

std::vector<size_t> every_byte(size_t n) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < n; ++i) cuts.push_back(i);
  return cuts;
}

TEST(Chunked, SimpleBody) {
  std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  auto o = feed_whole(body + "GET / HTTP/1.1\r\n");
  EXPECT_EQ(o.status, st::done);
  EXPECT_EQ(o.consumed, body.size());
  EXPECT_EQ(o.payload, 11u);
}

TEST(Chunked, NeedsMoreUntilTheFinalLine) {
  std::string body = "5\r\nhello\r\n0\r\n\r\n";
  for (size_t n = 0; n < body.size(); ++n) {
    chunked_decoder d;
    auto r = d.feed(std::string_view(body).substr(0, n));
    EXPECT_EQ(r.st, st::more) << n;
    EXPECT_EQ(r.consumed, n);
  }
}

TEST(Chunked, ExtensionsTrailersAndHexCase) {
  std::string body =
      "A;name=value;x=\"q d\"\r\n0123456789\r\nf \t;ext\r\n0123456789abcde\r\n"
      "0;last\r\nX-Trailer: a\r\nY: b\r\n c\r\n\r\n";
  auto o = feed_whole(body + "next");
  EXPECT_EQ(o.status, st::done);
  EXPECT_EQ(o.consumed, body.size());
  EXPECT_EQ(o.payload, 25u);
}

TEST(Chunked, BareLfEndsSizeAndTrailerLines) {
  std::string body = "2\nhi\r\n0\nX: y\n\n";
  auto o = feed_whole(body + "tail");
  EXPECT_EQ(o.status, st::done);
  EXPECT_EQ(o.consumed, body.size());
  EXPECT_EQ(o.payload, 2u);
}

TEST(Chunked, LargestSizesAndLeadingZeros) {
  chunked_decoder d;
  EXPECT_EQ(d.feed("7fffffffffffffff\r\nabc").st, st::more);
  EXPECT_EQ(d.payload_bytes(), 3u);
  EXPECT_EQ(feed_whole("0000000000000002\r\nhi\r\n0\r\n\r\n").status, st::done);
}

TEST(Chunked, AfterDoneFeedsNothing) {
  chunked_decoder d;
  EXPECT_EQ(d.feed("0\r\n\r\n").st, st::done);
  auto r = d.feed("1\r\nx\r\n");
  EXPECT_EQ(r.st, st::done);
  EXPECT_EQ(r.consumed, 0u);
  d.reset();
  EXPECT_EQ(d.payload_bytes(), 0u);
  EXPECT_EQ(d.feed("1\r\nx\r\n").st, st::more);
  EXPECT_EQ(d.payload_bytes(), 1u);
}

TEST(Chunked, ErrorIsFinal) {
  chunked_decoder d;
  EXPECT_EQ(d.feed("z").st, st::error);
  EXPECT_STREQ(d.why(), "bad chunk size");
  EXPECT_EQ(d.feed("0\r\n\r\n").st, st::error);
}

struct bad_body {
  const char* name;
  std::string input;
  const char* why;
};

std::vector<bad_body> bad_bodies() {
  return {
      {"data end bare LF", "2\r\nhi\n0\r\n\r\n", "bad chunk data end"},
      {"data end garbage", "2\r\nhiXX0\r\n\r\n", "bad chunk data end"},
      {"data longer than size", "2\r\nhello\r\n0\r\n\r\n", "bad chunk data end"},
      {"data end CR only", "2\r\nhi\r0\r\n\r\n", "bad chunk data end"},
      {"space before size", " 2\r\nhi\r\n0\r\n\r\n", "bad chunk size"},
      {"empty size", "\r\nhi\r\n0\r\n\r\n", "bad chunk size"},
      {"0x prefix", "0x2\r\nhi\r\n0\r\n\r\n", "bad chunk size"},
      {"negative", "-2\r\nhi\r\n0\r\n\r\n", "bad chunk size"},
      {"not hex", "g\r\nhi\r\n0\r\n\r\n", "bad chunk size"},
      {"digits after space", "1 2\r\nhi\r\n0\r\n\r\n", "bad chunk size"},
      {"17 digits", "00000000000000002\r\nhi\r\n0\r\n\r\n", "chunk size too large"},
      {"2^63", "8000000000000000\r\n", "chunk size too large"},
      {"all ones", "ffffffffffffffff\r\n", "chunk size too large"},
      {"control in extension", "2;a\x01z\r\nhi\r\n0\r\n\r\n", "bad chunk extension"},
      {"NUL in extension", "2;a\0\r\nhi\r\n0\r\n\r\n"s, "bad chunk extension"},
      {"bare CR in extension", "2;a\rb\r\nhi\r\n0\r\n\r\n", "bad chunk size line end"},
      {"CR CR LF after size", "2\r\r\nhi\r\n0\r\n\r\n", "bad chunk size line end"},
      {"bad trailer name", "0\r\nX T: a\r\n\r\n", "bad trailer field"},
      {"trailer without colon", "0\r\nXT\r\n\r\n", "bad trailer field"},
      {"NUL in trailer", "0\r\nX: a\0\r\n\r\n"s, "bad trailer field"},
      {"obs-fold first trailer", "0\r\n X: a\r\n\r\n", "bad trailer field"},
      {"bare CR in trailer", "0\r\nX: a\rb\r\n\r\n", "bad trailer field"},
      {"final CR without LF", "0\r\n\rX", "bad final line end"},
      {"size line too long", "2;" + std::string(5000, 'a') + "\r\nhi\r\n0\r\n\r\n",
       "chunk line too long"},
      {"trailer line too long", "0\r\nX: " + std::string(5000, 'a') + "\r\n\r\n",
       "trailer line too long"},
  };
}

TEST(Chunked, BadBodies) {
  for (const auto& c : bad_bodies()) {
    chunked_decoder d;
    auto r = d.feed(c.input);
    EXPECT_EQ(r.st, st::error) << c.name;
    EXPECT_STREQ(d.why(), c.why) << c.name;
    auto bytewise = feed_split(c.input, every_byte(c.input.size()));
    EXPECT_EQ(bytewise.status, st::error) << c.name << " (byte by byte)";
  }
}

TEST(Chunked, TrailerSectionIsBounded) {
  std::string trailers;
  for (int i = 0; i < 10; ++i)
    trailers += "T" + std::to_string(i) + ": " + std::string(3000, 'v') + "\r\n";
  chunked_decoder d;
  EXPECT_EQ(d.feed("0\r\n" + trailers + "\r\n").st, st::error);
  EXPECT_STREQ(d.why(), "trailers too large");
  chunked_decoder roomy(4096, 64 * 1024);
  EXPECT_EQ(roomy.feed("0\r\n" + trailers + "\r\n").st, st::done);
}

TEST(Chunked, LineLimitIsExact) {
  chunked_decoder d(8, 64);
  EXPECT_EQ(d.feed("1;abcd\r\nx\r\n").st, st::more);  // 8 bytes with CRLF
  EXPECT_EQ(d.feed("1;abcde\r\n").st, st::error);
}

// Any split of the input gives the same answer: every single cut, every pair of cuts, and
// one byte at a time.
TEST(Chunked, AnySplitGivesTheSameAnswer) {
  const std::vector<std::string> samples = {
      "5\r\nhello\r\n0\r\n\r\n",
      "3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n w\r\n\r\nNEXT",
      "2\nhi\r\n0\nX: y\n\nrest",
      "1\r\nx\r\n0\r\n\r\r",
      "2\r\nhi\n0\r\n\r\n",
      "0\r\nX: a\r\n\r",
  };
  for (const auto& s : samples) {
    outcome whole = feed_whole(s);
    outcome bytewise = feed_split(s, every_byte(s.size()));
    EXPECT_EQ(bytewise.status, whole.status) << s;
    if (whole.status != st::error) {
      EXPECT_EQ(bytewise.consumed, whole.consumed) << s;
    }
    EXPECT_EQ(bytewise.payload, whole.payload) << s;
    for (size_t i = 0; i <= s.size(); ++i) {
      for (size_t j = i; j <= s.size(); ++j) {
        outcome o = feed_split(s, {i, j});
        ASSERT_EQ(o.status, whole.status) << s << " cut at " << i << "," << j;
        if (whole.status != st::error) {
          ASSERT_EQ(o.consumed, whole.consumed) << s << " cut at " << i << "," << j;
          ASSERT_EQ(o.payload, whole.payload) << s << " cut at " << i << "," << j;
        }
      }
    }
  }
}

}  // namespace
}  // namespace sluice::worker::http
