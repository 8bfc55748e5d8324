#include "worker/tls/handshake.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <tuple>

namespace sluice::worker::tls {

namespace {

using namespace asio::experimental::awaitable_operators;

route::tls_facts facts_of(SSL* ssl) {
  route::tls_facts f;
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

}  // namespace

awaitable<error_code> handshake(stream& s, asio::ssl::stream_base::handshake_type type,
                                std::chrono::milliseconds timeout) {
  if (timeout.count() == 0) {
    auto [ec] = co_await s.async_handshake(type, use_result);
    co_return ec;
  }
  asio::steady_timer timer(s.get_executor(), timeout);
  auto r = co_await (s.async_handshake(type, use_result) || timer.async_wait(use_result));
  if (r.index() != 0) co_return error_code(asio::error::timed_out);
  co_return std::get<0>(std::get<0>(r));
}

std::string failure_reason(SSL* ssl, const error_code& ec) {
  if (ec == asio::error::timed_out) return "timed out";
  const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK) {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  return ec.message();
}

awaitable<bool> accept(stream& s, const server_context& ctx, std::chrono::milliseconds timeout,
                       stats::counter_block* counters, route::tls_facts& facts) {
  s.start_tls(ctx.new_ssl());
  const error_code ec = co_await handshake(s, asio::ssl::stream_base::server, timeout);
  if (counters != nullptr) {
    if (ec) {
      stats::add(counters->tls_handshake_failures);
    } else {
      stats::add(counters->tls_handshakes);
      if (SSL_session_reused(s.ssl()) == 1) stats::add(counters->tls_resumptions);
    }
  }
  if (ec) co_return false;
  facts = facts_of(s.ssl());
  co_return true;
}

}  // namespace sluice::worker::tls
