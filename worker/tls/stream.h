#pragma once
// A connection as the sessions see it: a TCP socket, with TLS on top when the bind or the
// server says `ssl`. Reads and writes go to whichever layer is on top, so the sessions
// keep one code path; a plain connection costs one branch per operation and no memory.

#include <openssl/ssl.h>

#include <boost/asio/ssl/stream.hpp>
#include <memory>

#include "worker/core/asio.h"
#include "worker/core/receive.h"

namespace sluice::worker::tls {

class stream {
 public:
  using executor_type = asio::any_io_executor;
  using ssl_stream = asio::ssl::stream<tcp::socket>;

  explicit stream(tcp::socket s) : plain_(std::move(s)) {}
  explicit stream(const executor_type& ex) : plain_(ex) {}
  stream(stream&&) noexcept = default;
  stream& operator=(stream&&) noexcept = default;

  // Puts TLS on top of the socket, with `ssl` (taken over: freed with the stream).
  void start_tls(SSL* ssl) {
    tls_ = std::make_unique<ssl_stream>(std::move(plain_), ssl);
    empties_ = nullptr;
  }

  // Plain reads from now on wait for readiness once the socket is empty, instead of
  // trying first (worker/core/receive.h): for connections read again right after each
  // message was forwarded. No effect under TLS, or when the kernel cannot tell.
  void read_until_empty() {
    if (!tls_ && report_what_is_left(plain_)) empties_ = &reactor_of(plain_.get_executor());
  }

  bool secure() const { return tls_ != nullptr; }
  SSL* ssl() const { return tls_ ? tls_->native_handle() : nullptr; }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  const tcp::socket& socket() const { return tls_ ? tls_->next_layer() : plain_; }
  bool is_open() const { return socket().is_open(); }
  executor_type get_executor() { return plain_.get_executor(); }

  // Closes the socket. Operations in flight complete with an error; the TLS state stays
  // until the stream goes, since those operations still refer to it.
  void close() {
    // Without this, freeing an SSL whose connection was not shut down marks its session
    // not resumable (OpenSSL's rule for sessions of broken connections), and the session
    // an upstream connection just got could not be offered on the next one.
    if (tls_ && SSL_is_init_finished(ssl()) == 1) {
      SSL_set_shutdown(ssl(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
    error_code ignored;
    socket().close(ignored);
  }
  // Closes and drops TLS: a fresh, closed plain stream for another connection attempt.
  // Only when no operation is in flight.
  void reset() {
    close();
    tls_.reset();
    empties_ = nullptr;
  }
  void cancel() {
    error_code ignored;
    socket().cancel(ignored);
  }

  // The handshake, as client or server.
  template <typename Token>
  auto async_handshake(asio::ssl::stream_base::handshake_type type, Token&& token) {
    return tls_->async_handshake(type, std::forward<Token>(token));
  }

  // AsyncReadStream and AsyncWriteStream, so asio::async_write works on a stream.
  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& b, Token&& token) {
    if (tls_) return tls_->async_read_some(b, std::forward<Token>(token));
    if (empties_ != nullptr) {
      return async_receive(*empties_, plain_, asio::mutable_buffer(b), std::forward<Token>(token));
    }
    return plain_.async_read_some(b, std::forward<Token>(token));
  }
  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& b, Token&& token) {
    if (tls_) return tls_->async_write_some(b, std::forward<Token>(token));
    return plain_.async_write_some(b, std::forward<Token>(token));
  }

 private:
  tcp::socket plain_;  // the socket while there is no TLS (moved into tls_ after)
  std::unique_ptr<ssl_stream> tls_;
  // Set by read_until_empty(): the reactor its reads tell when the socket is empty.
  asio::detail::reactor* empties_ = nullptr;
};

}  // namespace sluice::worker::tls
