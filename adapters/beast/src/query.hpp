#pragma once
// The query string of a dashboard request, validated: unknown or repeated parameters,
// malformed numbers, times and enums are errors that name the parameter (HTTP 400).
#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "tether/clock.hpp"

namespace tether::beast::detail {

class Query {
public:
    /// Parses the query of an origin-form target ("/path?a=1&b=2"); percent-decodes names
    /// and values ('+' is a space). Throws HttpError 400 (parameter "query") when malformed.
    static Query parse(std::string_view target);

    /// Refuse any parameter not in `names` (a typo must not silently return everything).
    void allow_only(std::initializer_list<std::string_view> names) const;

    /// The value, or "" when absent or empty. Longer than `max_length` is an error.
    std::string text(std::string_view name, std::size_t max_length = 256) const;
    /// 1/0/true/false; absent or empty = nullopt.
    std::optional<bool> flag(std::string_view name) const;
    /// A time as ISO-8601 with offset ("2026-11-24T10:05:00Z") or integer microseconds.
    std::optional<Micros> time(std::string_view name) const;
    /// A whole number in [min, max]; absent = `fallback`.
    long long number(std::string_view name, long long fallback, long long min, long long max) const;
    /// `limit` in 1..500 (default `fallback`).
    std::size_t limit(std::size_t fallback = 50) const;

    /// Parses `name` with `parse` (returning std::optional); `expected` lists the valid values.
    template <class Parse>
    auto choice(std::string_view name, Parse parse, std::string_view expected) const -> decltype(parse(name)) {
        const std::string value = text(name);
        if (value.empty()) return std::nullopt;
        auto parsed = parse(value);
        if (!parsed) invalid(name, "expected one of " + std::string(expected) + got(value));
        return parsed;
    }

    [[noreturn]] static void invalid(std::string_view name, const std::string& expected);
    /// ", got 'value'" with the value made printable and short, for those messages.
    static std::string got(std::string_view value);

private:
    std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace tether::beast::detail
