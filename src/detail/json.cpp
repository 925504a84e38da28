#include "detail/json.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <charconv>
#include <cmath>

#include "tether/errors.hpp"

namespace tether::detail {

void line_column(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& column) noexcept {
    line = 1;
    column = 1;
    if (offset > text.size()) offset = text.size();
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
}

std::optional<json::value> try_parse(std::string_view text, ParseFailure* failure, json::storage_ptr sp,
                                     std::size_t max_depth) {
    json::parse_options opts;
    opts.max_depth = max_depth;
    json::stream_parser p(json::storage_ptr(), opts);
    p.reset(std::move(sp));
    boost::system::error_code ec;
    std::size_t consumed = p.write_some(text.data(), text.size(), ec);
    if (!ec && consumed < text.size()) {
        ec = json::error::extra_data;
    }
    if (!ec) p.finish(ec);
    if (!ec && !p.done()) ec = json::error::incomplete;
    if (ec) {
        describe_failure(text, consumed, ec, failure);
        return std::nullopt;
    }
    return p.release();
}

void describe_failure(std::string_view text, std::size_t consumed, const boost::system::error_code& ec,
                      ParseFailure* failure) {
    if (!failure) return;
    failure->message = ec.message();
    failure->offset = consumed;
    line_column(text, consumed, failure->line, failure->column);
}

json::value parse_or_throw(std::string_view text) {
    ParseFailure f;
    auto v = try_parse(text, &f);
    if (!v) {
        throw JsonError("invalid JSON at line " + std::to_string(f.line) + ", column " + std::to_string(f.column) +
                            " (byte " + std::to_string(f.offset) + "): " + f.message,
                        f.offset, f.line, f.column);
    }
    return std::move(*v);
}

void append_json_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;  // start of the current run of characters needing no escape
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                out += "\\u00";
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 15]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

void append_json(std::string& out, const json::value& v) {
    char buf[64];
    switch (v.kind()) {
        case json::kind::null: out += "null"; break;
        case json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
        case json::kind::int64: {
            auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64());
            out.append(buf, r.ptr);
            break;
        }
        case json::kind::uint64: {
            auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
            out.append(buf, r.ptr);
            break;
        }
        case json::kind::double_: {
            double d = v.get_double();
            if (std::isinf(d)) {
                // The parser reads numbers beyond the double range (1e400) as infinities: write
                // one that reads back the same and is still valid JSON (found by fuzz/differ).
                out += d > 0 ? "1e999" : "-1e999";
                break;
            }
            if (std::isnan(d)) {
                // Boost.JSON 1.81 reads a zero with a huge exponent ("0e400") as NaN (0 x inf);
                // that number is zero (found by fuzz/differ). Nothing else makes a NaN.
                out += "0.0";
                break;
            }
            auto r = std::to_chars(buf, buf + sizeof buf, d);
            std::string_view t(buf, static_cast<std::size_t>(r.ptr - buf));
            out.append(t);
            // Keep it a JSON double: "3" would read back as an integer.
            if (t.find_first_of(".eEn") == std::string_view::npos) out += ".0";
            break;
        }
        case json::kind::string: append_json_string(out, v.get_string()); break;
        case json::kind::array: {
            out.push_back('[');
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) out.push_back(',');
                first = false;
                append_json(out, e);
            }
            out.push_back(']');
            break;
        }
        case json::kind::object: {
            out.push_back('{');
            bool first = true;
            for (const auto& kv : v.get_object()) {
                if (!first) out.push_back(',');
                first = false;
                append_json_string(out, kv.key());
                out.push_back(':');
                append_json(out, kv.value());
            }
            out.push_back('}');
            break;
        }
    }
}

std::string to_text(const json::value& v) {
    std::string s;
    append_json(s, v);
    return s;
}

const json::value* find(const json::object& o, std::string_view key) noexcept {
    auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
}

std::optional<std::string_view> get_string(const json::object& o, std::string_view key) noexcept {
    const auto* v = find(o, key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string_view(v->get_string());
}

double get_double(const json::value& v) noexcept {
    const double d = v.get_double();
    return std::isnan(d) ? 0.0 : d;
}

std::optional<std::int64_t> get_int(const json::value& v) noexcept {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.get_uint64());
    if (v.is_double()) {
        double d = v.get_double();
        if (d == std::floor(d) && std::fabs(d) < 9.0e18) return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
}

const char* kind_name(const json::value& v) noexcept {
    switch (v.kind()) {
        case json::kind::null: return "null";
        case json::kind::bool_: return "boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_: return "number";
        case json::kind::string: return "string";
        case json::kind::array: return "array";
        case json::kind::object: return "object";
    }
    return "unknown";
}

json::value embed(const std::string& text) {
    if (text.empty()) return nullptr;
    ParseFailure ignored;
    if (auto v = try_parse(text, &ignored)) return std::move(*v);
    return json::value(text);
}

namespace {

// A basic_parser handler that keeps nothing: validation only.
struct NullHandler {
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();
    using ec = boost::system::error_code;
    bool on_document_begin(ec&) { return true; }
    bool on_document_end(ec&) { return true; }
    bool on_object_begin(ec&) { return true; }
    bool on_object_end(std::size_t, ec&) { return true; }
    bool on_array_begin(ec&) { return true; }
    bool on_array_end(std::size_t, ec&) { return true; }
    bool on_key_part(json::string_view, std::size_t, ec&) { return true; }
    bool on_key(json::string_view, std::size_t, ec&) { return true; }
    bool on_string_part(json::string_view, std::size_t, ec&) { return true; }
    bool on_string(json::string_view, std::size_t, ec&) { return true; }
    bool on_number_part(json::string_view, ec&) { return true; }
    bool on_int64(std::int64_t, json::string_view, ec&) { return true; }
    bool on_uint64(std::uint64_t, json::string_view, ec&) { return true; }
    bool on_double(double, json::string_view, ec&) { return true; }
    bool on_bool(bool, ec&) { return true; }
    bool on_null(ec&) { return true; }
    bool on_comment_part(json::string_view, ec&) { return true; }
    bool on_comment(json::string_view, ec&) { return true; }
};

}  // namespace

bool is_json_text(std::string_view text) noexcept {
    json::parse_options opts;
    opts.max_depth = max_json_depth;
    json::basic_parser<NullHandler> p(opts);
    boost::system::error_code ec;
    const std::size_t consumed = p.write_some(false, text.data(), text.size(), ec);
    return !ec && consumed == text.size() && p.done();
}

void append_embedded(std::string& out, std::string_view text) {
    if (is_json_text(text))
        out.append(text.data(), text.size());
    else
        append_json_string(out, text);
}

json::array changes_value(const std::vector<FieldChange>& list) {
    json::array out;
    for (const auto& c : list) {
        json::object o{{"path", c.path}, {"op", to_string(c.op)}};
        if (!c.from.empty()) o["from"] = embed(c.from);
        if (!c.to.empty()) o["to"] = embed(c.to);
        out.push_back(std::move(o));
    }
    return out;
}

json::value iso_time(std::optional<Micros> t) {
    if (!t) return nullptr;
    return json::value(format_iso8601(*t));
}

void put_time(json::object& o, std::string_view key, std::optional<Micros> t) {
    o[key] = iso_time(t);
    o[std::string(key) + "_us"] = t ? json::value(*t) : json::value(nullptr);
}

json::value or_null(const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); }

json::array strings(const std::vector<std::string>& list) {
    json::array out;
    out.reserve(list.size());
    for (const auto& s : list) out.emplace_back(s);
    return out;
}

namespace {

// Length of the well-formed UTF-8 sequence (RFC 3629) starting at s[i]; 0 when ill-formed
// (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, cut short).
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char lead = byte(i);
    if (lead < 0x80) return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3;
        if (lead == 0xE0)
            lo = 0xA0;  // overlong
        else if (lead == 0xED)
            hi = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        if (lead == 0xF0)
            lo = 0x90;  // overlong
        else if (lead == 0xF4)
            hi = 0x8F;  // > U+10FFFF
    } else {
        return 0;
    }
    if (s.size() - i < n) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    return n;
}

}  // namespace

void replace_invalid_utf8(std::string& text) {
    std::size_t i = 0, n = 0;
    while (i < text.size() && (n = utf8_sequence(text, i)) != 0) i += n;
    if (i == text.size()) return;  // the usual case: nothing to copy
    std::string out;
    out.reserve(text.size() + 16);
    out.append(text, 0, i);
    while (i < text.size()) {
        n = utf8_sequence(text, i);
        if (n == 0) {
            out += "\\ufffd";
            ++i;
        } else {
            out.append(text, i, n);
            i += n;
        }
    }
    text = std::move(out);
}

}  // namespace tether::detail
