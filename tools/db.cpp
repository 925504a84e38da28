#include "db.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "cli.hpp"
#include "tether/errors.hpp"
#include "tether/open_storage.hpp"

#ifdef TETHER_HAVE_SQLITE
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#endif

namespace tether::cli {

namespace {

#ifdef TETHER_HAVE_SQLITE
// The file must exist, be a SQLite database, and hold the tables a tether observer creates.
// Checked on a read-only connection before the storage (which creates and migrates) opens it.
void check_sqlite_file(const std::string& path) {
    if (path == ":memory:") return;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        fail(exit_input, "cannot open database '" + path + "': " + std::strerror(errno) +
                             " (--db takes an existing observer database; the server creates it)");
    if (S_ISDIR(st.st_mode)) fail(exit_input, "cannot open database '" + path + "': it is a directory");
    if (st.st_size == 0) fail(exit_input, "'" + path + "' is empty, not a tether observer database");
    try {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        const int tables = db.execAndGet(
                                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                                 "('schema_version', 'requests', 'mutations')")
                               .getInt();
        if (tables != 3)
            fail(exit_input, "'" + path +
                                 "' is a SQLite database but not a tether observer database (it has no tether "
                                 "tables)");
    } catch (const SQLite::Exception& e) {
        fail(exit_input, "cannot open database '" + path + "': " + e.what());
    }
}
#endif

// A database URL as messages may show it: a password (user:PASSWORD@host, ?password=…) is masked.
std::string without_password(const std::string& url) {
    std::string out = url;
    const auto scheme_end = out.find("://");
    if (scheme_end == std::string::npos) return out;
    const auto authority = scheme_end + 3;
    const auto at = out.find('@', authority);
    const auto slash = out.find('/', authority);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
        const auto colon = out.find(':', authority);
        if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
    for (std::size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
        const auto value = pos + 9;
        const auto end = out.find('&', value);
        out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
    }
    return out;
}

}  // namespace

std::optional<std::string> sqlite_path_of(const std::string& url) {
    const auto scheme_end = url.find("://");
    const bool sqlite_url = url != "memory" && (scheme_end == std::string::npos || url.rfind("sqlite:", 0) == 0);
#ifdef TETHER_HAVE_SQLITE
    if (sqlite_url) return sqlite_options_from_url(url, std::chrono::milliseconds(0)).path;
#else
    (void)sqlite_url;
#endif
    return std::nullopt;
}

std::shared_ptr<Storage> open_database(const std::string& url, std::chrono::milliseconds busy_timeout) {
    try {
        if (auto path = sqlite_path_of(url)) check_sqlite_file(*path);
    } catch (const ConfigError& e) {
        bad_value("--db", without_password(url), e.expected());
    }
    StorageConfig config;
    config.url = url;
    config.busy_timeout = busy_timeout;
    try {
        return open_storage(config);
    } catch (const ConfigError& e) {
        bad_value("--db", without_password(url), e.expected());
    } catch (const Error& e) {  // StorageError and the like: the database is not usable
        // Backends may quote the URL they were given; never echo its password.
        std::string message = e.what();
        for (auto pos = message.find(url); pos != std::string::npos; pos = message.find(url, pos + 1))
            message.replace(pos, url.size(), without_password(url));
        fail(exit_input, "cannot open database: " + message);
    }
}

}  // namespace tether::cli
