#pragma once
// The ACL engine: a proxy's ACLs compiled once when the worker starts (regexes included),
// then evaluated against transactions with no allocation beyond reused scratch space.

#include <optional>
#include <string>
#include <vector>

#include "proto/config.pb.h"
#include "worker/route/regex.h"
#include "worker/route/sample.h"

namespace sluice::worker::route {

class acl_set {
 public:
  // Compiles `acls`; a regex PCRE2 refuses (the compiler checked them already, so this
  // only happens with a hand-made Config) is reported in `error` and never matches.
  explicit acl_set(const google::protobuf::RepeatedPtrField<sluice::config::Acl>& acls,
                   std::string* error = nullptr);
  acl_set(acl_set&&) noexcept = default;
  acl_set& operator=(acl_set&&) noexcept = default;

  // Whether ACL `index` matches: any of its lines matches with any of its patterns.
  bool matches(uint32_t index, const txn& t) const;

  // A rule's condition: true when absent; `unless` inverts.
  bool holds(const sluice::config::Condition& c, const txn& t) const;
  bool holds_if_present(bool present, const sluice::config::Condition& c, const txn& t) const {
    return !present || holds(c, t);
  }

 private:
  struct term {
    const sluice::config::AclTerm* cfg;
    std::vector<regex> regexes;  // MATCH_REG only, one per pattern
  };
  struct acl {
    std::vector<term> terms;
  };
  bool term_matches(const term& tm, const txn& t) const;

  std::vector<acl> acls_;
  mutable std::vector<sample_value> values_;
  mutable std::string scratch_;
};

// Whether `p` is in one of `nets` (IPv4-mapped IPv6 addresses count as IPv4).
bool in_networks(const google::protobuf::RepeatedPtrField<sluice::config::IpNet>& nets,
                 const peer& p);

// One value against one term's patterns (exposed for unit tests).
bool value_matches(const sluice::config::AclTerm& term, const std::vector<regex>& regexes,
                   const sample_value& v);

}  // namespace sluice::worker::route
