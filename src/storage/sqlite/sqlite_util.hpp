#pragma once
// Helpers every SQLite table module shares: error mapping, statement scoping, binding and
// column reading, string-list columns, and the query callback table modules read through.
#include <SQLiteCpp/SQLiteCpp.h>

#include <climits>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "storage/record_columns.hpp"
#include "tether/errors.hpp"
#include "tether/storage.hpp"

namespace tether::detail::sqlite {

/// Busy, locked, I/O, full disk …: retrying may help; constraint violations and corruption will not.
bool is_transient(int code) noexcept;
/// SQLite's messages name tables, columns and constraints, never bound values; every value
/// here is bound, so the message cannot leak captured data.
StorageError to_storage_error(const std::string& where, const SQLite::Exception& e);
[[noreturn]] void corrupt(const char* column);

// Resets a statement when leaving scope: an unfinished SELECT would otherwise keep a read
// transaction open (pinning the WAL), and no-copy bindings must not outlive their strings.
class StatementUse {
public:
    explicit StatementUse(SQLite::Statement& s) : s_(s) {
        s_.tryReset();
        s_.clearBindings();
    }
    ~StatementUse() {
        s_.tryReset();
        try {
            s_.clearBindings();
        } catch (...) {  // sqlite3_clear_bindings cannot fail; keep the destructor noexcept anyway
        }
    }
    StatementUse(const StatementUse&) = delete;
    StatementUse& operator=(const StatementUse&) = delete;
    SQLite::Statement* operator->() { return &s_; }
    SQLite::Statement& operator*() { return s_; }

private:
    SQLite::Statement& s_;
};

inline void bind_text(SQLite::Statement& s, int i, const std::string& v) { s.bindNoCopy(i, v); }
inline void bind_blob(SQLite::Statement& s, int i, const std::string& v) {
    if (v.size() > static_cast<std::size_t>(INT_MAX)) throw StorageError("sqlite: body larger than 2 GiB", false);
    s.bindNoCopy(i, v.data(), static_cast<int>(v.size()));
}
inline void bind_opt(SQLite::Statement& s, int i, const std::optional<std::int64_t>& v) {
    if (v)
        s.bind(i, static_cast<std::int64_t>(*v));
    else
        s.bind(i);
}
inline void bind_bool(SQLite::Statement& s, int i, bool v) { s.bind(i, static_cast<std::int32_t>(v ? 1 : 0)); }
inline void bind_u64(SQLite::Statement& s, int i, std::uint64_t v) { s.bind(i, static_cast<std::int64_t>(v)); }

inline std::optional<std::int64_t> col_opt(SQLite::Statement& s, int i) {
    if (s.isColumnNull(i)) return std::nullopt;
    return s.getColumn(i).getInt64();
}
inline std::uint32_t col_u32(SQLite::Statement& s, int i) { return static_cast<std::uint32_t>(s.getColumn(i).getInt64()); }
inline std::uint64_t col_u64(SQLite::Statement& s, int i) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.getColumn(i).getInt64()));
}
inline bool col_bool(SQLite::Statement& s, int i) { return s.getColumn(i).getInt64() != 0; }
inline std::string col_str(SQLite::Statement& s, int i) { return s.getColumn(i).getString(); }

/// A JSON array of strings, and back (corrupt(column) when the text is not one); the JSON
/// column shapes are shared with the PostgreSQL backend (storage/record_columns.hpp).
using columns::strings_json;
std::vector<std::string> strings_from(const std::string& text, const char* column);

/// Reads go through the storage's reader connection, lock and statement cache: table
/// modules get this callback instead of a connection. `row` returns false to stop.
using BindValue = std::variant<std::int64_t, std::string>;
using RowFn = std::function<bool(SQLite::Statement&)>;
using QueryFn = std::function<void(const char* what, const std::string& sql, const std::vector<BindValue>& binds,
                                   const RowFn& row)>;

/// Finishes a newest-first list query whose `sql` ends inside its WHERE clause: the upper
/// bound on `time_col`, the keyset ORDER BY and a LIMIT one row past the page (that row tells
/// whether there is a next page). Only the tighter of `to` and the cursor is kept
/// (newest_first_bounds): given both, SQLite seeks on `to` and filters the cursor, which makes
/// deep pages slow. The row-value comparison is what SQLite turns into an index seek (the OR
/// form is not).
void newest_first(std::string& sql, std::vector<BindValue>& binds, const std::string& time_col,
                  const std::string& id_col, const std::optional<Micros>& to_us, const PageRequest& page);

/// The row callback of a newest_first query: reads items with `read` until the page is full,
/// then sets next_cursor from the last item's (started_at_us, id) and stops.
template <class T, class Read>
auto newest_first_rows(Page<T>& out, std::size_t limit, Read read) {
    return [&out, limit, read](SQLite::Statement& s) {
        if (out.items.size() == limit) {
            out.next_cursor = encode_cursor({out.items.back().started_at_us, out.items.back().id});
            return false;
        }
        out.items.push_back(read(s));
        return true;
    };
}

}  // namespace tether::detail::sqlite
