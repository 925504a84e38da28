#pragma once
// Opening the database --db names, without ever creating one by mistake.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "tether/storage.hpp"

namespace tether::cli {

/// The storage at `url` (open_storage(): SQLite path or sqlite:PATH, postgresql://…, memory).
/// A SQLite file must already exist and hold a tether schema: a typo must not create a new
/// database, and another program's database must not be migrated. Exit 3 (input error) when
/// the database cannot be opened; exit 2 for a URL of a backend not built into this program.
std::shared_ptr<Storage> open_database(const std::string& url, std::chrono::milliseconds busy_timeout);

/// The file a SQLite `url` names, as open_database() reads it; nullopt for other backends
/// (and in a build without SQLite). Throws ConfigError for a malformed SQLite URL.
std::optional<std::string> sqlite_path_of(const std::string& url);

}  // namespace tether::cli
