#pragma once
// Reading TLS material at compile time: certificate bundles, CA files, ticket key files
// and cipher lists are checked here, with OpenSSL, so that a bad file fails `sluice -c`
// and a reload (old config still serving) instead of a worker.

#include <string>
#include <vector>

#include "proto/config.pb.h"

namespace sluice::master::config {

// Loads a PEM bundle (certificate, chain, key; the key from PATH.key when the file holds
// none) and checks that the key matches the certificate. False with `error`.
bool load_certificate(const std::string& path, sluice::config::TlsCert& out, std::string& error);

// `crt DIR`: every bundle in the directory in name order, skipping dot files and the
// reserved extensions .key .issuer .ocsp .sctl (as HAProxy). False with `error`.
bool load_certificate_dir(const std::string& dir, std::vector<sluice::config::TlsCert>& out,
                          std::string& error);

// A CA file: one or more PEM certificates. False with `error`.
bool load_ca_file(const std::string& path, std::string& pem, std::string& error);

// tls-ticket-keys: base64 lines of 48 or 80 bytes each, all of one size, at least 3.
bool load_ticket_keys(const std::string& path, std::vector<std::string>& keys, std::string& error);

// Checks a TLS <= 1.2 cipher list (accepted when some entry is known, as OpenSSL and
// HAProxy do) or a TLS 1.3 ciphersuite list. False with `error`.
bool check_ciphers(const std::string& list, std::string& error);
bool check_ciphersuites(const std::string& list, std::string& error);

// "TLSv1.2" -> TLS1_2_VERSION; 0 for an unknown name.
int tls_version_from_name(const std::string& name);

}  // namespace sluice::master::config
