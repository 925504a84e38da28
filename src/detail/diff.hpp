#pragma once
// Field-level diffs on parsed documents, for the pipeline (the public differ.hpp
// functions parse text and call these).
#include <vector>

#include "detail/json.hpp"
#include "tether/differ.hpp"

namespace tether::detail {

/// Appends every difference from `from` to `to` to `out`, in document order:
/// keys of `from` in order, then keys only in `to`; arrays by index.
/// Numbers compare by value across representations (1 == 1.0).
void diff_values(const json::value& from, const json::value& to, std::vector<FieldChange>& out);

/// Like diff_values, but when both are objects the top-level keys that `payload`
/// does not send are ignored: servers add ids and timestamps the client never sends,
/// and those are not differences the client asked for.
void diff_payload(const json::value& state_before, const json::value& payload, std::vector<FieldChange>& out);

/// RFC 6902 patch (add/remove/replace) turning `from` into `to`, appended to `out` as a JSON array.
void append_patch(std::string& out, const json::value& from, const json::value& to);

}  // namespace tether::detail
