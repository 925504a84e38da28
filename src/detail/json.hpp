#pragma once
// Internal JSON helpers on top of Boost.JSON: parsing that reports where it failed,
// and a compact serializer that prints numbers the way people wrote them
// (1.5, not Boost's 1.5E0).
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "tether/differ.hpp"
#include "tether/records.hpp"

namespace tether::detail {

namespace json = boost::json;

/// Nesting beyond this is treated as a parse error (keeps recursion bounded).
inline constexpr std::size_t max_json_depth = 64;

/// Parse `text`; on failure return nullopt and describe the failure in `*failure`.
std::optional<json::value> try_parse(std::string_view text, ParseFailure* failure,
                                     json::storage_ptr sp = {});

/// Parse or throw JsonError with position.
json::value parse_or_throw(std::string_view text);

/// 1-based line and column of a byte offset.
void line_column(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& column) noexcept;

/// Compact JSON text.
void append_json(std::string& out, const json::value& v);
std::string to_text(const json::value& v);
void append_json_string(std::string& out, std::string_view s);

/// Stored JSON text back into a value for a JSON answer: "" is null, text that is not
/// JSON (never written by the pipeline, but storage is outside our control) stays a string.
json::value embed(const std::string& text);
/// Field changes as [{path, op, from?, to?}] with the values embedded.
json::array changes_value(const std::vector<FieldChange>& changes);
/// Times in JSON answers: ISO-8601 UTC, null when absent.
json::value iso_time(std::optional<Micros> t);

/// Small accessors that never throw.
const json::value* find(const json::object& o, std::string_view key) noexcept;
std::optional<std::string_view> get_string(const json::object& o, std::string_view key) noexcept;
std::optional<std::int64_t> get_int(const json::value& v) noexcept;
/// "string", "number", "object", … for messages.
const char* kind_name(const json::value& v) noexcept;

}  // namespace tether::detail
