#pragma once
// Field-level diffs between two JSON documents, and the same difference as an
// RFC 6902 JSON Patch. Paths are JSON Pointers (RFC 6901: "~" -> "~0", "/" -> "~1").
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tether {

enum class ChangeOp : std::uint8_t { added, removed, changed };
const char* to_string(ChangeOp op) noexcept;

/// One differing leaf. `from`/`to` are JSON text; empty when the side does not exist
/// (so `null` and "missing" stay distinguishable). A change of type (object -> string)
/// is reported once at the path where the types differ.
struct FieldChange {
    std::string path;
    ChangeOp op = ChangeOp::changed;
    std::string from;
    std::string to;

    friend bool operator==(const FieldChange& a, const FieldChange& b) {
        return a.path == b.path && a.op == b.op && a.from == b.from && a.to == b.to;
    }
};

/// Every leaf that differs from `from_json` to `to_json`, in document order.
/// Objects are compared by key, arrays by index; numbers by value (1 and 1.0 are equal, so
/// the patch reproduces `to` up to number representation). Throws JsonError on invalid input.
std::vector<FieldChange> diff_json(std::string_view from_json, std::string_view to_json);

/// RFC 6902 patch (a JSON array text) that turns `from_json` into `to_json`.
/// Throws JsonError on invalid input.
std::string json_patch(std::string_view from_json, std::string_view to_json);

/// `[{"path":…,"op":"added|removed|changed","from":…,"to":…}]` (from/to omitted when absent).
std::string field_changes_to_json(const std::vector<FieldChange>& changes);

/// Parse what field_changes_to_json wrote. Throws JsonError on malformed input (for a
/// well-formed document with a wrong member type the position is 1:1 and the message
/// names the element, e.g. "[1].path: expected a string").
std::vector<FieldChange> field_changes_from_json(std::string_view json);

/// Escape one object key as a JSON Pointer reference token.
std::string json_pointer_escape(std::string_view key);

}  // namespace tether
