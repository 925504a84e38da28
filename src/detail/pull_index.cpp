// Parsing a pull response without building its snapshots' payloads. A pull response is
// most of the bytes a sync server sends, and with recorder.pull_payloads = "index" the
// payloads are thrown away right after parsing; building them cost more than everything
// else the recorder does with a pull. This handler feeds Boost.JSON's own value_stack (so
// the document is exactly what json::parse builds) and only scans the payload values.
#include <boost/json/basic_parser_impl.hpp>
#include <vector>

#include "detail/json.hpp"

namespace tether::detail {
namespace {

using boost::system::error_code;

class IndexHandler {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    explicit IndexHandler(json::storage_ptr sp) { st.reset(std::move(sp)); }

    json::value_stack st;

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }

    bool on_object_begin(error_code&) {
        if (skip_begin()) return true;
        const Role role = frames_.empty()                          ? Role::root
                          : frames_.back().role == Role::snapshots ? Role::snapshot
                                                                   : Role::other;
        frames_.push_back({role, 0});
        return true;
    }
    bool on_object_end(std::size_t n, error_code&) {
        if (skip_end()) return true;
        const Frame f = frames_.back();
        frames_.pop_back();
        if (f.role == Role::snapshot && f.skipped > 0) ++stripped_;
        st.push_object(n - f.skipped);
        value_done();
        return true;
    }
    bool on_array_begin(error_code&) {
        if (skip_begin()) return true;
        const bool snapshots = frames_.size() == 1 && root_key_is_snapshots_;  // set only in a root object
        frames_.push_back({snapshots ? Role::snapshots : Role::other, 0});
        return true;
    }
    bool on_array_end(std::size_t n, error_code&) {
        if (skip_end()) return true;
        frames_.pop_back();
        st.push_array(n);
        value_done();
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t, error_code&) {
        if (skipping_) return true;
        if (buffers_key()) key_.append(s.data(), s.size());
        else st.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code&) {
        if (skipping_) return true;
        Frame& f = frames_.back();
        if (!buffers_key()) {
            st.push_key(s);
            return true;
        }
        key_.append(s.data(), s.size());
        if (f.role == Role::snapshot && key_ == "payload") {
            ++f.skipped;
            skipping_ = true;  // the value that follows is scanned, not built
        } else {
            if (f.role == Role::root) {
                root_key_is_snapshots_ = key_ == "snapshots";
                // The last "snapshots" member wins, as in json::parse: count only its payloads.
                if (root_key_is_snapshots_) stripped_ = 0;
            }
            st.push_key(key_);
        }
        key_.clear();
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t, error_code&) {
        if (!skipping_) st.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, error_code&) {
        return scalar([&] { st.push_string(s); });
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

private:
    enum class Role : std::uint8_t { root, snapshots, snapshot, other };
    struct Frame {
        Role role;
        std::size_t skipped;  // payload members left out of this object
    };

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
        if (--skip_depth_ == 0) skipping_ = false;
        return true;
    }
    // A scalar is pushed unless it lies in (or is) a skipped payload.
    template <class Push>
    bool scalar(Push push) {
        if (skipping_) {
            if (skip_depth_ == 0) skipping_ = false;  // the payload itself was this scalar
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

    std::vector<Frame> frames_;
    std::string key_;
    bool root_key_is_snapshots_ = false;  // the root member being read is "snapshots"
    bool skipping_ = false;
    std::size_t skip_depth_ = 0;
    std::size_t stripped_ = 0;
};

}  // namespace

std::optional<json::value> try_parse_pull_index(std::string_view text, ParseFailure* failure, json::storage_ptr sp,
                                                std::size_t& stripped) {
    json::parse_options opts;
    opts.max_depth = max_json_depth;
    json::basic_parser<IndexHandler> p(opts, std::move(sp));
    error_code ec;
    const std::size_t consumed = p.write_some(false, text.data(), text.size(), ec);
    if (!ec && consumed < text.size()) ec = json::error::extra_data;
    if (!ec && !p.done()) ec = json::error::incomplete;
    if (ec) {
        describe_failure(text, consumed, ec, failure);
        return std::nullopt;
    }
    stripped = p.handler().stripped();
    return p.handler().st.release();
}

}  // namespace tether::detail
