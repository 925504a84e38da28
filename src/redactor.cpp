#include "tether/redactor.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "detail/json.hpp"
#include "detail/redact.hpp"
#include "tether/differ.hpp"

namespace tether {
namespace {

char fold(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool ignored(char c) noexcept { return c == '-' || c == '_'; }

std::string normalize(std::string_view key) {
    std::string out;
    for (char c : key)
        if (!ignored(c)) out += fold(c);
    return out;
}

// Does the normalized form of key[i..] start with `pat` (already normalized)? With `whole`
// it must also end there. Works on the raw key so checking never allocates.
bool matches_at(std::string_view key, std::size_t i, std::string_view pat, bool whole) noexcept {
    std::size_t j = 0;
    for (; i < key.size() && j < pat.size(); ++i) {
        if (ignored(key[i])) continue;
        if (fold(key[i]) != pat[j++]) return false;
    }
    if (j < pat.size()) return false;
    if (!whole) return true;
    while (i < key.size() && ignored(key[i])) ++i;
    return i == key.size();
}

}  // namespace

KeyRedactor::KeyRedactor(std::vector<std::string> keys, std::string marker, KeyMatch match)
    : marker_(std::move(marker)), match_(match) {
    for (const auto& k : keys) {
        auto n = normalize(k);
        // An empty key would match every key in `contains` mode.
        if (!n.empty() && std::find(normalized_.begin(), normalized_.end(), n) == normalized_.end()) {
            starts_.set(static_cast<unsigned char>(n[0]));
            normalized_.push_back(std::move(n));
        }
    }
}

bool KeyRedactor::is_sensitive_key(std::string_view key) const noexcept {
    if (match_ == KeyMatch::exact) {
        for (const auto& pat : normalized_)
            if (matches_at(key, 0, pat, true)) return true;
        return false;
    }
    // Called for every key of every stored document: one pass over the key, comparing only
    // where a configured key could start.
    for (std::size_t i = 0; i < key.size(); ++i) {
        const char c = fold(key[i]);
        if (!starts_.test(static_cast<unsigned char>(c))) continue;
        for (const auto& pat : normalized_)
            if (pat[0] == c && matches_at(key, i, pat, false)) return true;
    }
    return false;
}

std::vector<std::string> KeyRedactor::default_keys() {
    return {"password", "passwd", "secret", "token", "authorization", "cookie", "api_key", "private_key", "credential"};
}

namespace detail {

bool may_hold_pair(std::string_view s) noexcept {
    return s.find('=') != std::string_view::npos ||
           (s.find(':') != std::string_view::npos && s.find_first_of("\"'") != std::string_view::npos);
}

bool KeyMemo::sensitive(std::string_view key) {
    if (key.size() > max_len) return r_.is_sensitive_key(key);
    for (std::size_t i = 0; i < used_; ++i)
        if (entries_[i].len == key.size() && std::memcmp(entries_[i].key, key.data(), key.size()) == 0)
            return entries_[i].sensitive;
    Entry& e = entries_[used_ < entries_.size() ? used_++ : next_++ % entries_.size()];
    e.len = static_cast<std::uint8_t>(key.size());
    std::memcpy(e.key, key.data(), key.size());
    e.sensitive = r_.is_sensitive_key(key);
    return e.sensitive;
}

namespace {

// One step of the path from the root; a chain of these lives on the stack during the
// walk and is turned into a string only when something is redacted.
struct Step {
    const Step* parent;
    std::string_view key;
    std::size_t index;
    bool is_index;
};

void append_pointer(std::string& out, const Step* s) {
    if (!s) return;
    append_pointer(out, s->parent);
    out += '/';
    if (s->is_index)
        out += std::to_string(s->index);
    else
        out += json_pointer_escape(s->key);
}

std::string pointer_of(const Step* s) {
    std::string p;
    append_pointer(p, s);
    return p;
}

// scrub_text() on a string found at `at`; true when it hid something. Each value hidden is
// recorded as "<pointer>/~text/<key>" ("~t" is no JSON Pointer escape: no real path looks so).
bool scrub_embedded(std::string_view text, const Redactor& r, const Step* at, std::string& out,
                    std::vector<std::string>& paths) {
    if (!may_hold_pair(text)) return false;
    std::vector<std::string> found;
    out = scrub_text(r, text, &found);
    if (found.empty()) return false;
    const std::string base = pointer_of(at);
    for (auto& f : found) paths.push_back(base + "/" + f);
    return true;
}

// Keys carrying a pair ({"a=1&token=x": …}) are rewritten, which Boost.JSON only allows by
// rebuilding the object; member order is kept, and two keys that differed only in a secret
// stay two members ("#2", "#3"… appended).
void scrub_keys(json::object& o, const Redactor& r, const Step* at, std::vector<std::string>& paths) {
    if (std::none_of(o.begin(), o.end(), [](const json::key_value_pair& kv) { return may_hold_pair(kv.key()); }))
        return;  // the usual case, without allocating
    std::vector<std::vector<std::string>> found(o.size());
    std::vector<std::string> clean(o.size());
    bool any = false;
    std::size_t i = 0;
    for (const auto& kv : o) {
        if (may_hold_pair(kv.key())) {
            clean[i] = scrub_text(r, kv.key(), &found[i]);
            any = any || !found[i].empty();
        }
        ++i;
    }
    if (!any) return;
    json::object out(o.storage());
    out.reserve(o.size());
    i = 0;
    for (auto& kv : o) {
        std::string key = found[i].empty() ? std::string(kv.key()) : std::move(clean[i]);
        if (out.contains(key)) {
            std::size_t n = 2;
            while (out.contains(key + '#' + std::to_string(n))) ++n;
            key += '#' + std::to_string(n);
        }
        if (!found[i].empty()) {
            const std::string base = pointer_of(at) + "/" + json_pointer_escape(key);
            for (auto& f : found[i]) paths.push_back(base + "/" + f);
        }
        out.emplace(key, std::move(kv.value()));
        ++i;
    }
    o = std::move(out);
}

void redact(json::value& v, const Redactor& r, KeyMemo& memo, const Step* at, std::vector<std::string>& paths) {
    if (auto* o = v.if_object()) {
        scrub_keys(*o, r, at, paths);
        for (auto& kv : *o) {
            Step step{at, kv.key(), 0, false};
            if (memo.sensitive(kv.key())) {
                kv.value() = json::string_view(r.marker());
                paths.push_back(pointer_of(&step));
            } else {
                redact(kv.value(), r, memo, &step, paths);
            }
        }
    } else if (auto* a = v.if_array()) {
        for (std::size_t i = 0; i < a->size(); ++i) {
            Step step{at, {}, i, true};
            redact((*a)[i], r, memo, &step, paths);
        }
    } else if (auto* s = v.if_string()) {
        std::string clean;
        if (scrub_embedded(*s, r, at, clean, paths)) *s = clean;
    }
}

}  // namespace

void redact_value(json::value& v, const Redactor& redactor, std::vector<std::string>& paths) {
    KeyMemo memo(redactor);
    redact(v, redactor, memo, nullptr, paths);
}

}  // namespace detail

namespace {

// Longer quoted keys are not considered (the scan stays linear under the global work cap).
constexpr std::size_t max_key_len = 4096;

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_quote(char c) noexcept { return c == '"' || c == '\''; }
bool is_form_key_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}
// Where a form value ends. Also at '"' and '\\' so a field inside a JSON string stops
// at the string's end or at an escape such as "\n"; ';' separates cookies.
bool is_form_stop(char c) noexcept { return c == '&' || c == ';' || c == '"' || c == '\\' || is_space(c); }

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    c = fold(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

// Undo JSON escapes in a key so "pass\u0077ord" is still recognized. Non-ASCII \u
// escapes stay as written: only ASCII matters to the key match.
std::string unescape_key(std::string_view raw) {
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c != '\\' || i + 1 == raw.size()) {
            out += c;
            continue;
        }
        char e = raw[++i];
        switch (e) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case 'r':
                out += '\r';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'u': {
                int v = 0;
                bool ok = i + 4 < raw.size();
                for (std::size_t k = 1; ok && k <= 4; ++k) {
                    int d = hex_digit(raw[i + k]);
                    ok = d >= 0;
                    v = v * 16 + d;
                }
                if (ok && v < 0x80) {
                    out += static_cast<char>(v);
                    i += 4;
                } else {
                    out += "\\u";
                }
                break;
            }
            default:
                out += e;  // \" \\ \/ \' and anything else: the character itself
        }
    }
    return out;
}

// The key as it may appear in a recorded path. Paths are stored, so a key that could
// carry other text (quotes, brackets, '=', long runs) is not copied into them.
std::string path_key(std::string_view key) {
    bool plain = !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
        return is_form_key_char(c) || c == ' ' || c == '$' || c == '@';
    });
    return "~text/" + (plain ? json_pointer_escape(key) : std::string("?"));
}

// Best-effort scrub in two passes: find the spans of every sensitive value, then copy
// the text with merged spans replaced. Candidates are tried at EVERY quote and form-field
// boundary rather than only where a tokenizer would be after a corrupt or truncated
// prefix, so a complete `"key": "secret"` anywhere in the text is always caught, whatever
// precedes it. Total scanning work is bounded; past the budget the rest of the text is
// replaced (pathological input only), so the writer thread never goes quadratic.
class Scrubber {
public:
    Scrubber(const Redactor& r, std::string_view t) : r_(r), t_(t), n_(t.size()), budget_(64 * t.size() + 65536) {}

    std::string run(std::vector<std::string>* paths) {
        want_paths_ = paths != nullptr;
        for (std::size_t i = 0; i < n_; ++i) {
            if (work_ > budget_) {
                hit(i, n_, true, {});  // recorded as "~text/?"
                break;
            }
            char c = t_[i];
            if (is_quote(c))
                try_quoted_key(i);
            else if (is_form_key_char(c) && form_boundary(i))
                try_form_field(i);
        }
        return replace_spans(paths);
    }

private:
    struct Span {
        std::size_t begin, end;
        bool quoted;       // marker as a JSON string (JSON values) or bare (form values)
        std::string path;  // "~text/<key>", when paths are wanted
    };

    // `i` is at an opening quote; returns the index after the closing quote, or n_.
    std::size_t string_end(std::size_t i) {
        const char q = t_[i];
        std::size_t j = i + 1;
        while (j < n_ && t_[j] != q) j += t_[j] == '\\' ? 2 : 1;
        j = std::min(j + 1, n_);
        work_ += j - i;
        return j;
    }

    std::size_t value_end(std::size_t v) {
        const char c = t_[v];
        if (is_quote(c)) return string_end(v);
        std::size_t j = v;
        if (c == '{' || c == '[') {
            std::size_t depth = 0;
            while (j < n_) {
                const char ch = t_[j];
                if (is_quote(ch)) {
                    j = string_end(j);
                    continue;
                }
                if (ch == '{' || ch == '[')
                    ++depth;
                else if ((ch == '}' || ch == ']') && --depth == 0)
                    return j + 1;
                ++j;
                ++work_;
            }
            return n_;
        }
        while (j < n_ && t_[j] != ',' && t_[j] != '}' && t_[j] != ']' && t_[j] != '\n' && t_[j] != '\r') ++j;
        work_ += j - v;
        return j;
    }

    // `"key"` or `'key'`, optional whitespace, ':'.
    void try_quoted_key(std::size_t i) {
        const char q = t_[i];
        const std::size_t limit = std::min(n_, i + 1 + max_key_len);
        std::size_t j = i + 1;
        while (j < limit && t_[j] != q) j += t_[j] == '\\' ? 2 : 1;
        work_ += j - i;
        if (j >= limit) return;
        std::size_t k = j + 1;
        while (k < n_ && is_space(t_[k])) ++k;
        if (k >= n_ || t_[k] != ':') return;
        std::string_view key = t_.substr(i + 1, j - i - 1);
        std::string unescaped;
        if (key.find('\\') != std::string_view::npos) key = unescaped = unescape_key(key);
        if (!r_.is_sensitive_key(key)) return;
        std::size_t v = k + 1;
        while (v < n_ && is_space(t_[v])) ++v;
        if (v >= n_) return;  // truncated right after the colon: no value to hide
        std::size_t e = value_end(v);
        if (e > v) hit(v, e, true, key);
    }

    // Form fields start the text or follow a separator; inside a JSON string also after
    // its opening quote or an escaped newline/tab.
    bool form_boundary(std::size_t i) const noexcept {
        if (i == 0) return true;
        const char p = t_[i - 1];
        if (p == '&' || p == '?' || p == ';' || is_space(p) || is_quote(p)) return true;
        return i >= 2 && t_[i - 2] == '\\' && (p == 'n' || p == 't' || p == 'r');
    }

    void try_form_field(std::size_t i) {
        std::size_t j = i;
        while (j < n_ && j - i < max_key_len && is_form_key_char(t_[j])) ++j;
        work_ += j - i;
        if (j >= n_ || t_[j] != '=') return;
        std::string_view key = t_.substr(i, j - i);
        if (!r_.is_sensitive_key(key)) return;
        std::size_t v = j + 1, e = v;
        // A quoted value may hold stop characters; whatever follows its closing quote up to
        // the next stop is still the value (so a second scrub finds nothing new to hide).
        if (v < n_ && is_quote(t_[v])) e = string_end(v);
        const std::size_t rest = e;
        while (e < n_ && !is_form_stop(t_[e])) ++e;
        work_ += e - rest;
        if (e > v) hit(v, e, false, key);
    }

    void hit(std::size_t begin, std::size_t end, bool quoted, std::string_view key) {
        spans_.push_back({begin, end, quoted, want_paths_ ? path_key(key) : std::string()});
    }

    // One path per replaced span: a pair found inside another's value disappears with it,
    // so it is not reported either (and scrubbing the output again reports the same paths).
    std::string replace_spans(std::vector<std::string>* paths) {
        std::stable_sort(spans_.begin(), spans_.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
        std::string out;
        out.reserve(n_);
        std::size_t pos = 0;
        for (std::size_t s = 0; s < spans_.size();) {
            Span& cur = spans_[s++];
            if (paths) paths->push_back(std::move(cur.path));
            while (s < spans_.size() && spans_[s].begin < cur.end) cur.end = std::max(cur.end, spans_[s++].end);
            out.append(t_.substr(pos, cur.begin - pos));
            if (cur.quoted)
                detail::append_json_string(out, r_.marker());
            else
                out += r_.marker();
            pos = cur.end;
        }
        out.append(t_.substr(pos));
        return out;
    }

    const Redactor& r_;
    std::string_view t_;
    std::size_t n_;
    std::size_t work_ = 0;
    std::size_t budget_;
    std::vector<Span> spans_;
    bool want_paths_ = false;
};

}  // namespace

std::string scrub_text(const Redactor& redactor, std::string_view raw, std::vector<std::string>* paths) {
    return Scrubber(redactor, raw).run(paths);
}

RedactedText redact_json(const Redactor& redactor, std::string_view json) {
    RedactedText out;
    ParseFailure ignored;
    if (auto doc = detail::try_parse(json, &ignored)) {
        detail::redact_value(*doc, redactor, out.paths);
        out.text = detail::to_text(*doc);
    } else {
        out.valid_json = false;
        out.text = scrub_text(redactor, json, &out.paths);
    }
    return out;
}

}  // namespace tether
