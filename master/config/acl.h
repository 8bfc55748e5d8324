#pragma once
// ACLs as HAProxy writes them: `acl NAME FETCH[(ARGS)] [-i] [-f FILE] [-m METHOD] [--]
// VALUE...`, the derived fetch forms (`path_beg`, `hdr_end(host)`, ...), the predefined
// ACLs (`TRUE`, `METH_GET`, `LOCALHOST`, ...), and the conditions that combine them.

#include <span>
#include <string>

#include "master/config/draft.h"

namespace sluice::master::config {

// Parses one ACL body (fetch, flags, values) from `words` into `out`.
bool parse_acl_term(const line_context& ctx, std::span<const std::string> words,
                    sluice::config::AclTerm& out);

// The `acl` keyword.
void kw_acl(const line_context& ctx);

// The definition of a predefined ACL, or "" when `name` is not one.
std::string_view predefined_acl(std::string_view name);

}  // namespace sluice::master::config
