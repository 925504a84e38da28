#include "storage/sqlite/sqlite_util.hpp"

#include <sqlite3.h>

#include "detail/json.hpp"

namespace tether::detail::sqlite {

namespace json = boost::json;

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

void corrupt(const char* column) {
    throw StorageError(std::string("sqlite: column ") + column + " holds a value this version cannot read", false);
}

std::string strings_json(const std::vector<std::string>& v) {
    std::string out = "[";
    for (const auto& s : v) {
        if (out.size() > 1) out += ',';
        append_json_string(out, s);
    }
    return out += ']';
}

json::value parse_column(const std::string& text, const char* column) {
    json::parse_options opts;
    opts.allow_invalid_utf8 = true;  // header values and messages keep the bytes they came with
    boost::system::error_code ec;
    auto v = json::parse(text, ec, {}, opts);
    if (ec) corrupt(column);
    return v;
}

std::vector<std::string> strings_from(const std::string& text, const char* column) {
    auto v = parse_column(text, column);
    if (!v.is_array()) corrupt(column);
    std::vector<std::string> out;
    for (const auto& e : v.get_array()) {
        if (!e.is_string()) corrupt(column);
        out.emplace_back(e.get_string());
    }
    return out;
}

void newest_first(std::string& sql, std::vector<BindValue>& binds, const std::string& time_col,
                  const std::string& id_col, const std::optional<Micros>& to_us, const PageRequest& page) {
    std::optional<CursorKey> c;
    if (!page.cursor.empty()) c = decode_cursor(page.cursor);
    if (to_us && !(c && c->primary < *to_us)) {
        sql += " AND " + time_col + " < ?";
        binds.emplace_back(*to_us);
    }
    if (c && !(to_us && *to_us <= c->primary)) {
        sql += " AND (" + time_col + ", " + id_col + ") < (?, ?)";
        binds.emplace_back(c->primary);
        binds.emplace_back(std::move(c->id));
    }
    sql += " ORDER BY " + time_col + " DESC, " + id_col + " DESC LIMIT ?";
    binds.emplace_back(static_cast<std::int64_t>(page.limit + 1));
}

}  // namespace tether::detail::sqlite
