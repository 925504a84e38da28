#pragma once
// JSON documents given on the command line (diff sides, --state files), parsed with the
// library's limits and reported with the position of a syntax error.
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace tether::cli {

/// Parses `text` read from `name` (a path or "stdin"). Exit 3 with
/// "NAME: invalid JSON at line L, column C (byte B): reason" when it does not parse
/// (nesting deeper than the library accepts included).
boost::json::value parse_json_input(std::string_view text, const std::string& name);

/// Compact JSON text, numbers as written where possible (1.5, not 1.5E0).
std::string json_text(const boost::json::value& value);

}  // namespace tether::cli
