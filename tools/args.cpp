#include "args.hpp"

#include <algorithm>

namespace tether::cli {

namespace {

// Arguments are echoed in messages: keep them printable and short.
std::string shown(std::string_view arg) {
    std::string out;
    for (char c : arg.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (arg.size() > 80) out += "...";
    return out;
}

const OptionSpec* find_spec(const std::vector<OptionSpec>& specs, std::string_view name) {
    for (const auto& s : specs)
        if (s.name == name) return &s;
    return nullptr;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string suggest(std::string_view given, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = 3;
    for (const auto& c : candidates) {
        const std::size_t d = edit_distance(given, c);
        if (d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

bool ParsedArgs::has(std::string_view name) const { return options_.find(name) != options_.end(); }

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
    auto it = options_.find(name);
    if (it == options_.end()) return std::nullopt;
    return it->second;
}

ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs) {
    ParsedArgs out;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (options_done || arg == "-" || arg.empty() || arg[0] != '-') {
            out.positional_.push_back(arg);
            continue;
        }
        if (arg == "--") {
            options_done = true;
            continue;
        }
        std::string name = arg == "-h" ? std::string("--help") : arg;
        std::optional<std::string> inline_value;
        if (name.rfind("--", 0) == 0) {
            if (auto eq = name.find('='); eq != std::string::npos) {
                inline_value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
        }
        const OptionSpec* spec = name.rfind("--", 0) == 0 ? find_spec(specs, name) : nullptr;
        if (!spec) {
            std::vector<std::string> names;
            for (const auto& o : specs) names.push_back(o.name);
            const std::string close = suggest(name, names);
            throw UsageError("unknown option '" + shown(name) + "'" +
                             (close.empty() ? std::string() : "; did you mean " + close + "?"));
        }
        if (out.options_.count(spec->name)) throw UsageError(spec->name + " is given more than once; give it once");
        if (!spec->takes_value()) {
            if (inline_value) throw UsageError(spec->name + " takes no value (got '" + shown(*inline_value) + "')");
            out.options_.emplace(spec->name, std::nullopt);
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= args.size())
                throw UsageError(spec->name + " needs a value: " + spec->name + " " + spec->value_name);
            const std::string& next = args[i + 1];
            if (next.rfind("--", 0) == 0 && next.size() > 2)
                throw UsageError(spec->name + " needs a value: " + spec->name + " " + spec->value_name +
                                 " (got option '" + shown(next) + "'; write " + spec->name +
                                 "=VALUE for a value starting with --)");
            inline_value = next;
            ++i;
        }
        out.options_.emplace(spec->name, std::move(inline_value));
    }
    return out;
}

bool wants_help(const std::vector<std::string>& args) {
    for (const auto& a : args) {
        if (a == "--") return false;
        if (a == "--help" || a == "-h") return true;
    }
    return false;
}

}  // namespace tether::cli
