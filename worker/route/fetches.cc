#include "worker/route/fetches.h"

namespace sluice::worker::route {

namespace {

namespace pb = sluice::config;

constexpr fetch_def catalogue[] = {
    {"hdr", pb::FETCH_REQ_HDR, pb::SAMPLE_STR, fetch_arg::optional, fetch_scope::request, true,
     false},
    {"req.hdr", pb::FETCH_REQ_HDR, pb::SAMPLE_STR, fetch_arg::optional, fetch_scope::request, true,
     false},
    {"req.fhdr", pb::FETCH_REQ_HDR, pb::SAMPLE_STR, fetch_arg::required, fetch_scope::request, true,
     true},
    {"path", pb::FETCH_PATH, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::request, true, false},
    {"url", pb::FETCH_URL, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::request, true, false},
    {"query", pb::FETCH_QUERY, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::request, true, false},
    {"base", pb::FETCH_BASE, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::request, true, false},
    {"url_param", pb::FETCH_URL_PARAM, pb::SAMPLE_STR, fetch_arg::required, fetch_scope::request,
     true, false},
    {"urlp", pb::FETCH_URL_PARAM, pb::SAMPLE_STR, fetch_arg::required, fetch_scope::request, true,
     false},
    {"method", pb::FETCH_METHOD, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::request, true,
     false},
    {"req.ver", pb::FETCH_REQ_VER, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::request, true,
     false},
    {"req_ver", pb::FETCH_REQ_VER, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::request, true,
     false},
    {"res.ver", pb::FETCH_RES_VER, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::response, true,
     false},
    {"resp_ver", pb::FETCH_RES_VER, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::response, true,
     false},
    {"src", pb::FETCH_SRC, pb::SAMPLE_IP, fetch_arg::none, fetch_scope::connection, false, false},
    {"dst", pb::FETCH_DST, pb::SAMPLE_IP, fetch_arg::none, fetch_scope::connection, false, false},
    {"src_port", pb::FETCH_SRC_PORT, pb::SAMPLE_INT, fetch_arg::none, fetch_scope::connection,
     false, false},
    {"dst_port", pb::FETCH_DST_PORT, pb::SAMPLE_INT, fetch_arg::none, fetch_scope::connection,
     false, false},
    {"ssl_fc", pb::FETCH_SSL_FC, pb::SAMPLE_BOOL, fetch_arg::none, fetch_scope::connection, false,
     false},
    {"ssl_fc_sni", pb::FETCH_SSL_FC_SNI, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::connection,
     false, false},
    {"ssl_fc_protocol", pb::FETCH_SSL_FC_PROTOCOL, pb::SAMPLE_STR, fetch_arg::none,
     fetch_scope::connection, false, false},
    {"ssl_fc_cipher", pb::FETCH_SSL_FC_CIPHER, pb::SAMPLE_STR, fetch_arg::none,
     fetch_scope::connection, false, false},
    {"ssl_fc_alpn", pb::FETCH_SSL_FC_ALPN, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::connection,
     false, false},
    {"ssl_fc_is_resumed", pb::FETCH_SSL_FC_IS_RESUMED, pb::SAMPLE_BOOL, fetch_arg::none,
     fetch_scope::connection, false, false},
    {"str", pb::FETCH_STR, pb::SAMPLE_STR, fetch_arg::required, fetch_scope::connection, false,
     false},
    {"res.hdr", pb::FETCH_RES_HDR, pb::SAMPLE_STR, fetch_arg::optional, fetch_scope::response, true,
     false},
    {"shdr", pb::FETCH_RES_HDR, pb::SAMPLE_STR, fetch_arg::optional, fetch_scope::response, true,
     false},
    {"res.fhdr", pb::FETCH_RES_HDR, pb::SAMPLE_STR, fetch_arg::required, fetch_scope::response,
     true, true},
    {"status", pb::FETCH_STATUS, pb::SAMPLE_INT, fetch_arg::none, fetch_scope::response, true,
     false},
    {"hdr_cnt", pb::FETCH_REQ_HDR_CNT, pb::SAMPLE_INT, fetch_arg::optional, fetch_scope::request,
     true, false},
    {"req.hdr_cnt", pb::FETCH_REQ_HDR_CNT, pb::SAMPLE_INT, fetch_arg::optional,
     fetch_scope::request, true, false},
    {"hdr_val", pb::FETCH_REQ_HDR_VAL, pb::SAMPLE_INT, fetch_arg::required, fetch_scope::request,
     true, false},
    {"req.hdr_val", pb::FETCH_REQ_HDR_VAL, pb::SAMPLE_INT, fetch_arg::required,
     fetch_scope::request, true, false},
    {"res.hdr_cnt", pb::FETCH_RES_HDR_CNT, pb::SAMPLE_INT, fetch_arg::optional,
     fetch_scope::response, true, false},
    {"shdr_cnt", pb::FETCH_RES_HDR_CNT, pb::SAMPLE_INT, fetch_arg::optional, fetch_scope::response,
     true, false},
    {"req.len", pb::FETCH_REQ_LEN, pb::SAMPLE_INT, fetch_arg::none, fetch_scope::request, false,
     false},
    {"req_len", pb::FETCH_REQ_LEN, pb::SAMPLE_INT, fetch_arg::none, fetch_scope::request, false,
     false},
    {"always_true", pb::FETCH_ALWAYS_TRUE, pb::SAMPLE_BOOL, fetch_arg::none,
     fetch_scope::connection, false, false},
    {"always_false", pb::FETCH_ALWAYS_FALSE, pb::SAMPLE_BOOL, fetch_arg::none,
     fetch_scope::connection, false, false},
    {"req.proto_http", pb::FETCH_REQ_PROTO_HTTP, pb::SAMPLE_BOOL, fetch_arg::none,
     fetch_scope::request, false, false},
    {"req_proto_http", pb::FETCH_REQ_PROTO_HTTP, pb::SAMPLE_BOOL, fetch_arg::none,
     fetch_scope::request, false, false},
    {"nbsrv", pb::FETCH_NBSRV, pb::SAMPLE_INT, fetch_arg::optional, fetch_scope::connection, false,
     false},
    {"req.cook", pb::FETCH_REQ_COOK, pb::SAMPLE_STR, fetch_arg::optional, fetch_scope::request,
     true, false},
    {"cook", pb::FETCH_REQ_COOK, pb::SAMPLE_STR, fetch_arg::optional, fetch_scope::request, true,
     false},
};

}  // namespace

std::span<const fetch_def> fetch_catalogue() {
  return catalogue;
}

const fetch_def* find_fetch(std::string_view name) {
  for (const auto& f : catalogue) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const fetch_def& fetch_info(pb::Fetch f) {
  for (const auto& d : catalogue) {
    if (d.fetch == f) return d;
  }
  // FETCH_UNSPECIFIED (a format naming an unknown fetch): a request-less, HTTP-less
  // nothing, so callers need not check.
  static constexpr fetch_def none{
      "",   pb::FETCH_UNSPECIFIED, pb::SAMPLE_STR, fetch_arg::none, fetch_scope::connection, false,
      false};
  return none;
}

}  // namespace sluice::worker::route
