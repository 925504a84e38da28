#include "app_db.hpp"

#include <algorithm>

namespace example {
namespace {

// Runs before the statements are prepared (they need the tables), hence a helper
// called from the member initialiser list.
SQLite::Database& migrate(SQLite::Database& db) {
    // WAL + NORMAL: crash-safe and fast enough for a demo; busy_timeout covers a second
    // process (e.g. the sqlite3 CLI) peeking at the file.
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=NORMAL");
    db.exec("PRAGMA busy_timeout=5000");
    db.exec(R"sql(
        CREATE TABLE IF NOT EXISTS records (
            model       TEXT    NOT NULL,
            entity_id   TEXT    NOT NULL,
            data        TEXT    NOT NULL,
            updated_at  INTEGER NOT NULL,
            version     INTEGER NOT NULL,
            PRIMARY KEY (model, entity_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS applied_mutations (
            mutation_id TEXT    PRIMARY KEY,
            client_id   TEXT    NOT NULL,
            applied_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS change_log (
            cursor      INTEGER PRIMARY KEY,
            model       TEXT    NOT NULL,
            entity_id   TEXT    NOT NULL,
            deleted     INTEGER NOT NULL,
            data        TEXT    NOT NULL
        );
        PRAGMA user_version = 1;
    )sql");
    return db;
}

}  // namespace

AppDb::AppDb(const std::string& path)
    : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX),
      find_(migrate(db_), "SELECT data, updated_at, version FROM records WHERE model = ? AND entity_id = ?"),
      put_(db_,
           "INSERT INTO records (model, entity_id, data, updated_at, version) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (model, entity_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at, "
           "version = excluded.version"),
      erase_(db_, "DELETE FROM records WHERE model = ? AND entity_id = ?"),
      was_applied_(db_, "SELECT 1 FROM applied_mutations WHERE mutation_id = ?"),
      mark_applied_(db_,
                    "INSERT OR IGNORE INTO applied_mutations (mutation_id, client_id, applied_at) VALUES (?, ?, ?)"),
      append_(db_, "INSERT INTO change_log (cursor, model, entity_id, deleted, data) VALUES (?, ?, ?, ?, ?)"),
      changes_(
          db_,
          "SELECT cursor, model, entity_id, deleted, data FROM change_log WHERE cursor > ? ORDER BY cursor LIMIT ?") {
    SQLite::Statement head(db_, "SELECT COALESCE(MAX(cursor), 0) FROM change_log");
    if (head.executeStep()) last_cursor_ = head.getColumn(0).getInt64();
}

// Statements are reset on entry rather than exit so that an exception thrown midway
// cannot leave one unusable for the next call.
std::optional<Record> AppDb::find(std::string_view model, std::string_view entity_id) {
    find_.reset();
    find_.bind(1, std::string(model));
    find_.bind(2, std::string(entity_id));
    if (!find_.executeStep()) return std::nullopt;
    Record r;
    r.model = model;
    r.entity_id = entity_id;
    r.data_json = find_.getColumn(0).getString();
    r.updated_at_us = find_.getColumn(1).getInt64();
    r.version = find_.getColumn(2).getInt64();
    return r;
}

void AppDb::put(const Record& r) {
    put_.reset();
    put_.bind(1, r.model);
    put_.bind(2, r.entity_id);
    put_.bind(3, r.data_json);
    put_.bind(4, static_cast<std::int64_t>(r.updated_at_us));
    put_.bind(5, static_cast<std::int64_t>(r.version));
    put_.exec();
}

void AppDb::erase(std::string_view model, std::string_view entity_id) {
    erase_.reset();
    erase_.bind(1, std::string(model));
    erase_.bind(2, std::string(entity_id));
    erase_.exec();
}

bool AppDb::was_applied(std::string_view mutation_id) {
    was_applied_.reset();
    was_applied_.bind(1, std::string(mutation_id));
    return was_applied_.executeStep();
}

void AppDb::mark_applied(std::string_view mutation_id, std::string_view client_id, Micros at) {
    mark_applied_.reset();
    mark_applied_.bind(1, std::string(mutation_id));
    mark_applied_.bind(2, std::string(client_id));
    mark_applied_.bind(3, static_cast<std::int64_t>(at));
    mark_applied_.exec();
}

Micros AppDb::append_change(std::string_view model, std::string_view entity_id, bool deleted,
                            std::string_view data_json, Micros now) {
    const Micros cursor = std::max(now, last_cursor_ + 1);
    append_.reset();
    append_.bind(1, static_cast<std::int64_t>(cursor));
    append_.bind(2, std::string(model));
    append_.bind(3, std::string(entity_id));
    append_.bind(4, deleted ? 1 : 0);
    append_.bind(5, std::string(data_json));
    append_.exec();
    // Advanced even if the surrounding transaction later rolls back: a gap in the
    // cursors is harmless, a repeated cursor is not.
    last_cursor_ = cursor;
    return cursor;
}

std::vector<Change> AppDb::changes_after(Micros after, std::size_t limit) {
    changes_.reset();
    changes_.bind(1, static_cast<std::int64_t>(after));
    changes_.bind(2, static_cast<std::int64_t>(limit));
    std::vector<Change> out;
    while (changes_.executeStep()) {
        Change c;
        c.cursor = changes_.getColumn(0).getInt64();
        c.model = changes_.getColumn(1).getString();
        c.entity_id = changes_.getColumn(2).getString();
        c.deleted = changes_.getColumn(3).getInt() != 0;
        c.data_json = changes_.getColumn(4).getString();
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace example
