// Parsing a pull response without building its snapshots' payloads. A pull response is
// most of the bytes a sync server sends, and with recorder.pull_payloads = "index" the
// payloads are thrown away right after parsing; building them cost more than everything
// else the recorder does with a pull. This handler feeds Boost.JSON's own value_stack (so
// the document is exactly what json::parse builds) and only scans the payload values.
//
// It also marks where each payload member lies in the text. When nothing outside the
// payloads needs redaction, the text with those members cut out is what gets stored: the
// response as the client received it, without re-serializing the document or walking it
// with the redactor (both cost as much again as the parse).
#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <vector>

#include "detail/json.hpp"
#include "detail/redact.hpp"

namespace tether::detail {
namespace {

using boost::system::error_code;

class IndexHandler {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    IndexHandler(json::storage_ptr sp, std::string_view text, const Redactor* redactor)
        : text_(text), verbatim_ok_(redactor != nullptr), lean_(redactor != nullptr) {
        st.reset(std::move(sp));
        if (redactor) memo_.emplace(*redactor);
    }

    json::value_stack st;

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }

    bool on_object_begin(error_code&) {
        if (skip_begin()) return true;
        bracket();
        const Role role = frames_.empty()                          ? Role::root
                          : frames_.back().role == Role::snapshots ? Role::snapshot
                                                                   : Role::other;
        begin_frame(role);
        return true;
    }
    bool on_object_end(std::size_t n, error_code&) {
        if (skip_end()) return true;
        if (cut_ == Cut::after_payload && frames_.size() == cut_frame_) {
            cut_ = Cut::last_member;  // its end is found from the next token's position
            brackets_ = 0;
        }
        bracket();
        const Frame f = frames_.back();
        frames_.pop_back();
        if (f.role == Role::snapshot && f.skipped > 0) ++stripped_;
        if (!f.lean) {
            st.push_object(n - f.skipped);
        } else if (--lean_depth_ == 0) {  // a lean snapshot: only its model
            if (model_) {
                st.push_key("model");
                st.push_string(*model_);
            }
            st.push_object(model_ ? 1 : 0);
        }
        value_done();
        return true;
    }
    bool on_array_begin(error_code&) {
        if (skip_begin()) return true;
        bracket();
        const bool snapshots = frames_.size() == 1 && root_key_is_snapshots_;  // set only in a root object
        begin_frame(snapshots ? Role::snapshots : Role::other);
        return true;
    }
    bool on_array_end(std::size_t n, error_code&) {
        if (skip_end()) return true;
        bracket();
        const Frame f = frames_.back();
        frames_.pop_back();
        if (!f.lean) st.push_array(n);
        else --lean_depth_;
        value_done();
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t, error_code&) {
        if (skipping_) return true;
        verbatim_ok_ = false;  // escaped: no place in the text to cut at
        if (buffers_key()) key_.append(s.data(), s.size());
        else if (!lean_depth_) st.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code&) {
        if (skipping_) return true;
        const std::size_t at = token(s);
        if (verbatim_ok_) check(s, true);
        Frame& f = frames_.back();
        if (!buffers_key()) {
            if (!lean_depth_) st.push_key(s);
            return true;
        }
        key_.append(s.data(), s.size());
        if (f.role == Role::snapshot && key_ == "payload") {
            ++f.skipped;
            skipping_ = true;  // the value that follows is scanned, not built
            model_member_ = false;
            if (verbatim_ok_) {
                cut_ = Cut::in_payload;
                cut_from_ = at;
                cut_frame_ = frames_.size();
            }
        } else {
            if (f.role == Role::root) {
                root_key_is_snapshots_ = key_ == "snapshots";
                // The last "snapshots" member wins, as in json::parse: count only its payloads.
                if (root_key_is_snapshots_) stripped_ = 0;
            }
            if (f.lean) model_member_ = key_ == "model";
            else st.push_key(key_);
        }
        key_.clear();
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t, error_code&) {
        if (skipping_) return true;
        verbatim_ok_ = false;
        if (!lean_depth_) st.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, error_code&) {
        if (!skipping_) {
            token(s);
            if (verbatim_ok_) check(s, false);
        }
        return scalar([&] { st.push_string(s); }, &s);
    }
    bool on_number_part(json::string_view, error_code&) { return true; }
    bool on_int64(std::int64_t i, json::string_view, error_code&) {
        return scalar([&] { st.push_int64(i); });
    }
    bool on_uint64(std::uint64_t u, json::string_view, error_code&) {
        return scalar([&] { st.push_uint64(u); });
    }
    bool on_double(double d, json::string_view, error_code&) {
        return scalar([&] { st.push_double(d); });
    }
    bool on_bool(bool b, error_code&) {
        return scalar([&] { st.push_bool(b); });
    }
    bool on_null(error_code&) {
        return scalar([&] { st.push_null(); });
    }
    bool on_comment_part(json::string_view, error_code&) { return true; }
    bool on_comment(json::string_view, error_code&) { return true; }

    /// Snapshot objects of the kept (last) `snapshots` member that lost their payload.
    std::size_t stripped() const noexcept { return stripped_; }

    /// The text without its payload members, once the whole document was read; nullopt
    /// when something outside the payloads may need redaction or could not be placed.
    std::optional<std::string> verbatim() {
        if (!verbatim_ok_) return std::nullopt;
        if (cut_ == Cut::last_member) place_next(text_.size());
        if (!verbatim_ok_ || cut_ != Cut::none) return std::nullopt;
        std::string out;
        out.reserve(text_.size());
        std::size_t from = 0;
        for (const auto& [b, e] : cuts_) {
            if (b < from) return std::nullopt;  // cannot happen: cuts are merged in order
            out.append(text_.data() + from, b - from);
            from = e;
        }
        out.append(text_.data() + from, text_.size() - from);
        return out;
    }

private:
    enum class Role : std::uint8_t { root, snapshots, snapshot, other };
    struct Frame {
        Role role;
        std::size_t skipped = 0;  // payload members left out of this object
        bool lean = false;        // in a lean snapshot: not built
    };

    // Lean snapshots: while the text may still be stored verbatim, a snapshot object is
    // built as its "model" member alone (all the recorder reads of it); its other members
    // are checked and placed but not built. Should the text turn out to need the redactor
    // after all, the caller parses it again without a redactor.
    void begin_frame(Role role) {
        if (lean_depth_ == 1 && model_member_) set_model(nullptr);  // a container is no model name
        Frame f{role};
        f.lean = lean_depth_ > 0 || (role == Role::snapshot && lean_);
        if (f.lean && lean_depth_++ == 0) model_.reset();
        frames_.push_back(f);
    }
    // json::parse keeps the last of duplicate members: so does this.
    void set_model(const json::string_view* s) {
        if (s) model_.emplace(s->data(), s->size());
        else model_.reset();
    }

    // Keys are only inspected in the root and in snapshot objects; elsewhere they stream.
    bool buffers_key() const { return frames_.back().role == Role::root || frames_.back().role == Role::snapshot; }

    // A container inside a skipped payload only changes the depth.
    bool skip_begin() {
        if (!skipping_) return false;
        ++skip_depth_;
        return true;
    }
    bool skip_end() {
        if (!skipping_) return false;
        if (--skip_depth_ == 0) payload_done();
        return true;
    }
    void payload_done() {
        skipping_ = false;
        if (cut_ == Cut::in_payload) cut_ = Cut::after_payload;
    }

    // Where the cuts go. A payload member followed by another member is cut from its key
    // to the next key: `"payload":…,`. The last member of its object is cut from the comma
    // before its key to the end of its value; that end is found from the next token with a
    // place in the text (a key, a string or the end of the text) by stepping back over the
    // brackets, commas and spaces seen since.
    enum class Cut : std::uint8_t { none, in_payload, after_payload, last_member };

    // A key or string outside the payloads: its view points into the text unless it was
    // escaped. Returns the offset of its opening quote, and places a pending cut there.
    std::size_t token(json::string_view s) {
        if (!verbatim_ok_) return 0;
        // Compared as integers: an escaped token's view points into the parser's own buffer.
        const auto p = reinterpret_cast<std::uintptr_t>(s.data());
        const auto base = reinterpret_cast<std::uintptr_t>(text_.data());
        if (p <= base || p - base + s.size() >= text_.size() || text_[p - base - 1] != '"' ||
            text_[p - base + s.size()] != '"') {
            verbatim_ok_ = false;
            return 0;
        }
        const std::size_t at = p - base - 1;
        if (cut_ == Cut::after_payload) {
            add_cut(cut_from_, at);
            cut_ = Cut::none;
        } else if (cut_ == Cut::last_member) {
            place_next(at);
        }
        return at;
    }
    void place_next(std::size_t next) {
        std::size_t end = next;
        while (end > cut_from_) {
            const char c = text_[end - 1];
            if (is_space(c) || c == ',') {
                --end;
            } else if (brackets_ > 0 && (c == '{' || c == '}' || c == '[' || c == ']')) {
                --brackets_;
                --end;
            } else {
                break;
            }
        }
        if (brackets_ != 0) verbatim_ok_ = false;
        // Take the comma before the member with it, if there is one; before the first of
        // several payload members in a row (duplicates), whose cut this one joins.
        std::size_t from = !cuts_.empty() && cuts_.back().second == cut_from_ ? cuts_.back().first : cut_from_;
        while (from > 0 && is_space(text_[from - 1])) --from;
        add_cut(from > 0 && text_[from - 1] == ',' ? from - 1 : cut_from_, end);
        cut_ = Cut::none;
    }
    static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }  // JSON's four
    void add_cut(std::size_t b, std::size_t e) {
        if (!cuts_.empty() && b <= cuts_.back().second) {  // duplicate payload keys: one cut
            cuts_.back().first = std::min(cuts_.back().first, b);
            cuts_.back().second = std::max(cuts_.back().second, e);
        } else {
            cuts_.emplace_back(b, e);
        }
    }
    // A bracket after a last-member payload: stepped back over when its end is placed.
    void bracket() {
        if (cut_ == Cut::last_member) ++brackets_;
        else if (cut_ == Cut::after_payload) verbatim_ok_ = false;
    }
    // Numbers and literals carry no place in the text.
    void unplaced() {
        if (!skipping_ && cut_ != Cut::none && cut_ != Cut::in_payload) verbatim_ok_ = false;
    }
    // Stored verbatim only if the redactor would change nothing outside the payloads.
    // Every key is looked at here, including members a later duplicate hides from the
    // document (they would be stored verbatim too).
    void check(json::string_view s, bool key) {
        if (may_hold_pair(s) || (key && memo_->sensitive(s))) verbatim_ok_ = false;
    }
    // A scalar is pushed unless it lies in (or is) a skipped payload. Only strings (`str`)
    // have a place in the text.
    template <class Push>
    bool scalar(Push push, const json::string_view* str = nullptr) {
        if (!str) unplaced();
        if (skipping_) {
            if (skip_depth_ == 0) payload_done();  // the payload itself was this scalar
            return true;
        }
        if (lean_depth_) {
            if (lean_depth_ == 1 && model_member_) set_model(str);
            return true;
        }
        push();
        value_done();
        return true;
    }
    // A member's value is complete: the "snapshots" flag applies to one root member only.
    void value_done() {
        if (frames_.size() == 1) root_key_is_snapshots_ = false;
    }

    std::string_view text_;
    bool verbatim_ok_;
    const bool lean_;
    std::size_t lean_depth_ = 0;   // frames open in the current lean snapshot (itself included)
    bool model_member_ = false;    // the lean snapshot's member being read is "model"
    std::optional<std::string> model_;
    std::optional<KeyMemo> memo_;
    std::vector<std::pair<std::size_t, std::size_t>> cuts_;  // [begin, end) byte ranges, in order
    Cut cut_ = Cut::none;
    std::size_t cut_from_ = 0;   // the payload key's opening quote
    std::size_t cut_frame_ = 0;  // frames_.size() in its snapshot object
    std::size_t brackets_ = 0;

    std::vector<Frame> frames_;
    std::string key_;
    bool root_key_is_snapshots_ = false;  // the root member being read is "snapshots"
    bool skipping_ = false;
    std::size_t skip_depth_ = 0;
    std::size_t stripped_ = 0;
};

}  // namespace

std::optional<json::value> try_parse_pull_index(std::string_view text, ParseFailure* failure, json::storage_ptr sp,
                                                PullIndex& index, const Redactor* redactor) {
    json::parse_options opts;
    opts.max_depth = max_json_depth;
    json::basic_parser<IndexHandler> p(opts, sp, text, redactor);
    error_code ec;
    const std::size_t consumed = p.write_some(false, text.data(), text.size(), ec);
    if (!ec && consumed < text.size()) ec = json::error::extra_data;
    if (!ec && !p.done()) ec = json::error::incomplete;
    if (ec) {
        describe_failure(text, consumed, ec, failure);
        return std::nullopt;
    }
    index.stripped = p.handler().stripped();
    index.verbatim = p.handler().verbatim();
    // Something outside the payloads needs the redactor: the whole document is needed.
    if (redactor && !index.verbatim) return try_parse_pull_index(text, failure, std::move(sp), index, nullptr);
    return p.handler().st.release();
}

}  // namespace tether::detail
