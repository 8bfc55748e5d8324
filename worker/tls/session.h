#pragma once
// What sessions do with a finished client handshake: count it, and note what it settled
// for the ssl_fc_* fetches and the %sslv/%sslc log fields.

#include <openssl/ssl.h>

#include "stats/counters.h"
#include "worker/route/txn.h"

namespace sluice::worker::tls {

inline route::tls_facts facts_of(SSL* ssl) {
  route::tls_facts f;
  if (ssl == nullptr) return f;
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) f.sni = sni;
  f.protocol = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) f.cipher = SSL_CIPHER_get_name(c);
  const unsigned char* alpn = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &len);
  if (alpn != nullptr) f.alpn = std::string_view(reinterpret_cast<const char*>(alpn), len);
  f.resumed = SSL_session_reused(ssl) == 1;
  return f;
}

inline void count_handshake(SSL* ssl, bool ok, stats::counter_block* b) {
  if (b == nullptr) return;
  if (!ok) {
    stats::add(b->tls_handshake_failures);
    return;
  }
  stats::add(b->tls_handshakes);
  if (ssl != nullptr && SSL_session_reused(ssl) == 1) stats::add(b->tls_resumptions);
}

}  // namespace sluice::worker::tls
