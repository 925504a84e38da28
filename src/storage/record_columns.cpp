#include "storage/record_columns.hpp"

#include <array>
#include <charconv>
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>

#include "detail/json.hpp"
#include "tether/errors.hpp"

namespace tether::detail::columns {
namespace {

namespace json = boost::json;

void append_counts(std::string& out, std::initializer_list<std::uint64_t> counts) {
    out += '[';
    bool first = true;
    for (auto n : counts) {
        if (!first) out += ',';
        first = false;
        out += std::to_string(n);
    }
    out += ']';
}

// The breakdowns are positional arrays: see models_json.
static_assert(sizeof(ModelCounts) == 3 * sizeof(std::uint64_t) && sizeof(ClientCounts) == 3 * sizeof(std::uint64_t),
              "ModelCounts/ClientCounts changed: update models_json, clients_json and Decoder::models/clients");

// Fast path for exactly what models_json/clients_json write: no whitespace, no escapes,
// plain integers. A dashboard read decodes thousands of these, and a DOM parse costs
// several times more. Returns false on anything else (`out` may then hold part of it).
template <std::size_t N, class Counts, class Make>
bool counts_fast(std::string_view t, std::map<std::string, Counts>& out, Make&& make) {
    const std::size_t n = t.size();
    if (n < 2 || t[0] != '{') return false;
    std::size_t i = 1;
    if (t[i] == '}') return n == 2;
    for (;;) {
        if (i >= n || t[i] != '"') return false;
        const std::size_t key = ++i;
        while (i < n && t[i] != '"') {
            if (t[i] == '\\' || static_cast<unsigned char>(t[i]) < 0x20) return false;
            ++i;
        }
        if (i + 2 >= n || t[i + 1] != ':' || t[i + 2] != '[') return false;
        const std::string_view name = t.substr(key, i - key);
        i += 3;
        std::array<std::uint64_t, N> counts{};
        for (std::size_t j = 0;; ++j) {
            if (i + 1 < n && t[i] == '0' && t[i + 1] >= '0' && t[i + 1] <= '9') return false;  // not JSON
            std::uint64_t v = 0;
            auto r = std::from_chars(t.data() + i, t.data() + n, v);
            if (r.ec != std::errc()) return false;
            if (j < N) counts[j] = v;
            i = static_cast<std::size_t>(r.ptr - t.data());
            if (i >= n) return false;
            if (t[i] == ']') break;
            if (t[i] != ',') return false;
            ++i;
        }
        out.insert_or_assign(out.end(), std::string(name), make(counts));  // written sorted: O(1) hint
        if (++i >= n) return false;
        if (t[i] == '}') return i + 1 == n;
        if (t[i] != ',') return false;
        ++i;
    }
}

template <std::size_t N, class Counts, class Make>
void counts_from(const Decoder& d, const std::string& text, const char* column, std::map<std::string, Counts>& out,
                 Make&& make) {
    out.clear();
    if (counts_fast<N>(text, out, make)) return;
    out.clear();
    auto v = d.parse(text, column);
    if (!v.is_object()) d.corrupt(column);
    for (const auto& kv : v.get_object()) {
        if (!kv.value().is_array()) d.corrupt(column);
        const auto& a = kv.value().get_array();
        std::array<std::uint64_t, N> n{};
        for (std::size_t i = 0; i < a.size(); ++i) {
            std::uint64_t count = 0;
            if (a[i].is_uint64())
                count = a[i].get_uint64();
            else if (a[i].is_int64() && a[i].get_int64() >= 0)
                count = static_cast<std::uint64_t>(a[i].get_int64());
            else
                d.corrupt(column);
            if (i < N) n[i] = count;
        }
        out.insert_or_assign(std::string(kv.key()), make(n));
    }
}

std::string member_string(const Decoder& d, const json::object& o, std::string_view key, const char* column) {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string()) d.corrupt(column);
    return std::string(v->get_string());
}

}  // namespace

// ---- Writing ---------------------------------------------------------------------------

std::string strings_json(const std::vector<std::string>& v) {
    std::string out = "[";
    for (const auto& s : v) {
        if (out.size() > 1) out += ',';
        append_json_string(out, s);
    }
    return out += ']';
}

std::string headers_json(const std::vector<Header>& v) {
    std::string out = "[";
    for (const auto& h : v) {
        if (out.size() > 1) out += ',';
        out += "{\"name\":";
        append_json_string(out, h.name);
        out += ",\"value\":";
        append_json_string(out, h.value);
        out += '}';
    }
    return out += ']';
}

std::string notes_json(const std::vector<ParseNote>& v) {
    std::string out = "[";
    for (const auto& n : v) {
        if (out.size() > 1) out += ',';
        out += "{\"where\":";
        append_json_string(out, n.where);
        out += ",\"path\":";
        append_json_string(out, n.path);
        out += ",\"message\":";
        append_json_string(out, n.message);
        out += ",\"protocol_error\":";
        out += n.protocol_error ? "true}" : "false}";
    }
    return out += ']';
}

std::string parse_failure_json(const ParseFailure& f) {
    std::string out = "{\"message\":";
    append_json_string(out, f.message);
    out += ",\"offset\":" + std::to_string(f.offset) + ",\"line\":" + std::to_string(f.line) +
           ",\"column\":" + std::to_string(f.column) + "}";
    return out;
}

std::string changes_json(const std::vector<FieldChange>& v) { return v.empty() ? "[]" : field_changes_to_json(v); }

std::string id_map_json(const std::vector<MutationIdChange>& map) {
    std::string out = "[";
    for (const auto& c : map) {
        if (out.size() > 1) out += ',';
        out += '[';
        append_json_string(out, c.from);
        out += ',';
        append_json_string(out, c.to);
        out += ']';
    }
    return out += ']';
}

std::string skipped_json(const std::vector<SkippedMutation>& skipped) {
    std::string out = "[";
    for (const auto& m : skipped) {
        if (out.size() > 1) out += ',';
        out += "{\"seq\":" + std::to_string(m.seq) + ",\"mutation_id\":";
        append_json_string(out, m.mutation_id);
        out += ",\"reason\":";
        append_json_string(out, m.reason);
        out += '}';
    }
    return out += ']';
}

std::string models_json(const std::map<std::string, ModelCounts>& models) {
    std::string out = "{";
    for (const auto& [name, c] : models) {
        if (out.size() > 1) out += ',';
        append_json_string(out, name);
        out += ':';
        append_counts(out, {c.mutations, c.conflicts, c.failures});
    }
    return out += '}';
}

std::string clients_json(const std::map<std::string, ClientCounts>& clients) {
    std::string out = "{";
    for (const auto& [id, c] : clients) {
        if (out.size() > 1) out += ',';
        append_json_string(out, id);
        out += ':';
        append_counts(out, {c.requests, c.mutations, c.failures});
    }
    return out += '}';
}

// ---- Reading ---------------------------------------------------------------------------

void Decoder::corrupt(const char* column) const {
    throw StorageError(std::string(backend_) + ": column " + column + " holds a value this version cannot read", false);
}

json::value Decoder::parse(const std::string& text, const char* column) const {
    json::parse_options opts;
    opts.allow_invalid_utf8 = true;  // header values and messages keep the bytes they came with
    boost::system::error_code ec;
    auto v = json::parse(text, ec, {}, opts);
    if (ec) corrupt(column);
    return v;
}

std::vector<std::string> Decoder::strings(const std::string& text, const char* column) const {
    auto v = parse(text, column);
    if (!v.is_array()) corrupt(column);
    std::vector<std::string> out;
    for (const auto& e : v.get_array()) {
        if (!e.is_string()) corrupt(column);
        out.emplace_back(e.get_string());
    }
    return out;
}

std::vector<Header> Decoder::headers(const std::string& text, const char* column) const {
    auto v = parse(text, column);
    if (!v.is_array()) corrupt(column);
    std::vector<Header> out;
    for (const auto& e : v.get_array()) {
        if (!e.is_object()) corrupt(column);
        out.push_back({member_string(*this, e.get_object(), "name", column),
                       member_string(*this, e.get_object(), "value", column)});
    }
    return out;
}

std::vector<ParseNote> Decoder::notes(const std::string& text, const char* column) const {
    auto v = parse(text, column);
    if (!v.is_array()) corrupt(column);
    std::vector<ParseNote> out;
    for (const auto& e : v.get_array()) {
        if (!e.is_object()) corrupt(column);
        const auto& o = e.get_object();
        ParseNote n;
        n.where = member_string(*this, o, "where", column);
        n.path = member_string(*this, o, "path", column);
        n.message = member_string(*this, o, "message", column);
        const auto* pe = o.if_contains("protocol_error");
        n.protocol_error = pe && pe->is_bool() && pe->get_bool();
        out.push_back(std::move(n));
    }
    return out;
}

ParseFailure Decoder::parse_failure(const std::string& text, const char* column) const {
    auto v = parse(text, column);
    if (!v.is_object()) corrupt(column);
    const auto& o = v.get_object();
    ParseFailure f;
    f.message = member_string(*this, o, "message", column);
    auto number = [&](std::string_view key) {
        const auto* n = o.if_contains(key);
        auto i = n ? get_int(*n) : std::nullopt;
        if (!i || *i < 0) corrupt(column);
        return static_cast<std::size_t>(*i);
    };
    f.offset = number("offset");
    f.line = number("line");
    f.column = number("column");
    return f;
}

std::vector<FieldChange> Decoder::changes(const std::string& text, const char* column) const {
    if (text.empty() || text == "[]") return {};
    try {
        return field_changes_from_json(text);
    } catch (const JsonError&) {
        corrupt(column);
    }
}

std::vector<MutationIdChange> Decoder::id_map(const std::string& text, const char* column) const {
    auto v = parse(text, column);
    if (!v.is_array()) corrupt(column);
    std::vector<MutationIdChange> out;
    for (const auto& e : v.get_array()) {
        if (!e.is_array() || e.get_array().size() != 2 || !e.get_array()[0].is_string() ||
            !e.get_array()[1].is_string())
            corrupt(column);
        out.push_back({std::string(e.get_array()[0].get_string()), std::string(e.get_array()[1].get_string())});
    }
    return out;
}

std::vector<SkippedMutation> Decoder::skipped(const std::string& text, const char* column) const {
    auto v = parse(text, column);
    if (!v.is_array()) corrupt(column);
    std::vector<SkippedMutation> out;
    for (const auto& e : v.get_array()) {
        if (!e.is_object()) corrupt(column);
        const auto* seq = e.get_object().if_contains("seq");
        auto n = seq ? get_int(*seq) : std::nullopt;
        if (!n || *n < 0 || *n > UINT32_MAX) corrupt(column);
        out.push_back({static_cast<std::uint32_t>(*n), member_string(*this, e.get_object(), "mutation_id", column),
                       member_string(*this, e.get_object(), "reason", column)});
    }
    return out;
}

void Decoder::models(const std::string& text, const char* column, std::map<std::string, ModelCounts>& out) const {
    counts_from<3>(*this, text, column, out, [](const std::array<std::uint64_t, 3>& n) {
        return ModelCounts{n[0], n[1], n[2]};
    });
}

void Decoder::clients(const std::string& text, const char* column, std::map<std::string, ClientCounts>& out) const {
    counts_from<3>(*this, text, column, out, [](const std::array<std::uint64_t, 3>& n) {
        return ClientCounts{n[0], n[1], n[2]};
    });
}

LatencyHistogram Decoder::latency(const std::string& text, const char* column) const {
    try {
        return LatencyHistogram::decode(text);
    } catch (const std::invalid_argument&) {
        corrupt(column);
    }
}

}  // namespace tether::detail::columns
