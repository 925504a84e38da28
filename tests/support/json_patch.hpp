#pragma once
// A small, strict RFC 6902 applier (add/remove/replace), to check that a generated JSON
// Patch turns one document into the other.
#include <boost/json.hpp>
#include <string_view>

namespace tether::test {

/// Applies the patch (a JSON array text) to `doc`; throws std::runtime_error (or a Boost.JSON
/// error) on an operation that does not apply cleanly.
boost::json::value apply_patch(boost::json::value doc, std::string_view patch_text);

}  // namespace tether::test
