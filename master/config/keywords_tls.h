#pragma once
// TLS in the config language: the global `ssl-default-*`, `crt-base`, `ca-base` and
// `ssl-server-verify` keywords, and the TLS options of `bind` and `server` lines.

#include <span>

#include "master/config/keywords.h"

namespace sluice::master::config {

std::span<const keyword> tls_global_keywords();

enum class tls_option { not_tls, ok, failed };

// Parses the TLS bind option at words[i] into `b` (advancing i past its arguments).
tls_option parse_bind_tls_option(const line_context& ctx, size_t& i, sluice::config::Bind& b);
// Starts a bind's TLS settings from the global defaults; finishes them once the line is
// read (certificates present, versions resolved). False after reporting.
void start_bind_tls(const line_context& ctx, sluice::config::Bind& b);
bool finish_bind_tls(const line_context& ctx, sluice::config::Bind& b);

// The same for servers (and default-server).
tls_option parse_server_tls_option(const line_context& ctx, size_t& i, sluice::config::Server& s);
bool finish_server_tls(const line_context& ctx, sluice::config::Server& s);

}  // namespace sluice::master::config
