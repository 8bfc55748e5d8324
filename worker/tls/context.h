#pragma once
// OpenSSL contexts built from the compiled config, once per worker: one server context
// per `ssl` bind (a certificate per SNI name, ALPN, versions, ciphers, shared session
// tickets) and one client context per `ssl` server (verification, SNI, session reuse).

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/config.pb.h"
#include "worker/tls/ticket_keys.h"

namespace sluice::worker::tls {

struct ctx_free {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_free>;

// Mozilla's "intermediate" configuration: TLS 1.2 ciphers with forward secrecy and AEAD.
inline constexpr const char* default_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

class server_context {
 public:
  // `ring` supplies the ticket keys unless the bind has its own (tls-ticket-keys); it must
  // outlive the context. Null with `error` when OpenSSL refuses the material.
  static std::unique_ptr<server_context> build(const sluice::config::TlsBind& cfg,
                                               const ticket_ring* ring, std::string& error);
  ~server_context();

  // A new server-side SSL for an accepted connection.
  SSL* new_ssl() const;

  // Callbacks' view.
  SSL_CTX* for_name(std::string_view sni) const;  // null: no certificate names it
  bool strict_sni() const { return strict_sni_; }
  const std::vector<unsigned char>& alpn_wire() const { return alpn_wire_; }
  key_set ticket_keys() const;

 private:
  server_context() = default;
  std::vector<ctx_ptr> ctxs_;  // one per certificate, [0] the default
  std::unordered_map<std::string, SSL_CTX*> exact_;
  std::unordered_map<std::string, SSL_CTX*> wildcard_;  // "*.example.org" -> "example.org"
  std::vector<unsigned char> alpn_wire_;
  bool strict_sni_ = false;
  bool own_keys_ = false;
  key_set file_keys_{};
  const ticket_ring* ring_ = nullptr;
};

class client_context {
 public:
  static std::unique_ptr<client_context> build(const sluice::config::TlsServer& cfg,
                                               std::string& error);
  ~client_context();

  // A new client-side SSL sending `sni` (none if empty) and checking the certificate's
  // name against it (or against verifyhost) when verifying; resumes the last session.
  SSL* new_ssl(std::string_view sni) const;
  // Keeps a session the server gave (taking ownership) for the next connection.
  void keep_session(SSL_SESSION* s);
  bool verify() const { return verify_; }

 private:
  client_context() = default;
  ctx_ptr ctx_;
  bool verify_ = false;
  bool reuse_ = true;
  std::string verifyhost_;
  SSL_SESSION* last_ = nullptr;
};

// The reason of the last OpenSSL error on this thread, for logs (the queue is cleared).
std::string last_error();

}  // namespace sluice::worker::tls
