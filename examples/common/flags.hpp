#pragma once
// Command-line flags for the example programs: "--flag value" and "--flag=value", numbers
// checked against a range, and a clear error naming the flag.
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace example {

/// Parses all of `s` as a number in [min, max]; false (out untouched) otherwise.
template <class T>
bool parse_number(std::string_view s, T& out, T min, T max) {
    T v{};
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !(v >= min) || !(v <= max)) return false;
    out = v;
    return true;
}

/// Walks argv one flag at a time. value() and no_value() set `error` when they fail.
class FlagReader {
public:
    FlagReader(int argc, char** argv) : argc_(argc), argv_(argv) {}

    /// Moves to the next argument; false when there is none.
    bool next() {
        if (++i_ >= argc_) return false;
        name_ = argv_[i_];
        inline_value_.reset();
        if (auto eq = name_.find('='); name_.rfind("--", 0) == 0 && eq != std::string_view::npos) {
            inline_value_ = std::string(name_.substr(eq + 1));
            name_ = name_.substr(0, eq);
        }
        return true;
    }
    std::string_view name() const { return name_; }

    /// The flag's value: after '=', or the next argument (consumed).
    std::optional<std::string> value() {
        if (inline_value_) return inline_value_;
        if (i_ + 1 < argc_) return std::string(argv_[++i_]);
        error = std::string(name_) + " needs a value";
        return std::nullopt;
    }
    /// For switches: false when a value was attached with '='.
    bool no_value() {
        if (!inline_value_) return true;
        error = std::string(name_) + " takes no value";
        return false;
    }

    std::string error;

private:
    int argc_;
    char** argv_;
    int i_ = 0;
    std::string_view name_;
    std::optional<std::string> inline_value_;
};

}  // namespace example
