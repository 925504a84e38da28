#pragma once
// SQLite storage (target tether::sqlite): one embedded database file in WAL mode.
// The writer uses its own connection; queries use a second one, so reading the
// dashboard never waits for a batch to commit.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tether/config.hpp"
#include "tether/storage.hpp"

namespace tether {

struct SqliteOptions {
    std::string path = "tether.db";
    std::chrono::milliseconds busy_timeout{5'000};
    /// Upper bound on the database size in pages (PRAGMA max_page_count); 0 = SQLite default.
    std::int64_t max_page_count = 0;
    /// Page size of a new database file, in bytes: a power of two from 512 to 65536.
    /// Each commit writes every page it touched to the WAL and each checkpoint copies
    /// it again; with 16 KiB pages a stored pull fits in one page instead of four
    /// overflow pages, and the writer spends ~15 % less CPU than with SQLite's 4 KiB.
    /// An existing file keeps the page size it was created with.
    int page_size = 16'384;
};

/// Opens (creating if needed) and migrates the database. Throws StorageError when the
/// file cannot be opened or was written by a newer schema version.
std::shared_ptr<Storage> open_sqlite_storage(const SqliteOptions& options);

/// Options for a storage URL "sqlite:PATH", "sqlite://PATH" or a plain file PATH (see
/// open_storage() in tether/open_storage.hpp). Throws ConfigError("storage.url", …) when
/// the path is empty or the URL names another backend.
SqliteOptions sqlite_options_from_url(const std::string& url, std::chrono::milliseconds busy_timeout);

/// Current schema version written by this library.
int sqlite_schema_version() noexcept;

}  // namespace tether
