#pragma once
// The example server's application database (SQLite, WAL): the current record of every
// entity, the mutation ids already applied (duplicate detection) and an append-only change
// log whose microsecond cursors drive pulls.
//
// Not thread-safe: SyncEngine serialises every call with one mutex. That also guarantees
// that cursors are committed in increasing order, so a pull never skips a change that
// commits later with a smaller cursor.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace example {

using Micros = std::int64_t;

struct Record {
    std::string model;
    std::string entity_id;
    std::string data_json;     ///< the validated fields, a JSON object
    Micros updated_at_us = 0;  ///< time of the write this state reflects (see sync_engine.hpp)
    std::int64_t version = 0;  ///< the client's per-entity counter of that write
};

struct Change {
    Micros cursor = 0;
    std::string model;
    std::string entity_id;
    bool deleted = false;
    std::string data_json;  ///< the record after the change; "{}" for deletes
};

class AppDb {
public:
    /// Opens or creates the database file (":memory:" works too). Throws SQLite::Exception.
    explicit AppDb(const std::string& path);

    std::optional<Record> find(std::string_view model, std::string_view entity_id);
    void put(const Record& record);
    void erase(std::string_view model, std::string_view entity_id);

    bool was_applied(std::string_view mutation_id);
    void mark_applied(std::string_view mutation_id, std::string_view client_id, Micros at);

    /// Appends to the change log and returns the new cursor: max(now, previous + 1), so
    /// cursors stay strictly increasing even when the wall clock stalls or steps back.
    Micros append_change(std::string_view model, std::string_view entity_id, bool deleted, std::string_view data_json,
                         Micros now);
    /// Up to `limit` changes with cursor > `after`, oldest first.
    std::vector<Change> changes_after(Micros after, std::size_t limit);

    SQLite::Database& db() noexcept { return db_; }

private:
    SQLite::Database db_;
    Micros last_cursor_ = 0;
    SQLite::Statement find_, put_, erase_, was_applied_, mark_applied_, append_, changes_;
};

}  // namespace example
