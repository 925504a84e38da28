#pragma once
// Redaction: secrets never reach storage. A Redactor decides which object keys and
// header names are sensitive; the pipeline walks every captured document (request and
// response bodies, payloads, host traces, headers) and replaces their values with a
// marker, recording each redacted path. Bodies that are not valid JSON get a
// best-effort textual scrub instead.
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tether {

/// The policy: which keys are secret and what replaces their values.
class Redactor {
public:
    virtual ~Redactor() = default;
    /// True when the value under this object key (or header name) must not be stored.
    /// Must depend on the key alone: answers are remembered while a document is redacted.
    virtual bool is_sensitive_key(std::string_view key) const noexcept = 0;
    /// Replacement written in place of a redacted value (stored as a JSON string).
    virtual const std::string& marker() const noexcept = 0;
};

enum class KeyMatch : std::uint8_t {
    exact,    ///< the normalized key equals a configured key
    contains  ///< the normalized key contains a configured key ("user_password" matches "password")
};

/// Default policy. Keys are compared normalized: ASCII case-folded with '-' and '_' removed,
/// so "API_KEY", "api-key" and "ApiKey" are the same key.
class KeyRedactor final : public Redactor {
public:
    explicit KeyRedactor(std::vector<std::string> keys = default_keys(),
                         std::string marker = "[REDACTED]", KeyMatch match = KeyMatch::contains);
    bool is_sensitive_key(std::string_view key) const noexcept override;
    const std::string& marker() const noexcept override { return marker_; }

    /// password, passwd, secret, token, authorization, cookie, api_key, private_key, credential
    static std::vector<std::string> default_keys();

private:
    std::vector<std::string> normalized_;
    std::string marker_;
    KeyMatch match_;
    std::bitset<256> starts_;  ///< first characters of normalized_: most key positions need no comparison
};

/// Result of redacting one document.
struct RedactedText {
    std::string text;                ///< redacted JSON (or scrubbed raw text when !valid_json)
    bool valid_json = true;          ///< false: input was not JSON and was scrubbed textually
    /// JSON Pointers of redacted values ("/mutations/0/payload/password"); a value hidden inside a
    /// string or a key (see redact_json) is "<pointer of that string or member>/~text/<key>".
    std::vector<std::string> paths;
};

/// Redact a JSON document: the value under every sensitive key, at any depth, becomes the
/// marker. Strings and keys that carry a pair of their own (a form-encoded field
/// "a=1&password=x", a serialized document "{\"token\":\"x\"}") are scrubbed as
/// scrub_text() does. Invalid JSON falls back to scrub_text(). Never throws on bad input.
RedactedText redact_json(const Redactor& redactor, std::string_view json);

/// Best-effort scrub of text that is not valid JSON (truncated or malformed bodies):
/// the value after any `"<sensitive key>"` or `'<sensitive key>'` followed by `:`, and
/// after any `sensitive=` form field, is replaced by the marker. Guarantee: wherever a
/// complete `"key": value` pair with a sensitive key (of up to 4 KiB) occurs in `raw`, its value is not in
/// the output. Paths found are appended as "~text/<key>" ("~text/?" for odd-looking keys).
std::string scrub_text(const Redactor& redactor, std::string_view raw,
                       std::vector<std::string>* paths = nullptr);

}  // namespace tether
