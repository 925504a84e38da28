#pragma once
// Shared by the fuzz targets: splitting one input into parts, a failing check that
// libFuzzer records as a crash, and oracles that do not trust the code under test
// (sensitive keys and JSON equality are re-implemented here, independently).
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tether::fuzz {

namespace json = boost::json;

/// Separates the parts of one input (request body, response body, …): ASCII "record separator".
inline constexpr char part_separator = '\x1e';
/// Separates the fields of one part (a trace's mutation id, states…): ASCII "unit separator".
inline constexpr char field_separator = '\x1f';
/// Starts the trailing option bytes of an input: ASCII "group separator".
inline constexpr char options_marker = '\x1d';

/// A property was violated: print what and abort, so libFuzzer writes the input as a crash.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "\n==fuzz== property violated: %s\n", what);
    if (!detail.empty())
        std::fprintf(stderr, "==fuzz== detail: %.*s\n", static_cast<int>(std::min<std::size_t>(detail.size(), 2000)),
                     detail.data());
    std::abort();
}

#define FUZZ_CHECK(cond, ...)                                            \
    do {                                                                 \
        if (!(cond)) ::tether::fuzz::fail("FUZZ_CHECK(" #cond ")" __VA_OPT__(, ) __VA_ARGS__); \
    } while (0)

/// `text` cut at every `sep`.
inline std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t pos = text.find(sep, start);
        if (pos == std::string_view::npos) {
            out.push_back(text.substr(start));
            return out;
        }
        out.push_back(text.substr(start, pos - start));
        start = pos + 1;
    }
}

/// Takes trailing option bytes off the input: everything after the last options_marker.
/// Inputs without the marker (plain JSON seeds) get no options: every byte reads as 0.
struct Options {
    std::string_view bytes;
    std::uint8_t at(std::size_t i) const noexcept {
        return i < bytes.size() ? static_cast<std::uint8_t>(bytes[i]) : 0;
    }
    bool bit(std::size_t byte, unsigned b) const noexcept { return (at(byte) >> b) & 1u; }
};
inline Options take_options(std::string_view& input) {
    const std::size_t pos = input.rfind(options_marker);
    if (pos == std::string_view::npos) return {};
    Options o{input.substr(pos + 1)};
    input = input.substr(0, pos);
    return o;
}

// ---- the sensitive-key oracle ------------------------------------------------------------
// KeyRedactor's documented default rule, written again without looking at its code:
// ASCII case folded, '-' and '_' removed, then the key contains one of the default keys.

inline std::string oracle_normalize(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '-' || c == '_') continue;
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
}

inline bool oracle_sensitive(std::string_view key) {
    static const char* const keys[] = {"password", "passwd",     "secret",     "token",     "authorization",
                                       "cookie",   "apikey",     "privatekey", "credential"};
    const std::string n = oracle_normalize(key);
    for (const char* k : keys)
        if (n.find(k) != std::string::npos) return true;
    return false;
}

/// Every value under a sensitive key anywhere in `v` is exactly the marker string.
/// On a violation returns false with `where` set to its JSON Pointer.
inline bool no_secret_values(const json::value& v, std::string_view marker, std::string& where) {
    if (const auto* o = v.if_object()) {
        for (const auto& kv : *o) {
            if (oracle_sensitive(kv.key())) {
                if (!kv.value().is_string() || kv.value().get_string() != marker) {
                    where = "/" + std::string(kv.key());
                    return false;
                }
            } else if (!no_secret_values(kv.value(), marker, where)) {
                where = "/" + std::string(kv.key()) + where;
                return false;
            }
        }
    } else if (const auto* a = v.if_array()) {
        for (std::size_t i = 0; i < a->size(); ++i)
            if (!no_secret_values((*a)[i], marker, where)) {
                where = "/" + std::to_string(i) + where;
                return false;
            }
    }
    return true;
}

/// Resolves a JSON Pointer (RFC 6901) in `v`; nullptr when it does not resolve.
inline const json::value* at_pointer(const json::value& v, std::string_view ptr) {
    const json::value* cur = &v;
    std::size_t pos = 0;
    while (pos < ptr.size()) {
        if (ptr[pos] != '/') return nullptr;
        std::size_t end = ptr.find('/', pos + 1);
        if (end == std::string_view::npos) end = ptr.size();
        std::string token;
        for (std::size_t i = pos + 1; i < end; ++i) {
            if (ptr[i] == '~' && i + 1 < end && (ptr[i + 1] == '0' || ptr[i + 1] == '1')) {
                token += ptr[++i] == '0' ? '~' : '/';
            } else {
                token += ptr[i];
            }
        }
        if (const auto* o = cur->if_object()) {
            cur = o->if_contains(token);
        } else if (const auto* a = cur->if_array()) {
            if (token.empty() || token.find_first_not_of("0123456789") != std::string::npos || token.size() > 9)
                return nullptr;
            const std::size_t i = std::stoul(token);
            cur = i < a->size() ? &(*a)[i] : nullptr;
        } else {
            return nullptr;
        }
        if (!cur) return nullptr;
        pos = end;
    }
    return cur;
}

/// Whether a recorded redaction path points where the redacted document `doc` shows the
/// marker: a plain pointer at the marker itself; "<pointer>/~text/<key>" (a pair hidden inside
/// a string or a key) at a string holding the marker, or at a member whose key holds it.
inline bool marker_at(const json::value& doc, std::string_view path, std::string_view marker) {
    const auto text = path.find("/~text/");
    const json::value* v = at_pointer(doc, path.substr(0, text));
    if (!v) return false;
    if (text == std::string_view::npos) return v->is_string() && v->get_string() == marker;
    return (v->is_string() && std::string_view(v->get_string()).find(marker) != std::string_view::npos) ||
           path.substr(0, text).find(marker) != std::string_view::npos;
}

/// Parses with the limits the library uses (depth 64); nullopt when not JSON.
inline std::optional<json::value> parse(std::string_view text, std::size_t max_depth = 64) {
    json::parse_options opts;
    opts.max_depth = max_depth;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec, {}, opts);
    if (ec) return std::nullopt;
    return v;
}

/// Nesting depth of a value (a scalar is 0).
inline std::size_t depth(const json::value& v) {
    std::size_t d = 0;
    if (const auto* o = v.if_object())
        for (const auto& kv : *o) d = std::max(d, depth(kv.value()));
    else if (const auto* a = v.if_array())
        for (const auto& e : *a) d = std::max(d, depth(e));
    else
        return 0;
    return d + 1;
}

/// Equality as the differ defines it: numbers by value across int64/uint64/double, objects
/// by key set, arrays element-wise.
/// With `approx`, two doubles also match within a relative 1e-14: Boost.JSON 1.81 reads
/// doubles to within an ulp or two (exact parsing arrived in 1.83), so a value written and read
/// back may differ in its last bit. Infinities and zeros still match only exactly.
///
/// Boost.JSON 1.81 also reads a zero with a huge exponent ("0e400") as NaN: such a NaN is zero.
inline json::value nan_is_zero(const json::value& v) {
    return v.is_double() && std::isnan(v.get_double()) ? json::value(0.0) : v;
}
inline bool same_number(const json::value& a_in, const json::value& b_in, bool approx = false) {
    const json::value a = nan_is_zero(a_in), b = nan_is_zero(b_in);
    if (approx && a.is_double() && b.is_double()) {
        const double x = a.get_double(), y = b.get_double();
        if (x == y) return true;
        if (!std::isfinite(x) || !std::isfinite(y)) return false;
        return std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
    }
    auto as_double_exact = [](double d, const json::value& n) {
        if (n.is_double()) return d == n.get_double();
        if (n.is_int64())
            return d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == std::trunc(d) &&
                   static_cast<std::int64_t>(d) == n.get_int64();
        return d >= 0 && d < 18446744073709551616.0 && d == std::trunc(d) &&
               static_cast<std::uint64_t>(d) == n.get_uint64();
    };
    if (a.is_double()) return as_double_exact(a.get_double(), b);
    if (b.is_double()) return as_double_exact(b.get_double(), a);
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const auto& i = a.is_int64() ? a : b;  // one int64, one uint64
    const auto& u = a.is_int64() ? b : a;
    return i.get_int64() >= 0 && static_cast<std::uint64_t>(i.get_int64()) == u.get_uint64();
}

inline bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

inline bool equivalent(const json::value& a, const json::value& b, bool approx = false) {
    if (is_number(a) && is_number(b)) return same_number(a, b, approx);
    if (a.kind() != b.kind()) return false;
    if (const auto* oa = a.if_object()) {
        const auto& ob = b.get_object();
        if (oa->size() != ob.size()) return false;
        for (const auto& kv : *oa) {
            const auto* bv = ob.if_contains(kv.key());
            if (!bv || !equivalent(kv.value(), *bv, approx)) return false;
        }
        return true;
    }
    if (const auto* xa = a.if_array()) {
        const auto& xb = b.get_array();
        if (xa->size() != xb.size()) return false;
        for (std::size_t i = 0; i < xa->size(); ++i)
            if (!equivalent((*xa)[i], xb[i], approx)) return false;
        return true;
    }
    return a == b;
}

}  // namespace tether::fuzz
