#include "tether/differ.hpp"

#include <algorithm>
#include <cmath>

#include "detail/diff.hpp"
#include "detail/json.hpp"
#include "tether/errors.hpp"

namespace tether {
namespace detail {
namespace {

bool is_number(const json::value& v) noexcept { return v.is_int64() || v.is_uint64() || v.is_double(); }

// Exact: a double equals an integer only if it is integral and in range, so 2^53 + 1
// does not compare equal to the double 2^53.
bool double_equals(double d, const json::value& n) noexcept {
    if (n.is_double()) return d == detail::get_double(n);
    if (d != std::trunc(d)) return false;
    if (n.is_int64()) {
        return d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
               static_cast<std::int64_t>(d) == n.get_int64();
    }
    return d >= 0 && d < 18446744073709551616.0 && static_cast<std::uint64_t>(d) == n.get_uint64();
}

bool numbers_equal(const json::value& a, const json::value& b) noexcept {
    if (a.is_double()) return double_equals(detail::get_double(a), b);
    if (b.is_double()) return double_equals(detail::get_double(b), a);
    return a == b;  // Boost compares int64 with uint64 by value
}

// RFC 6901: '~' first, so an escaped '/' ("~1") is not escaped again.
void append_escaped(std::string& out, std::string_view key) {
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
}

void append_token(std::string& path, std::string_view key) {
    path += '/';
    append_escaped(path, key);
}

void append_index(std::string& path, std::size_t i) {
    path += '/';
    path += std::to_string(i);
}

// Walks both documents once and reports differences to a sink, so the field list and
// the patch cannot disagree. `path` is one reused buffer, truncated on the way back.
template <class Sink>
void walk(const json::value& a, const json::value& b, std::string& path, Sink& sink) {
    const std::size_t len = path.size();
    if (a.is_object() && b.is_object()) {
        const auto& oa = a.get_object();
        const auto& ob = b.get_object();
        for (const auto& kv : oa) {
            append_token(path, kv.key());
            if (const auto* bv = find(ob, kv.key()))
                walk(kv.value(), *bv, path, sink);
            else
                sink.removed(path, kv.value());
            path.resize(len);
        }
        for (const auto& kv : ob) {
            if (oa.contains(kv.key())) continue;
            append_token(path, kv.key());
            sink.added(path, kv.value());
            path.resize(len);
        }
        return;
    }
    if (a.is_array() && b.is_array()) {
        const auto& xa = a.get_array();
        const auto& xb = b.get_array();
        const std::size_t common = std::min(xa.size(), xb.size());
        for (std::size_t i = 0; i < common; ++i) {
            append_index(path, i);
            walk(xa[i], xb[i], path, sink);
            path.resize(len);
        }
        for (std::size_t i = common; i < xb.size(); ++i) {  // ascending: each add appends
            append_index(path, i);
            sink.added(path, xb[i]);
            path.resize(len);
        }
        for (std::size_t k = common; k < xa.size(); ++k) {
            // A patch removes from the end so earlier indices stay valid; a diff lists in document order.
            std::size_t i = Sink::removes_descending ? xa.size() - 1 - (k - common) : k;
            append_index(path, i);
            sink.removed(path, xa[i]);
            path.resize(len);
        }
        return;
    }
    if ((is_number(a) && is_number(b)) ? numbers_equal(a, b) : a == b) return;
    sink.changed(path, a, b);
}

struct ChangeSink {
    static constexpr bool removes_descending = false;
    std::vector<FieldChange>& out;
    void added(const std::string& p, const json::value& v) { out.push_back({p, ChangeOp::added, {}, to_text(v)}); }
    void removed(const std::string& p, const json::value& v) { out.push_back({p, ChangeOp::removed, to_text(v), {}}); }
    void changed(const std::string& p, const json::value& a, const json::value& b) {
        out.push_back({p, ChangeOp::changed, to_text(a), to_text(b)});
    }
};

struct PatchSink {
    static constexpr bool removes_descending = true;
    std::string& out;
    bool first = true;
    void op(const char* name, const std::string& p) {
        out += first ? "{\"op\":\"" : ",{\"op\":\"";
        first = false;
        out += name;
        out += "\",\"path\":";
        append_json_string(out, p);
    }
    void added(const std::string& p, const json::value& v) {
        op("add", p);
        out += ",\"value\":";
        append_json(out, v);
        out += '}';
    }
    void removed(const std::string& p, const json::value&) {
        op("remove", p);
        out += '}';
    }
    void changed(const std::string& p, const json::value&, const json::value& b) {
        op("replace", p);
        out += ",\"value\":";
        append_json(out, b);
        out += '}';
    }
};

json::value parse_arg(std::string_view text, const char* which) {
    try {
        return parse_or_throw(text);
    } catch (const JsonError& e) {
        throw JsonError(std::string(which) + ": " + e.what(), e.offset(), e.line(), e.column());
    }
}

[[noreturn]] void malformed(const std::string& what) { throw JsonError("field changes: " + what, 0, 1, 1); }

}  // namespace

void diff_values(const json::value& from, const json::value& to, std::vector<FieldChange>& out) {
    std::string path;
    ChangeSink sink{out};
    walk(from, to, path, sink);
}

void diff_payload(const json::value& state_before, const json::value& payload, std::vector<FieldChange>& out) {
    if (!state_before.is_object() || !payload.is_object()) return diff_values(state_before, payload, out);
    const auto& before = state_before.get_object();
    const auto& sent = payload.get_object();
    std::string path;
    ChangeSink sink{out};
    for (const auto& kv : before) {
        const auto* v = find(sent, kv.key());
        if (!v) continue;  // server-only field (id, timestamps): not part of what the client sent
        append_token(path, kv.key());
        walk(kv.value(), *v, path, sink);
        path.clear();
    }
    for (const auto& kv : sent) {
        if (before.contains(kv.key())) continue;
        append_token(path, kv.key());
        sink.added(path, kv.value());
        path.clear();
    }
}

void append_patch(std::string& out, const json::value& from, const json::value& to) {
    std::string path;
    out += '[';
    PatchSink sink{out};
    walk(from, to, path, sink);
    out += ']';
}

}  // namespace detail

const char* to_string(ChangeOp op) noexcept {
    switch (op) {
        case ChangeOp::added:
            return "added";
        case ChangeOp::removed:
            return "removed";
        case ChangeOp::changed:
            return "changed";
    }
    return "unknown";
}

std::vector<FieldChange> diff_json(std::string_view from_json, std::string_view to_json) {
    auto a = detail::parse_arg(from_json, "diff 'from' document");
    auto b = detail::parse_arg(to_json, "diff 'to' document");
    std::vector<FieldChange> out;
    detail::diff_values(a, b, out);
    return out;
}

std::string json_patch(std::string_view from_json, std::string_view to_json) {
    auto a = detail::parse_arg(from_json, "patch 'from' document");
    auto b = detail::parse_arg(to_json, "patch 'to' document");
    std::string out;
    detail::append_patch(out, a, b);
    return out;
}

// The text of detail::changes_value's shape, written directly: the recorder stores three
// of these per mutation. A side that is not JSON (a hand-built FieldChange) is embedded as a
// string rather than producing invalid output.
std::string field_changes_to_json(const std::vector<FieldChange>& changes) {
    std::string out = "[";
    for (const auto& c : changes) {
        if (out.size() > 1) out += ',';
        out += "{\"path\":";
        detail::append_json_string(out, c.path);
        out += ",\"op\":\"";
        out += to_string(c.op);
        out += '"';
        if (!c.from.empty()) {
            out += ",\"from\":";
            detail::append_embedded(out, c.from);
        }
        if (!c.to.empty()) {
            out += ",\"to\":";
            detail::append_embedded(out, c.to);
        }
        out += '}';
    }
    return out += ']';
}

std::vector<FieldChange> field_changes_from_json(std::string_view json) {
    namespace js = boost::json;
    auto doc = detail::parse_arg(json, "field changes");
    if (!doc.is_array()) detail::malformed(std::string("expected an array of changes, got ") + detail::kind_name(doc));
    std::vector<FieldChange> out;
    out.reserve(doc.get_array().size());
    std::size_t i = 0;
    for (const auto& e : doc.get_array()) {
        const std::string at = "[" + std::to_string(i++) + "]";
        if (!e.is_object()) detail::malformed(at + ": expected an object, got " + detail::kind_name(e));
        const auto& o = e.get_object();
        FieldChange c;
        const js::value* path = detail::find(o, "path");
        if (!path || !path->is_string())
            detail::malformed(at + ".path: expected a string, got " + (path ? detail::kind_name(*path) : "nothing"));
        c.path = std::string(path->get_string());
        const js::value* op = detail::find(o, "op");
        std::string_view name = op && op->is_string() ? std::string_view(op->get_string()) : std::string_view();
        if (name == "added")
            c.op = ChangeOp::added;
        else if (name == "removed")
            c.op = ChangeOp::removed;
        else if (name == "changed")
            c.op = ChangeOp::changed;
        else
            detail::malformed(at + ".op: expected \"added\", \"removed\" or \"changed\"");
        if (const auto* v = detail::find(o, "from")) c.from = detail::to_text(*v);
        if (const auto* v = detail::find(o, "to")) c.to = detail::to_text(*v);
        out.push_back(std::move(c));
    }
    return out;
}

std::string json_pointer_escape(std::string_view key) {
    std::string out;
    out.reserve(key.size());
    detail::append_escaped(out, key);
    return out;
}

}  // namespace tether
