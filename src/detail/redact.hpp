#pragma once
// In-place redaction of parsed documents, for the pipeline.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
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

/// Text that may carry a credential of its own: a form-encoded field ("a=1&password=x") or a
/// serialized document ("{\"token\":\"x\"}"). The cheap test spares scrub_text the strings
/// that cannot hold such a pair (most of them); false means scrub_text finds nothing.
bool may_hold_pair(std::string_view s) noexcept;

/// Redactor::is_sensitive_key, remembered for one document: documents repeat a few keys
/// many times (a pull's snapshots: the same three keys two hundred times). Keys up to 32
/// bytes are kept, 16 of them; longer ones are always asked.
class KeyMemo {
public:
    explicit KeyMemo(const Redactor& r) : r_(r) {}
    bool sensitive(std::string_view key);

private:
    static constexpr std::size_t max_len = 32;
    struct Entry {
        char key[max_len];
        std::uint8_t len;
        bool sensitive;
    };
    const Redactor& r_;
    std::array<Entry, 16> entries_{};
    std::size_t used_ = 0, next_ = 0;
};

}  // namespace tether::detail
