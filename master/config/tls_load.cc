#include "master/config/tls_load.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <sstream>

#include "master/config/loader.h"

namespace sluice::master::config {

namespace pb = sluice::config;

namespace {

template <typename T, void (*F)(T*)>
struct deleter {
  void operator()(T* p) const { F(p); }
};
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using ctx_ptr = std::unique_ptr<SSL_CTX, deleter<SSL_CTX, SSL_CTX_free>>;

// The most recent OpenSSL error as text (the queue is cleared).
std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  unsigned long last = e;
  while (e != 0) {
    last = e;
    e = ERR_get_error();
  }
  if (last == 0) return "no PEM data";
  const char* r = ERR_reason_error_string(last);
  return r != nullptr ? r : "unknown error";
}

// PEM files are small: 1 MiB is plenty, and devices or FIFOs are refused (read_file).
bool read_text(const std::string& path, std::string& out, std::string& error) {
  std::string why;
  if (read_file(path, out, why, 1 << 20)) return true;
  error = "cannot read '" + path + "': " + why;
  return false;
}

bio_ptr memory_bio(const std::string& text) {
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

bool has_private_key(const std::string& pem) {
  ERR_clear_error();
  auto bio = memory_bio(pem);
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key != nullptr;
}

}  // namespace

bool load_certificate(const std::string& path, pb::TlsCert& out, std::string& error) {
  std::string pem;
  if (!read_text(path, pem, error)) return false;
  ERR_clear_error();
  auto bio = memory_bio(pem);
  x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    error = "no certificate in '" + path + "' (" + openssl_reason() + ")";
    return false;
  }
  if (!has_private_key(pem)) {
    // As HAProxy: a bundle without its key takes it from PATH.key.
    std::string key_text;
    std::string key_error;
    if (!read_text(path + ".key", key_text, key_error) || !has_private_key(key_text)) {
      error = "no private key in '" + path + "' nor in '" + path + ".key'";
      return false;
    }
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
    pem += key_text;
  }
  auto key_bio = memory_bio(pem);
  pkey_ptr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    error = "cannot read the private key in '" + path + "' (" + openssl_reason() + ")";
    return false;
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    error = "the private key in '" + path + "' does not match its certificate";
    ERR_clear_error();
    return false;
  }
  out.set_path(path);
  out.set_pem(std::move(pem));
  return true;
}

bool load_certificate_dir(const std::string& dir, std::vector<pb::TlsCert>& out,
                          std::string& error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(".") || !entry.is_regular_file()) continue;
    bool reserved = false;
    for (const char* ext : {".key", ".issuer", ".ocsp", ".sctl"}) {
      if (name.ends_with(ext)) reserved = true;
    }
    if (!reserved) names.push_back(entry.path().string());
  }
  if (ec) {
    error = "cannot read the directory '" + dir + "': " + ec.message();
    return false;
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) {
    error = "no certificate in the directory '" + dir + "'";
    return false;
  }
  for (const auto& n : names) {
    pb::TlsCert c;
    if (!load_certificate(n, c, error)) return false;
    out.push_back(std::move(c));
  }
  return true;
}

bool load_ca_file(const std::string& path, std::string& pem, std::string& error) {
  if (!read_text(path, pem, error)) return false;
  ERR_clear_error();
  auto bio = memory_bio(pem);
  int count = 0;
  while (x509_ptr c{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) ++count;
  ERR_clear_error();
  if (count == 0) {
    error = "no certificate in the CA file '" + path + "'";
    return false;
  }
  return true;
}

bool load_ticket_keys(const std::string& path, std::vector<std::string>& keys, std::string& error) {
  std::string text;
  if (!read_text(path, text, error)) return false;
  std::istringstream lines(text);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.starts_with("#")) continue;
    std::string raw(line.size(), '\0');
    int len = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                              reinterpret_cast<const unsigned char*>(line.data()),
                              static_cast<int>(line.size()));
    // EVP_DecodeBlock counts '=' padding as zero bytes.
    for (size_t p = line.size(); len > 0 && p > 0 && line[p - 1] == '='; --p) --len;
    if (len != 48 && len != 80) {
      error = "'" + path + "' line " + std::to_string(n) +
              ": a ticket key is 48 or 80 bytes in base64, this one is " +
              (len < 0 ? std::string("not base64") : std::to_string(len) + " bytes");
      return false;
    }
    raw.resize(static_cast<size_t>(len));
    if (!keys.empty() && keys.front().size() != raw.size()) {
      error =
          "'" + path + "' line " + std::to_string(n) + ": keys of 48 and 80 bytes cannot be mixed";
      return false;
    }
    keys.push_back(std::move(raw));
  }
  if (keys.size() < 3) {
    error = "'" + path + "' holds " + std::to_string(keys.size()) +
            " ticket keys; at least 3 are needed (the last 3 are used)";
    return false;
  }
  return true;
}

namespace {

ctx_ptr scratch_context() {
  return ctx_ptr(SSL_CTX_new(TLS_method()));
}

}  // namespace

bool check_ciphers(const std::string& list, std::string& error) {
  auto ctx = scratch_context();
  ERR_clear_error();
  if (!ctx || SSL_CTX_set_cipher_list(ctx.get(), list.c_str()) != 1) {
    error = "no cipher in '" + list + "' is known to OpenSSL " OPENSSL_VERSION_STR;
    ERR_clear_error();
    return false;
  }
  return true;
}

bool check_ciphersuites(const std::string& list, std::string& error) {
  auto ctx = scratch_context();
  ERR_clear_error();
  if (!ctx || SSL_CTX_set_ciphersuites(ctx.get(), list.c_str()) != 1) {
    error = "'" + list + "' is not a TLS 1.3 ciphersuite list OpenSSL knows (e.g. " +
            "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256)";
    ERR_clear_error();
    return false;
  }
  return true;
}

int tls_version_from_name(const std::string& name) {
  if (name == "SSLv3") return SSL3_VERSION;
  if (name == "TLSv1.0") return TLS1_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return 0;
}

}  // namespace sluice::master::config
