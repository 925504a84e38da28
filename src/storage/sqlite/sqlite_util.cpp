#include "storage/sqlite/sqlite_util.hpp"

#include <sqlite3.h>

#include "storage/keys.hpp"

namespace tether::detail::sqlite {

constexpr columns::Decoder decode("sqlite");

bool is_transient(int code) noexcept {
    switch (code & 0xFF) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_NOMEM:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_CANTOPEN:
        case SQLITE_PROTOCOL:
        case SQLITE_INTERRUPT:
        case SQLITE_READONLY:
            return true;
        default:
            return false;
    }
}

StorageError to_storage_error(const std::string& where, const SQLite::Exception& e) {
    return StorageError(
        "sqlite: " + where + ": " + e.what() + " (code " + std::to_string(e.getExtendedErrorCode()) + ")",
        is_transient(e.getErrorCode()));
}

void corrupt(const char* column) { decode.corrupt(column); }

std::vector<std::string> strings_from(const std::string& text, const char* column) {
    return decode.strings(text, column);
}

void newest_first(std::string& sql, std::vector<BindValue>& binds, const std::string& time_col,
                  const std::string& id_col, const std::optional<Micros>& to_us, const PageRequest& page) {
    auto b = newest_first_bounds(to_us, page);
    if (b.before_us) {
        sql += " AND " + time_col + " < ?";
        binds.emplace_back(*b.before_us);
    }
    if (b.after) {
        sql += " AND (" + time_col + ", " + id_col + ") < (?, ?)";
        binds.emplace_back(b.after->primary);
        binds.emplace_back(std::move(b.after->id));
    }
    sql += " ORDER BY " + time_col + " DESC, " + id_col + " DESC LIMIT ?";
    binds.emplace_back(static_cast<std::int64_t>(page.limit + 1));
}

}  // namespace tether::detail::sqlite
