#include "worker/tls/context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "worker/http/message.h"

namespace sluice::worker::tls {

namespace pb = sluice::config;

namespace {

// Where a context finds its owner (a server_context or a client_context).
int owner_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

struct bio_free {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;

bio_ptr memory_bio(const std::string& text) {
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string lower(std::string_view s) {
  std::string out(s);
  http::ascii_lower(out);
  return out;
}

// Certificate, chain and key from a bundle's PEM text into `ctx`; the names it serves
// (DNS subject alternative names, else the common name) into `names`.
bool use_bundle(SSL_CTX* ctx, const pb::TlsCert& c, std::vector<std::string>& names,
                std::string& error) {
  auto bio = memory_bio(c.pem());
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr || SSL_CTX_use_certificate(ctx, cert) != 1) {
    X509_free(cert);
    error = "'" + c.path() + "': " + last_error();
    return false;
  }
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    SSL_CTX_add0_chain_cert(ctx, extra);
  }
  ERR_clear_error();
  auto key_bio = memory_bio(c.pem());
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  bool ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
            SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) {
    X509_free(cert);
    error = "'" + c.path() + "': " + last_error();
    return false;
  }
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
    if (g->type != GEN_DNS) continue;
    const unsigned char* d = ASN1_STRING_get0_data(g->d.dNSName);
    names.push_back(lower(std::string_view(reinterpret_cast<const char*>(d),
                                           static_cast<size_t>(ASN1_STRING_length(g->d.dNSName)))));
  }
  GENERAL_NAMES_free(sans);
  char cn[256];
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
    names.push_back(lower(cn));
  }
  X509_free(cert);
  return true;
}

int on_servername(SSL* ssl, int* alert, void* arg) {
  const auto* sc = static_cast<const server_context*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  SSL_CTX* chosen = name != nullptr ? sc->for_name(name) : nullptr;
  if (chosen == nullptr) {
    if (!sc->strict_sni()) return SSL_TLSEXT_ERR_OK;  // the default certificate
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;
}

int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
            unsigned int inlen, void*) {
  const auto* sc =
      static_cast<const server_context*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), owner_index()));
  const auto& ours = sc->alpn_wire();
  unsigned char* chosen = nullptr;
  if (ours.empty() ||
      SSL_select_next_proto(&chosen, outlen, ours.data(), static_cast<unsigned>(ours.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no protocol in common: go on without ALPN
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

bool set_ticket_key(const ticket_key& k, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                    EVP_MAC_CTX* mac, bool encrypt) {
  const EVP_CIPHER* c = k.key_bytes == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(k.hmac.data()),
                                        k.key_bytes),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return false;
  return encrypt ? EVP_EncryptInit_ex(cipher, c, nullptr, k.aes.data(), iv) == 1
                 : EVP_DecryptInit_ex(cipher, c, nullptr, k.aes.data(), iv) == 1;
}

// OpenSSL's ticket callback: encrypt with the middle key; decrypt with any of the three.
int on_ticket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac, int encrypt) {
  const auto* sc =
      static_cast<const server_context*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), owner_index()));
  if (sc == nullptr) return -1;
  const key_set keys = sc->ticket_keys();
  if (encrypt != 0) {
    const ticket_key& k = keys[encrypting_key];
    std::memcpy(name, k.name.data(), k.name.size());
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    return set_ticket_key(k, iv, cipher, mac, true) ? 1 : -1;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (std::memcmp(name, keys[i].name.data(), keys[i].name.size()) != 0) continue;
    if (!set_ticket_key(keys[i], iv, cipher, mac, false)) return -1;
    // 2: resume and issue a fresh ticket. Always, not only for an older key: TLS 1.3
    // clients use a ticket once (RFC 8446 C.4), and OpenSSL sends none after a
    // resumption the callback calls current, so such a client would resume every
    // other connection only.
    return 2;
  }
  return 0;  // unknown key: a full handshake
}

void versions(SSL_CTX* ctx, uint32_t min, uint32_t max) {
  SSL_CTX_set_min_proto_version(ctx, static_cast<int>(min != 0 ? min : TLS1_2_VERSION));
  SSL_CTX_set_max_proto_version(ctx, static_cast<int>(max));  // 0: the highest known
}

bool common_settings(SSL_CTX* ctx, const pb::TlsBind& cfg, std::string& error) {
  versions(ctx, cfg.min_version(), cfg.max_version());
  const std::string& ciphers = cfg.ciphers();
  if (SSL_CTX_set_cipher_list(ctx, ciphers.empty() ? default_ciphers : ciphers.c_str()) != 1 ||
      (!cfg.ciphersuites().empty() &&
       SSL_CTX_set_ciphersuites(ctx, cfg.ciphersuites().c_str()) != 1) ||
      (!cfg.curves().empty() && SSL_CTX_set1_groups_list(ctx, cfg.curves().c_str()) != 1)) {
    error = last_error();
    return false;
  }
  uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
  if (!cfg.prefer_client_ciphers()) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  if (cfg.no_tickets()) options |= SSL_OP_NO_TICKET;
  SSL_CTX_set_options(ctx, options);
  // Idle keep-alive connections give their OpenSSL buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_dh_auto(ctx, 1);
  // Resumption is by tickets only: a session cache would be per worker.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 1);
  static const unsigned char sid_ctx[] = "sluice";
  SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
  SSL_CTX_set_alpn_select_cb(ctx, on_alpn, nullptr);
  return true;
}

std::vector<unsigned char> wire_format(const google::protobuf::RepeatedPtrField<std::string>& l) {
  std::vector<unsigned char> wire;
  for (const auto& p : l) {
    wire.push_back(static_cast<unsigned char>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  return wire;
}

}  // namespace

std::string last_error() {
  unsigned long first = ERR_get_error();
  if (first == 0) return "unknown TLS error";
  while (ERR_get_error() != 0) {
  }
  char buf[256];
  ERR_error_string_n(first, buf, sizeof buf);
  return buf;
}

std::unique_ptr<server_context> server_context::build(const pb::TlsBind& cfg,
                                                      const ticket_ring* ring, std::string& error) {
  std::unique_ptr<server_context> sc(new server_context());
  sc->ring_ = ring;
  sc->strict_sni_ = cfg.strict_sni();
  sc->alpn_wire_ = wire_format(cfg.alpn());
  if (cfg.ticket_keys_size() > 0) {
    sc->own_keys_ = true;
    sc->file_keys_ = keys_from_file({cfg.ticket_keys().begin(), cfg.ticket_keys().end()});
  }
  for (const auto& c : cfg.certs()) {
    ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
    std::vector<std::string> names;
    if (!ctx || !common_settings(ctx.get(), cfg, error) ||
        !use_bundle(ctx.get(), c, names, error)) {
      return nullptr;
    }
    SSL_CTX_set_ex_data(ctx.get(), owner_index(), sc.get());
    for (const auto& n : names) {
      if (n.starts_with("*.")) {
        sc->wildcard_.emplace(n.substr(2), ctx.get());
      } else {
        sc->exact_.emplace(n, ctx.get());
      }
    }
    sc->ctxs_.push_back(std::move(ctx));
  }
  if (sc->ctxs_.empty()) {
    error = "no certificate";
    return nullptr;
  }
  SSL_CTX_set_tlsext_servername_callback(sc->ctxs_.front().get(), on_servername);
  SSL_CTX_set_tlsext_servername_arg(sc->ctxs_.front().get(), sc.get());
  return sc;
}

server_context::~server_context() = default;

SSL* server_context::new_ssl() const {
  return SSL_new(ctxs_.front().get());
}

SSL_CTX* server_context::for_name(std::string_view sni) const {
  thread_local std::string name;
  name.assign(sni);
  http::ascii_lower(name);
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  // A wildcard stands for exactly one leading label.
  size_t dot = name.find('.');
  if (dot != std::string::npos && dot > 0) {
    if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end()) return it->second;
  }
  return nullptr;
}

key_set server_context::ticket_keys() const {
  if (own_keys_) return file_keys_;
  return ring_ != nullptr && ring_->valid() ? ring_->read() : file_keys_;
}

// ---------------------------------------------------------------------------------------

namespace {

int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* cc = static_cast<client_context*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), owner_index()));
  if (cc == nullptr) return 0;
  cc->keep_session(session);
  return 1;  // the session is ours now
}

}  // namespace

std::unique_ptr<client_context> client_context::build(const pb::TlsServer& cfg,
                                                      std::string& error) {
  std::unique_ptr<client_context> cc(new client_context());
  cc->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = cc->ctx_.get();
  if (ctx == nullptr) {
    error = last_error();
    return nullptr;
  }
  versions(ctx, cfg.min_version(), cfg.max_version());
  if ((!cfg.ciphers().empty() && SSL_CTX_set_cipher_list(ctx, cfg.ciphers().c_str()) != 1) ||
      (!cfg.ciphersuites().empty() &&
       SSL_CTX_set_ciphersuites(ctx, cfg.ciphersuites().c_str()) != 1)) {
    error = last_error();
    return nullptr;
  }
  cc->verify_ = cfg.verify();
  cc->reuse_ = !cfg.no_reuse();
  cc->verifyhost_ = cfg.verifyhost();
  if (cc->verify_) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    auto bio = memory_bio(cfg.ca_pem());
    int added = 0;
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      if (X509_STORE_add_cert(store, ca) == 1) ++added;
      X509_free(ca);
    }
    ERR_clear_error();
    if (added == 0) {
      error = "no CA certificate in '" + cfg.ca_path() + "'";
      return nullptr;
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!cfg.client_cert().pem().empty()) {
    std::vector<std::string> names;
    if (!use_bundle(ctx, cfg.client_cert(), names, error)) return nullptr;
  }
  if (cfg.alpn_size() > 0) {
    auto wire = wire_format(cfg.alpn());
    SSL_CTX_set_alpn_protos(ctx, wire.data(), static_cast<unsigned>(wire.size()));
  }
  uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
  if (cfg.no_tickets()) options |= SSL_OP_NO_TICKET;
  SSL_CTX_set_options(ctx, options);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (cc->reuse_) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  }
  SSL_CTX_set_ex_data(ctx, owner_index(), cc.get());
  return cc;
}

client_context::~client_context() {
  if (last_ != nullptr) SSL_SESSION_free(last_);
}

void client_context::keep_session(SSL_SESSION* s) {
  if (last_ != nullptr) SSL_SESSION_free(last_);
  last_ = s;
}

SSL* client_context::new_ssl(std::string_view sni) const {
  SSL* ssl = SSL_new(ctx_.get());
  if (ssl == nullptr) return nullptr;
  std::string name(sni);
  if (!name.empty()) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (verify_) {
    const std::string& host = !name.empty() ? name : verifyhost_;
    if (!host.empty()) SSL_set1_host(ssl, host.c_str());
  }
  if (reuse_ && last_ != nullptr) SSL_set_session(ssl, last_);
  return ssl;
}

}  // namespace sluice::worker::tls
