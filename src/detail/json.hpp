#pragma once
// Internal JSON helpers on top of Boost.JSON: parsing that reports where it failed,
// and a compact serializer that prints numbers the way people wrote them
// (1.5, not Boost's 1.5E0).
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/differ.hpp"
#include "tether/records.hpp"

namespace tether {
class Redactor;
}

namespace tether::detail {

namespace json = boost::json;

/// Nesting beyond this is treated as a parse error (keeps recursion bounded).
inline constexpr std::size_t max_json_depth = 64;

/// Parse `text`; on failure return nullopt and describe the failure in `*failure` (may be null).
/// `max_depth` is for documents built around parsed ones (a JSON Patch wraps a stored
/// document two levels deeper); stored input keeps the default.
std::optional<json::value> try_parse(std::string_view text, ParseFailure* failure,
                                     json::storage_ptr sp = {}, std::size_t max_depth = max_json_depth);

/// What try_parse_pull_index learns besides the document.
struct PullIndex {
    std::size_t stripped = 0;  ///< snapshots (of the kept `snapshots` member) that lost a payload
    /// The text with every snapshot's `payload` member cut out, byte for byte otherwise.
    /// Set only when a redactor was given and nothing outside the payloads needs it: no
    /// sensitive key and no key or string that may hold a pair, duplicates included. Then
    /// the document needs no redaction either, and parsing this text gives it in full:
    /// the returned document's snapshot objects then hold only their `model` (when it is a
    /// string), which is all the recorder reads of them.
    std::optional<std::string> verbatim;
};

/// try_parse of a pull response, then `payload` erased from every object of the root's
/// `snapshots` array, but the payloads are only scanned, never built (pull_index.cpp).
/// Same failures as try_parse; the same document unless `index.verbatim` is set.
std::optional<json::value> try_parse_pull_index(std::string_view text, ParseFailure* failure, json::storage_ptr sp,
                                                PullIndex& index, const Redactor* redactor = nullptr);
/// Parse or throw JsonError with position.
json::value parse_or_throw(std::string_view text);

/// Fills `*failure` (may be null) for a parse stopped by `ec` after `consumed` bytes.
void describe_failure(std::string_view text, std::size_t consumed, const boost::system::error_code& ec,
                      ParseFailure* failure);
/// 1-based line and column of a byte offset.
void line_column(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& column) noexcept;

/// Compact JSON text.
void append_json(std::string& out, const json::value& v);
std::string to_text(const json::value& v);
void append_json_string(std::string& out, std::string_view s);

/// Stored JSON text back into a value for a JSON answer: "" is null, text that is not
/// JSON (never written by the pipeline, but storage is outside our control) stays a string.
json::value embed(const std::string& text);
/// True when `text` is one JSON value within try_parse's limits; checked without building it.
bool is_json_text(std::string_view text) noexcept;
/// `text` as a JSON member value, the way embed() reads it back: as is when it is JSON
/// (parsing it gives what embed() gives), else as a JSON string.
void append_embedded(std::string& out, std::string_view text);
/// Field changes as [{path, op, from?, to?}] with the values embedded: the one writer of
/// that shape (field_changes_to_json is its text).
json::array changes_value(const std::vector<FieldChange>& changes);
/// Times in JSON answers: ISO-8601 UTC, null when absent.
json::value iso_time(std::optional<Micros> t);
/// Sets `key` (ISO-8601 UTC) and `key`_us (microseconds), both null when absent: the
/// convention of every time in the JSON documents.
void put_time(json::object& o, std::string_view key, std::optional<Micros> t);
/// A string member that may be absent: "" is null.
json::value or_null(const std::string& s);
/// ["a", "b", …]
json::array strings(const std::vector<std::string>& list);

/// A page of a list answer: {"items": [value(item)…], "next_cursor": cursor, null on the last page}.
template <class PageT, class ItemValue>
std::string page_json(const PageT& page, ItemValue&& value) {
    json::array items;
    items.reserve(page.items.size());
    for (const auto& item : page.items) items.push_back(value(item));
    return to_text(json::object{{"items", std::move(items)}, {"next_cursor", or_null(page.next_cursor)}});
}

/// Makes JSON text written by append_json valid UTF-8: every byte that is not part of a
/// well-formed UTF-8 sequence becomes the escape \ufffd. Stored text (headers, bodies that
/// are not JSON) may hold any bytes; append_json writes only ASCII outside strings, so only
/// string contents change. Valid input is left as it is (no copy).
void replace_invalid_utf8(std::string& json_text);

/// Small accessors that never throw.
const json::value* find(const json::object& o, std::string_view key) noexcept;
std::optional<std::string_view> get_string(const json::object& o, std::string_view key) noexcept;
/// A JSON double's value. Boost.JSON 1.81 reads a zero with a huge exponent ("0e400") as
/// NaN (0 x inf): that number is zero, and append_json writes it so (found by fuzz/differ
/// and fuzz/config). Nothing else makes a NaN.
double get_double(const json::value& v) noexcept;
std::optional<std::int64_t> get_int(const json::value& v) noexcept;
/// "string", "number", "object", … for messages.
const char* kind_name(const json::value& v) noexcept;

}  // namespace tether::detail
