#pragma once
// open_storage(): the Storage a URL names, from whichever backend libraries this program links.
//
//   "memory"                                 in-process (tether::core)
//   "sqlite:PATH", "sqlite://PATH", PATH     one SQLite file (tether::sqlite)
//   "postgresql://…", "postgres://…"         a shared PostgreSQL database (tether::postgres)
//
// Linking tether::sqlite defines TETHER_HAVE_SQLITE and linking tether::postgres defines
// TETHER_HAVE_POSTGRES for their consumers (INTERFACE compile definitions), so this inline
// dispatcher only offers the backends that are really there; a URL of any other backend is a
// ConfigError("storage.url", …) that says which ones this program was built with.
#include <memory>
#include <string>

#include "tether/config.hpp"
#include "tether/errors.hpp"
#include "tether/storage.hpp"
#ifdef TETHER_HAVE_SQLITE
#include "tether/sqlite_storage.hpp"
#endif
#ifdef TETHER_HAVE_POSTGRES
#include "tether/postgres_storage.hpp"
#endif

namespace tether {

/// Backends open_storage() can open in this program, e.g. "memory, sqlite, postgresql".
inline std::string storage_backends_built() {
    std::string names = "memory";
#ifdef TETHER_HAVE_SQLITE
    names += ", sqlite";
#endif
#ifdef TETHER_HAVE_POSTGRES
    names += ", postgresql";
#endif
    return names;
}

/// Opens (creating and migrating where needed) the storage `config.url` names. Throws
/// ConfigError("storage.url", …) for a URL no linked backend understands and StorageError
/// when the database cannot be opened.
inline std::shared_ptr<Storage> open_storage(const StorageConfig& config) {
    const std::string& url = config.url;
    if (url == "memory") return make_memory_storage();
    const auto scheme_end = url.find("://");
    const std::string scheme = scheme_end == std::string::npos ? std::string() : url.substr(0, scheme_end);
    if (scheme == "postgresql" || scheme == "postgres") {
#ifdef TETHER_HAVE_POSTGRES
        PostgresOptions options;
        options.url = url;
        options.connect_timeout = config.busy_timeout;
        options.schema = config.schema;
        return open_postgres_storage(options);
#endif
    } else if (url.rfind("sqlite:", 0) == 0 || scheme.empty()) {
#ifdef TETHER_HAVE_SQLITE
        return open_sqlite_storage(sqlite_options_from_url(url, config.busy_timeout));
#endif
    }
    throw ConfigError("storage.url", "a URL of a backend built into this program (" + storage_backends_built() + ")",
                      "'" + (scheme.empty() ? std::string("sqlite") : scheme) +
                          "' storage is not built into this program");
}

}  // namespace tether
