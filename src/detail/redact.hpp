#pragma once
// In-place redaction of parsed documents, for the pipeline.
#include <string>
#include <vector>

#include "detail/json.hpp"
#include "tether/redactor.hpp"

namespace tether::detail {

/// Replaces the value (of any type, objects and arrays included) under every sensitive
/// key, at any depth through objects and arrays, with the marker string, and appends
/// the JSON Pointer of each replaced value to `paths` ("/mutations/0/payload/password").
/// Strings and keys holding a pair of their own are scrubbed like scrub_text()
/// ("<pointer>/~text/<key>"). Paths are only built on a hit, so clean documents cost one
/// key check per member and a character search per string.
void redact_value(json::value& v, const Redactor& redactor, std::vector<std::string>& paths);

}  // namespace tether::detail
