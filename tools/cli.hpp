#pragma once
// What every `tether` subcommand shares: exit statuses, errors, the command table, the
// storage it opens, and the parsing of option values (limits, times, durations, choices).
#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "tether/clock.hpp"
#include "tether/config.hpp"
#include "tether/storage.hpp"

namespace tether::cli {

/// Exit statuses (documented in `tether --help` and docs/cli.md).
enum ExitCode : int {
    exit_ok = 0,
    exit_not_found = 1,  ///< no request/entity with the id given
    exit_usage = 2,      ///< unknown subcommand or option, missing or bad value
    exit_input = 3,      ///< a file that cannot be read, JSON that does not parse, a database that cannot be opened
    exit_storage = 4,    ///< the database failed while answering
};

/// The exit status section of the help texts.
extern const char* const exit_status_help;

/// An error with its exit status; main prints "tether: <command>: <message>" on stderr.
class CliError : public std::runtime_error {
public:
    CliError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

[[noreturn]] void fail(int code, const std::string& message);
/// A usage error about one option's value: "--limit: got '0'; expected a whole number from 1 to 500".
[[noreturn]] void bad_value(std::string_view option, std::string_view given, std::string_view expected);

class Context;

struct Command {
    std::string name;
    std::string summary;  ///< one line, for the overview
    std::string usage;    ///< "tether requests [OPTIONS]"
    std::string description;
    std::vector<OptionSpec> options;  ///< its own options (the database options and --help are added)
    std::string examples;
    bool uses_db = true;  ///< takes --db and --config
    int (*run)(Context& context) = nullptr;

    /// Every option the command accepts, in help order.
    std::vector<OptionSpec> all_options() const;
    std::string help() const;
};

const std::vector<Command>& commands();
const Command* find_command(std::string_view name);
/// `tether --help`.
std::string overview_help();

/// One run of a subcommand: its parsed arguments, its output, and (opened on first use)
/// the storage and configuration.
class Context {
public:
    Context(const Command& command, ParsedArgs args, std::ostream& out);
    ~Context();

    const Command& command() const noexcept { return command_; }
    const ParsedArgs& args() const noexcept { return args_; }
    std::ostream& out() noexcept { return out_; }

    /// --config FILE, or the defaults. Thresholds for health, failure groups and stuck clients.
    const Config& config();
    /// The storage --db names. Refuses a SQLite file that does not exist or is not a tether
    /// database (exit 3) instead of creating one.
    Storage& storage();
    std::shared_ptr<Storage> shared_storage();
    /// "Now" for windows, trends and ages (the system clock), fixed at the first call.
    Micros now();

    // Option values, validated (usage errors name the option, the value and what is expected).
    bool flag(std::string_view option) const { return args_.has(option); }
    std::string text(std::string_view option, std::size_t max_length = 256) const;
    std::size_t limit(std::size_t fallback) const;              ///< --limit, 1..500
    std::optional<Micros> time(std::string_view option) const;  ///< ISO-8601 with a zone, or µs since 1970
    /// --from / --to into a filter's from_us / to_us; --to before --from is an error.
    template <class Filter>
    void time_range(Filter& filter) const {
        filter.from_us = time("--from");
        filter.to_us = time("--to");
        check_range(filter.from_us, filter.to_us);
    }
    template <class Parse>
    auto choice(std::string_view option, Parse parse, std::string_view expected) const -> decltype(parse(option)) {
        const std::string value = text(option);
        if (!args_.has(option)) return std::nullopt;
        auto parsed = parse(value);
        if (!parsed) bad_value(option, value, "one of " + std::string(expected));
        return parsed;
    }
    /// The page options (--limit, --cursor) as a PageRequest.
    PageRequest page(std::size_t default_limit) const;
    /// The single positional argument the command takes (usage error when missing or extra).
    std::string one_positional(std::string_view what) const;
    void no_positional() const;

private:
    void check_range(std::optional<Micros> from, std::optional<Micros> to) const;

    const Command& command_;
    ParsedArgs args_;
    std::ostream& out_;
    std::optional<Config> config_;
    std::shared_ptr<Storage> storage_;
    std::optional<Micros> now_;
};

/// "30m", "12h", "7d" (also "45s", "2w"): a positive whole number and a unit.
/// Usage error naming `option` otherwise.
Micros parse_duration(std::string_view option, std::string_view text);

/// The whole of a file, or of stdin for "-". Exit 3 when it cannot be read.
std::string read_input(const std::string& path);
/// How an input is named in messages: the path, or "stdin" for "-".
std::string input_name(const std::string& path);

// The subcommands (one file per group).
int run_stats(Context& c);
int run_requests(Context& c);
int run_show(Context& c);
int run_export(Context& c);
int run_conflicts(Context& c);
int run_failures(Context& c);
int run_prune(Context& c);
int run_replay_preview(Context& c);
int run_diff(Context& c);

}  // namespace tether::cli
