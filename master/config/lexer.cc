#include "master/config/lexer.h"

#include <cstdlib>

namespace sluice::master::config {

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class splitter {
 public:
  splitter(std::string_view line, const env_lookup& env) : in_(line), env_(env) {}

  lexed_line run() {
    while (pos_ < in_.size() && !out_.error) {
      char c = in_[pos_];
      if (quote_ == 0 && is_space(c)) {
        end_word();
        ++pos_;
      } else if (quote_ == 0 && c == '#') {
        break;
      } else if (c == '\'' && quote_ != '"') {
        quote_ = quote_ == '\'' ? 0 : '\'';
        in_word_ = true;
        ++pos_;
      } else if (c == '"' && quote_ != '\'') {
        quote_ = quote_ == '"' ? 0 : '"';
        in_word_ = true;
        ++pos_;
      } else if (c == '\\' && quote_ != '\'') {
        escape();
      } else if (c == '$' && quote_ == '"') {
        variable();
      } else {
        word_.push_back(c);
        in_word_ = true;
        ++pos_;
      }
    }
    if (!out_.error && quote_ != 0) {
      out_.error = std::string("unterminated ") + (quote_ == '"' ? "double" : "single") + " quote";
    }
    end_word();
    return std::move(out_);
  }

 private:
  void end_word() {
    if (in_word_) out_.words.push_back(std::move(word_));
    word_.clear();
    in_word_ = false;
  }

  void escape() {
    in_word_ = true;
    if (pos_ + 1 >= in_.size()) {  // a trailing backslash is kept as is
      word_.push_back('\\');
      ++pos_;
      return;
    }
    char n = in_[pos_ + 1];
    switch (n) {
      case ' ':
      case '\\':
      case '#':
      case '\'':
      case '"':
        word_.push_back(n);
        pos_ += 2;
        return;
      case '$':
        // `\$` is only special where `$` is: inside double quotes.
        if (quote_ == '"') {
          word_.push_back('$');
        } else {
          word_ += "\\$";
        }
        pos_ += 2;
        return;
      case 'r':
        word_.push_back('\r');
        pos_ += 2;
        return;
      case 'n':
        word_.push_back('\n');
        pos_ += 2;
        return;
      case 't':
        word_.push_back('\t');
        pos_ += 2;
        return;
      case 'x': {
        int hi = pos_ + 2 < in_.size() ? hex_value(in_[pos_ + 2]) : -1;
        int lo = pos_ + 3 < in_.size() ? hex_value(in_[pos_ + 3]) : -1;
        if (hi < 0 || lo < 0) {
          out_.error = "invalid '\\x' sequence: two hexadecimal digits must follow";
          return;
        }
        word_.push_back(static_cast<char>(hi * 16 + lo));
        pos_ += 4;
        return;
      }
      default:
        word_.push_back('\\');
        word_.push_back(n);
        pos_ += 2;
        return;
    }
  }

  void variable() {
    in_word_ = true;
    size_t p = pos_ + 1;
    bool braced = p < in_.size() && in_[p] == '{';
    if (braced) ++p;
    size_t name_start = p;
    while (p < in_.size() && is_name_char(in_[p])) ++p;
    std::string name(in_.substr(name_start, p - name_start));
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
      out_.error = "invalid environment variable name after '$'";
      return;
    }
    std::optional<std::string> fallback;
    bool split = false;
    if (braced) {
      if (in_.substr(p, 3) == "[*]") {
        split = true;
        p += 3;
      }
      if (p < in_.size() && in_[p] == '-') {
        size_t close = in_.find('}', p);
        if (close == std::string_view::npos) {
          out_.error = "missing '}' after '${" + name + "'";
          return;
        }
        fallback = std::string(in_.substr(p + 1, close - p - 1));
        p = close;
      }
      if (p >= in_.size() || in_[p] != '}') {
        out_.error = "missing '}' after '${" + name + "'";
        return;
      }
      ++p;
    }
    pos_ = p;
    std::optional<std::string> value = env_(name);
    if (!value) {
      if (fallback) {
        value = fallback;
      } else {
        out_.warnings.push_back("environment variable '" + name +
                                "' is not set; it expands to an empty string");
        value = std::string();
      }
    }
    if (!split) {
      word_ += *value;
      return;
    }
    // ${NAME[*]}: each space-separated part of the value becomes its own word.
    size_t i = 0;
    bool first = true;
    while (i < value->size()) {
      while (i < value->size() && is_space((*value)[i])) ++i;
      size_t j = i;
      while (j < value->size() && !is_space((*value)[j])) ++j;
      if (j > i) {
        if (!first) end_word(), in_word_ = true;
        word_ += value->substr(i, j - i);
        first = false;
      }
      i = j;
    }
  }

  std::string_view in_;
  const env_lookup& env_;
  size_t pos_ = 0;
  char quote_ = 0;
  std::string word_;
  bool in_word_ = false;
  lexed_line out_;
};

}  // namespace

lexed_line split_words(std::string_view line, const env_lookup& env) {
  return splitter(line, env).run();
}

}  // namespace sluice::master::config
