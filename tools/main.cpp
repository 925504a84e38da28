// tether: the command line over an observer database. Dispatch and error reporting; the
// subcommands live in commands_*.cpp, the option parser in args.cpp, tables in format.cpp.
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "cli.hpp"
#include "tether/errors.hpp"
#include "tether/open_storage.hpp"
#include "tether/version.hpp"

using namespace tether;
using namespace tether::cli;

namespace {

int report(const std::string& command, const std::string& message, int code) {
    std::cerr << "tether: " << (command.empty() ? "" : command + ": ") << message << '\n';
    return code;
}

std::string usage_hint(const std::string& command) {
    return command.empty() ? "run 'tether --help' for the subcommands"
                           : "run 'tether " + command + " --help' for its options";
}

std::string command_list() {
    std::string out;
    for (const auto& c : commands()) out += (out.empty() ? "" : ", ") + c.name;
    return out;
}

// Library errors that name a parameter ("cursor", "limit") are about an option.
std::string option_message(const InvalidArgument& e) {
    const std::string& p = e.parameter();
    return p.empty() ? std::string(e.what()) : "--" + p + ": " + e.message();
}

int run(const std::vector<std::string>& args, std::string& command_name) {
    // Options before the subcommand: --db and --config (handed on to it), --help, --version.
    std::vector<std::string> global;
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--version") {
            std::cout << "tether " TETHER_VERSION_STRING " (tether-pro; storage backends: " << storage_backends_built()
                      << ")\n";
            return exit_ok;
        }
        if (a == "--help" || a == "-h") {
            std::cout << overview_help();
            return exit_ok;
        }
        if (a == "--db" || a == "--config") {
            if (i + 1 >= args.size()) throw UsageError(a + " needs a value: " + a + (a == "--db" ? " URL" : " FILE"));
            global.push_back(a);
            global.push_back(args[++i]);
            continue;
        }
        if (a.rfind("--db=", 0) == 0 || a.rfind("--config=", 0) == 0) {
            global.push_back(a);
            continue;
        }
        if (!a.empty() && a[0] == '-')
            throw UsageError("unknown option '" + a +
                             "' before the subcommand (only --db, --config, --help and "
                             "--version go there)");
        break;
    }
    if (i == args.size()) throw UsageError("no subcommand given; subcommands: " + command_list());
    const std::string& name = args[i];
    const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());

    if (name == "help") {
        if (rest.empty()) {
            std::cout << overview_help();
            return exit_ok;
        }
        const Command* cmd = find_command(rest[0]);
        if (!cmd) throw UsageError("help: unknown subcommand '" + rest[0] + "'; subcommands: " + command_list());
        if (rest.size() > 1) throw UsageError("help takes one subcommand name");
        std::cout << cmd->help();
        return exit_ok;
    }
    const Command* cmd = find_command(name);
    if (!cmd) {
        std::string suggestion = suggest(name, [] {
            std::vector<std::string> names;
            for (const auto& c : commands()) names.push_back(c.name);
            return names;
        }());
        throw UsageError("unknown subcommand '" + name + "'" +
                         (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)") +
                         "; subcommands: " + command_list());
    }
    command_name = cmd->name;
    if (wants_help(rest)) {
        std::cout << cmd->help();
        return exit_ok;
    }
    if (!cmd->uses_db && !global.empty())
        throw UsageError(cmd->name + " uses no database: --db and --config do not apply");
    std::vector<std::string> all = global;
    all.insert(all.end(), rest.begin(), rest.end());
    Context context(*cmd, parse_args(all, cmd->all_options()), std::cout);
    const int code = cmd->run(context);
    std::cout.flush();
    if (!std::cout) fail(exit_input, "cannot write to standard output");
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    const std::vector<std::string> args(argv + 1, argv + argc);
    std::string command;
    try {
        return run(args, command);
    } catch (const UsageError& e) {
        return report(command, std::string(e.what()) + "\n" + usage_hint(command), exit_usage);
    } catch (const CliError& e) {
        if (e.code() == exit_usage)
            return report(command, std::string(e.what()) + "\n" + usage_hint(command), e.code());
        return report(command, e.what(), e.code());
    } catch (const ReplayNotFound& e) {
        return report(command, e.what(), exit_not_found);
    } catch (const ReplayUnavailable& e) {
        return report(command, e.what(), exit_usage);
    } catch (const ReplayError& e) {
        return report(command, e.what(), exit_input);
    } catch (const InvalidArgument& e) {
        return report(command, option_message(e) + "\n" + usage_hint(command), exit_usage);
    } catch (const JsonError& e) {
        return report(command, e.what(), exit_input);
    } catch (const ConfigError& e) {
        return report(command, e.what(), exit_input);
    } catch (const StorageError& e) {
        return report(command, std::string("storage error: ") + e.what(), exit_storage);
    } catch (const std::bad_alloc&) {
        return report(command, "out of memory", exit_storage);
    } catch (const std::exception& e) {
        return report(command, std::string("unexpected error: ") + e.what(), exit_storage);
    }
}
