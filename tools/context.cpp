#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli.hpp"
#include "db.hpp"
#include "tether/errors.hpp"

namespace tether::cli {

namespace {

std::string shown(std::string_view value) {
    std::string out;
    for (char c : value.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) || (c & 0x80) ? c : '?';
    if (value.size() > 80) out += "...";
    return out;
}

}  // namespace

void fail(int code, const std::string& message) { throw CliError(code, message); }

void bad_value(std::string_view option, std::string_view given, std::string_view expected) {
    throw UsageError(std::string(option) + ": got '" + shown(given) + "'; expected " + std::string(expected));
}

Context::Context(const Command& command, ParsedArgs args, std::ostream& out)
    : command_(command), args_(std::move(args)), out_(out) {}

Context::~Context() = default;

const Config& Context::config() {
    if (!config_) {
        auto path = args_.value("--config");
        if (!path) {
            config_.emplace();
        } else {
            struct stat st {};
            if (::stat(path->c_str(), &st) != 0)
                fail(exit_input, "--config: cannot read '" + *path + "': " + std::strerror(errno));
            try {
                config_ = Config::from_file(*path);
            } catch (const ConfigError& e) {
                fail(exit_input, "--config: " + std::string(e.what()));
            }
        }
    }
    return *config_;
}

std::shared_ptr<Storage> Context::shared_storage() {
    if (!storage_) {
        auto url = args_.value("--db");
        if (!url || url->empty())
            throw UsageError("--db is required: --db FILE.db (a SQLite file) or --db postgresql://HOST/DBNAME");
        storage_ = open_database(*url, config().storage.busy_timeout);
    }
    return storage_;
}

Storage& Context::storage() { return *shared_storage(); }

Micros Context::now() {
    if (!now_) now_ = SystemClock().now_us();
    return *now_;
}

std::string Context::text(std::string_view option, std::size_t max_length) const {
    auto v = args_.value(option);
    if (!v) return {};
    if (v->empty()) bad_value(option, *v, "a non-empty value");
    if (v->size() > max_length) bad_value(option, *v, "at most " + std::to_string(max_length) + " characters");
    return *v;
}

std::size_t Context::limit(std::size_t fallback) const {
    auto v = args_.value("--limit");
    if (!v) return fallback;
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size() || n < 1 || n > PageRequest::max_limit)
        bad_value("--limit", *v, "a whole number from 1 to " + std::to_string(PageRequest::max_limit));
    return n;
}

std::optional<Micros> Context::time(std::string_view option) const {
    auto v = args_.value(option);
    if (!v) return std::nullopt;
    if (auto t = parse_iso8601(*v)) return t;
    Micros us = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), us);
    if (!v->empty() && ec == std::errc() && end == v->data() + v->size()) return us;
    bad_value(option, *v,
              "an ISO-8601 time with a zone (2026-11-24T10:05:00Z, 2026-11-24T11:05+01:00) or microseconds since "
              "1970");
}

void Context::check_range(std::optional<Micros> from, std::optional<Micros> to) const {
    if (from && to && *to < *from)
        throw UsageError("--to: got '" + *args_.value("--to") + "'; expected a time not earlier than --from ('" +
                         *args_.value("--from") + "')");
}

PageRequest Context::page(std::size_t default_limit) const {
    // The cursor is checked by the query itself (a bad one is an InvalidArgument("cursor")).
    PageRequest page;
    page.limit = limit(default_limit);
    page.cursor = text("--cursor", 512);
    return page;
}

std::string Context::one_positional(std::string_view what) const {
    const auto& p = args_.positional();
    if (p.empty()) throw UsageError(std::string(what) + " is required: " + command_.usage);
    if (p.size() > 1)
        throw UsageError("unexpected argument '" + shown(p[1]) + "' (only one " + std::string(what) + " is taken)");
    if (p[0].empty()) throw UsageError(std::string(what) + " is empty");
    return p[0];
}

void Context::no_positional() const {
    if (!args_.positional().empty())
        throw UsageError("unexpected argument '" + shown(args_.positional()[0]) + "'; " + command_.name +
                         " takes only options");
}

Micros parse_duration(std::string_view option, std::string_view text) {
    static const char* expected = "a positive whole number and a unit s, m, h, d or w (45s, 30m, 12h, 7d, 2w)";
    if (text.size() < 2) bad_value(option, text, expected);
    Micros unit = 0;
    switch (text.back()) {
        case 's':
            unit = 1'000'000;
            break;
        case 'm':
            unit = 60LL * 1'000'000;
            break;
        case 'h':
            unit = 3'600LL * 1'000'000;
            break;
        case 'd':
            unit = 86'400LL * 1'000'000;
            break;
        case 'w':
            unit = 7 * 86'400LL * 1'000'000;
            break;
        default:
            bad_value(option, text, expected);
    }
    const std::string_view digits = text.substr(0, text.size() - 1);
    Micros n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || n <= 0) bad_value(option, text, expected);
    // Beyond a few thousand years the cutoff would overflow the microsecond clock.
    if (n > 100'000LL * 365 * 86'400'000'000 / unit) bad_value(option, text, "a duration under 100000 years");
    return n * unit;
}

std::string input_name(const std::string& path) { return path == "-" ? std::string("stdin") : path; }

std::string read_input(const std::string& path) {
    if (path == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        if (std::cin.bad()) fail(exit_input, "cannot read stdin");
        return ss.str();
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) fail(exit_input, "cannot read '" + path + "': " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) fail(exit_input, "cannot read '" + path + "': it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(exit_input, "cannot read '" + path + "': " + std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) fail(exit_input, "cannot read '" + path + "': read error");
    return text;
}

}  // namespace tether::cli
