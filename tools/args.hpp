#pragma once
// A small, strict command-line parser for `tether`: options are declared up front, and
// anything else is a usage error that names the offending argument.
//
//   --opt value, --opt=value   an option with a value (a value starting with "--" is refused:
//                              it is almost always a forgotten value; write --opt=--x if meant)
//   --flag                     a switch; "--flag=x" is an error
//   -h                         the one short option, an alias of --help
//   -                          a positional argument (stdin, where a command accepts it)
//   --                         everything after it is positional
// An option given twice, an unknown option and a missing value are errors.
#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tether::cli {

/// A command line that cannot be understood: exit status 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct OptionSpec {
    std::string name;        ///< with the dashes: "--limit"
    std::string value_name;  ///< "N", "FILE" …; empty for a switch
    std::string help;        ///< one or more lines for --help (wrapped by the caller)
    bool takes_value() const noexcept { return !value_name.empty(); }
};

class ParsedArgs {
public:
    bool has(std::string_view name) const;
    /// The option's value, or nullopt when it was not given.
    std::optional<std::string> value(std::string_view name) const;
    const std::vector<std::string>& positional() const noexcept { return positional_; }

private:
    friend ParsedArgs parse_args(const std::vector<std::string>&, const std::vector<OptionSpec>&);
    std::map<std::string, std::optional<std::string>, std::less<>> options_;
    std::vector<std::string> positional_;
};

/// Parses `args` against `specs`. Throws UsageError naming the argument for an unknown
/// option, a repeated option, a missing value or a value given to a switch.
ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs);

/// The candidate closest to `given` (a likely typo: at most 2 edits), or "".
std::string suggest(std::string_view given, const std::vector<std::string>& candidates);

/// True when `args` asks for help (--help or -h before any "--"), whatever else it holds:
/// help is always answered, even for a command line that would not parse.
bool wants_help(const std::vector<std::string>& args);

}  // namespace tether::cli
