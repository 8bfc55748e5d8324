#include "worker/http/message.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <string>

namespace sluice::worker::http {
namespace {

header_list sample() {
  header_list h;
  h.add("Host", "a");
  h.add("X-Forwarded-For", "1.1.1.1");
  h.add("Accept", "*/*");
  h.add("x-forwarded-for", "2.2.2.2");
  return h;
}

TEST(Iequals, AsciiCaseOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Host", "Hos"));
  EXPECT_FALSE(iequals("Host", "Hosu"));
  EXPECT_FALSE(iequals("[", "{"));  // 0x5b and 0x7b differ by 0x20 but are not letters
  EXPECT_FALSE(iequals("\xc9", "\xe9"));
}

TEST(HeaderList, FindGetCount) {
  header_list h = sample();
  EXPECT_EQ(h.find("x-forwarded-for"), 1u);
  EXPECT_EQ(h.find("X-FORWARDED-FOR", 2), 3u);
  EXPECT_EQ(h.find("X-Forwarded-For", 4), header_list::npos);
  EXPECT_EQ(h.find("Missing"), header_list::npos);
  ASSERT_NE(h.get("accept"), nullptr);
  EXPECT_EQ(*h.get("accept"), "*/*");
  EXPECT_EQ(h.get("Missing"), nullptr);
  EXPECT_EQ(h.count("X-Forwarded-For"), 2u);
  EXPECT_EQ(h.count("Host"), 1u);
  EXPECT_EQ(h.count("Missing"), 0u);
}

TEST(HeaderList, RemoveKeepsOrder) {
  header_list h = sample();
  EXPECT_EQ(h.remove("X-FORWARDED-FOR"), 2u);
  ASSERT_EQ(h.fields.size(), 2u);
  EXPECT_EQ(h.fields[0].name, "Host");
  EXPECT_EQ(h.fields[1].name, "Accept");
  EXPECT_EQ(h.remove("X-Forwarded-For"), 0u);
}

TEST(HeaderList, SetReplacesAtTheFirstPlace) {
  header_list h = sample();
  h.set("X-Forwarded-For", "3.3.3.3");
  ASSERT_EQ(h.fields.size(), 3u);
  EXPECT_EQ(h.fields[1].name, "X-Forwarded-For");
  EXPECT_EQ(h.fields[1].value, "3.3.3.3");
  EXPECT_EQ(h.fields[2].name, "Accept");

  h.set("Via", "1.1 sluice");
  ASSERT_EQ(h.fields.size(), 4u);
  EXPECT_EQ(h.fields[3].name, "Via");
  EXPECT_EQ(h.fields[3].value, "1.1 sluice");
}

TEST(HeaderList, SetFromItsOwnValue) {
  header_list h = sample();
  // The value lives in a field that set() removes.
  h.set("X-Forwarded-For", h.fields[3].value);
  ASSERT_EQ(h.fields.size(), 3u);
  EXPECT_EQ(h.fields[1].value, "2.2.2.2");
}

TEST(Request, PathAndQuery) {
  struct row {
    const char* target;
    const char* path;
    const char* query;
    bool has_query;
  };
  const row rows[] = {
      {"/", "/", "", false},
      {"/a/b", "/a/b", "", false},
      {"/a?b=c&d", "/a", "b=c&d", true},
      {"/a?", "/a", "", true},
      {"/a?b?c", "/a", "b?c", true},
      {"http://h/p?q", "/p", "q", true},
      {"HTTP://h:8080/p/q", "/p/q", "", false},
      {"http://h", "/", "", false},
      {"http://h?x=1", "/", "x=1", true},
      {"https://u@h/x", "/x", "", false},
      {"*", "", "", false},
      {"h:443", "", "", false},
      {"", "", "", false},
  };
  for (const auto& r : rows) {
    request req;
    req.target = r.target;
    EXPECT_EQ(req.path(), r.path) << r.target;
    EXPECT_EQ(req.query(), r.query) << r.target;
    EXPECT_EQ(req.has_query(), r.has_query) << r.target;
  }
}

TEST(Request, Authority) {
  request r;
  r.target = "/a";
  EXPECT_EQ(r.authority(), "");
  r.target = "*";
  EXPECT_EQ(r.authority(), "");
  r.target = "example.com:443";
  EXPECT_EQ(r.authority(), "example.com:443");
  r.target = "http://Example.com:81/x?y";
  EXPECT_EQ(r.authority(), "Example.com:81");
  r.target = "http://h?x";
  EXPECT_EQ(r.authority(), "h");
  r.target = "http://";
  EXPECT_EQ(r.authority(), "");
}

TEST(Serialize, Request) {
  request r;
  r.method = "POST";
  r.target = "/submit?x=1";
  r.version_minor = 0;
  r.headers.add("Host", "a");
  r.headers.add("Content-Length", "3");
  std::string out = "prefix|";
  serialize(r, out);
  EXPECT_EQ(out, "prefix|POST /submit?x=1 HTTP/1.0\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
}

TEST(Serialize, Response) {
  response r;
  r.status = 404;
  r.reason = "Not Found";
  r.headers.add("Content-Length", "0");
  std::string out;
  serialize(r, out);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");

  response empty;
  empty.status = 200;
  empty.version_minor = 0;
  out.clear();
  serialize(empty, out);
  EXPECT_EQ(out, "HTTP/1.0 200 \r\n\r\n");
}

TEST(ReasonPhrase, CommonCodes) {
  EXPECT_EQ(reason_phrase(100), "Continue");
  EXPECT_EQ(reason_phrase(101), "Switching Protocols");
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(206), "Partial Content");
  EXPECT_EQ(reason_phrase(304), "Not Modified");
  EXPECT_EQ(reason_phrase(308), "Permanent Redirect");
  EXPECT_EQ(reason_phrase(400), "Bad Request");
  EXPECT_EQ(reason_phrase(404), "Not Found");
  EXPECT_EQ(reason_phrase(408), "Request Timeout");
  EXPECT_EQ(reason_phrase(422), "Unprocessable Content");
  EXPECT_EQ(reason_phrase(429), "Too Many Requests");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(502), "Bad Gateway");
  EXPECT_EQ(reason_phrase(503), "Service Unavailable");
  EXPECT_EQ(reason_phrase(504), "Gateway Timeout");
  EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
  for (unsigned s = 100; s < 600; ++s) {
    bool known = !reason_phrase(s).empty();
    bool common = s == 100 || s == 101 || (s >= 200 && s <= 206) || (s >= 300 && s <= 308) ||
                  (s >= 400 && s <= 417) || (s >= 500 && s <= 505);
    if (common && s != 306) {
      EXPECT_TRUE(known) << s;
    }
  }
  EXPECT_EQ(reason_phrase(299), "");
  EXPECT_EQ(reason_phrase(0), "");
  EXPECT_EQ(reason_phrase(306), "");
}

// Fields reuse each other's buffers (clear, remove, set feed a spare list): a long random
// sequence of operations must behave exactly like a plain list of pairs.
TEST(HeaderList, ReusedBuffersBehaveLikeAPlainList) {
  std::mt19937 rng(7);
  header_list h;
  std::vector<std::pair<std::string, std::string>> model;
  const char* names[] = {"Host", "X-A", "x-a", "Set-Cookie", "Via", "X-Long-Header-Name-Here"};
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (int step = 0; step < 20000; ++step) {
    std::string name = names[rng() % 6];
    std::string value(rng() % 40, static_cast<char>('a' + rng() % 26));
    switch (rng() % 5) {
      case 0:
      case 1:
        h.add(name, value);
        model.emplace_back(name, value);
        break;
      case 2: {
        size_t n = h.remove(name);
        size_t before = model.size();
        std::erase_if(model, [&](const auto& f) { return lower(f.first) == lower(name); });
        ASSERT_EQ(n, before - model.size());
        break;
      }
      case 3: {
        // Set from a value that lives in the list itself, when there is one.
        std::string v = h.fields.empty() ? value : h.fields[rng() % h.fields.size()].value;
        std::string_view from =
            h.fields.empty() ? std::string_view(value) : std::string_view(h.fields.back().value);
        if (!h.fields.empty()) v = std::string(from);
        h.set(name, from);
        auto it = std::find_if(model.begin(), model.end(),
                               [&](const auto& f) { return lower(f.first) == lower(name); });
        if (it == model.end()) {
          model.emplace_back(name, v);
        } else {
          *it = {name, v};
          std::erase_if(model,
                        [&](const auto& f) { return &f != &*it && lower(f.first) == lower(name); });
        }
        break;
      }
      default:
        if (rng() % 10 == 0) {
          h.clear();
          model.clear();
        }
    }
    ASSERT_EQ(h.fields.size(), model.size()) << step;
    for (size_t i = 0; i < model.size(); ++i) {
      ASSERT_EQ(h.fields[i].name, model[i].first) << step;
      ASSERT_EQ(h.fields[i].value, model[i].second) << step;
    }
  }
}

TEST(Request, ResetKeepsNothingButBuffers) {
  request r;
  r.method = "POST";
  r.target = "/x";
  r.version_minor = 0;
  r.headers.add("A", "b");
  r.body = body_kind::chunked;
  r.content_length = 5;
  r.keep_alive = false;
  r.expect_continue = r.upgrade = r.close_after = true;
  r.reset();
  request fresh;
  EXPECT_EQ(r.method, fresh.method);
  EXPECT_EQ(r.target, fresh.target);
  EXPECT_EQ(r.version_minor, fresh.version_minor);
  EXPECT_TRUE(r.headers.fields.empty());
  EXPECT_EQ(r.body, fresh.body);
  EXPECT_EQ(r.content_length, fresh.content_length);
  EXPECT_EQ(r.keep_alive, fresh.keep_alive);
  EXPECT_EQ(r.expect_continue, fresh.expect_continue);
  EXPECT_EQ(r.upgrade, fresh.upgrade);
  EXPECT_EQ(r.close_after, fresh.close_after);
}

}  // namespace
}  // namespace sluice::worker::http
