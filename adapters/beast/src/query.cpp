#include "query.hpp"

#include <boost/url/parse.hpp>
#include <charconv>

#include "http_util.hpp"
#include "tether/storage.hpp"

namespace tether::beast::detail {

namespace {
// Names and values come from the client: echo them printable and at most 64 characters,
// never as raw bytes. A cut value ends with "..." (a name is also the `parameter` member, which
// is compared as is).
std::string printable(std::string_view s, bool mark_cut) {
    const bool cut = mark_cut && s.size() > 64;
    std::string out;
    for (char c : s.substr(0, cut ? 61 : 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return cut ? out + "..." : out;
}
}  // namespace

void Query::invalid(std::string_view name, const std::string& expected) {
    const std::string shown = printable(name, false);
    throw HttpError(http::status::bad_request, "invalid_parameter", "query parameter '" + shown + "': " + expected,
                    shown);
}

std::string Query::got(std::string_view value) { return ", got '" + printable(value, true) + "'"; }

Query Query::parse(std::string_view target) {
    auto url = boost::urls::parse_origin_form(target);
    if (!url)
        throw HttpError(http::status::bad_request, "invalid_target",
                        "the request target is not a valid path and query: " + url.error().message(), "query");
    Query q;
    for (const auto& param : url->params()) {
        if (param.key.empty()) continue;  // "?&a=1" and trailing '&' are harmless
        if (!q.values_.emplace(param.key, param.value).second)
            invalid(param.key, "given more than once; expected a single value");
    }
    return q;
}

void Query::allow_only(std::initializer_list<std::string_view> names) const {
    for (const auto& [name, value] : values_) {
        bool known = false;
        for (auto n : names) known = known || n == name;
        if (known) continue;
        std::string list;
        for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
        invalid(name, "unknown parameter; this route accepts " + (list.empty() ? std::string("none") : list));
    }
}

std::string Query::text(std::string_view name, std::size_t max_length) const {
    auto it = values_.find(name);
    if (it == values_.end()) return {};
    if (it->second.size() > max_length)
        invalid(name, "longer than " + std::to_string(max_length) + " characters");
    return it->second;
}

std::optional<bool> Query::flag(std::string_view name) const {
    const std::string v = text(name);
    if (v.empty()) return std::nullopt;
    if (v == "1" || v == "true") return true;
    if (v == "0" || v == "false") return false;
    invalid(name, "expected 1, 0, true or false" + got(v));
}

std::optional<Micros> Query::time(std::string_view name) const {
    const std::string v = text(name, 64);
    if (v.empty()) return std::nullopt;
    if (auto t = parse_iso8601(v)) return t;
    Micros us = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), us);
    if (ec == std::errc() && end == v.data() + v.size()) return us;
    // "+01:00" unencoded in a URL reads as " 01:00": say so, it is the usual cause.
    const bool lost_plus = v.find(' ') != std::string::npos;
    invalid(name, "expected an ISO-8601 time with a zone (2026-11-24T10:05:00Z) or microseconds since 1970" + got(v) +
                      (lost_plus ? " (a '+' in a URL query means a space: write it as %2B)" : ""));
}

long long Query::number(std::string_view name, long long fallback, long long min, long long max) const {
    const std::string v = text(name, 32);
    if (v.empty()) return fallback;
    long long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < min || n > max)
        invalid(name, "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) + got(v));
    return n;
}

std::size_t Query::limit(std::size_t fallback) const {
    return static_cast<std::size_t>(number("limit", static_cast<long long>(fallback), 1,
                                           static_cast<long long>(PageRequest::max_limit)));
}

}  // namespace tether::beast::detail
