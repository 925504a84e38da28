#pragma once
// What every PostgreSQL module shares: where to connect (without ever showing the password),
// a session that reconnects after its connection drops, binary statement parameters, error
// mapping (transient or not, never a bound value in a message) and column reading.
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "tether/errors.hpp"
#include "tether/postgres_storage.hpp"
#include "tether/storage.hpp"

namespace tether::detail::pg {

/// Where to connect, parsed once from PostgresOptions.
struct Target {
    std::string conninfo;              ///< for libpq: the user's settings plus tether's defaults (holds the password)
    std::string description;           ///< "postgresql://user@host:port/db (schema s)": no password
    std::string schema;                ///< a plain lowercase identifier, safe to splice into SQL
    std::vector<std::string> secrets;  ///< the password as written and as decoded: scrubbed from messages

    /// Throws InvalidArgument("schema") for a schema that is not [a-z_][a-z0-9_]* (≤ 63
    /// characters, not pg_*), StorageError (permanent) for a URL libpq cannot parse.
    static Target parse(const PostgresOptions& options);
    /// `message` with every secret replaced by "***".
    std::string scrub(std::string message) const;
};

/// One connection, opened on first use with the session set up (search_path = the schema,
/// terse errors, no notices). When it breaks, failure() drops it and the next get() connects
/// afresh: the call that saw the break fails (transiently), the next one works.
class Session {
public:
    explicit Session(const Target& target) : target_(target) {}
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    pqxx::connection& get();
    bool connected() const noexcept { return conn_ != nullptr; }

    /// The StorageError for an exception thrown while running `what`: "postgres: what: …"
    /// with the server's primary message (no DETAIL: it can quote row values) and SQLSTATE.
    /// Transient for lost connections, serialization failures, deadlocks, lock timeouts,
    /// shutdowns and full disks. Drops the connection when it is no longer usable.
    StorageError failure(const char* what, std::exception_ptr e);

private:
    const Target& target_;
    std::unique_ptr<pqxx::connection> conn_;
};

/// Runs body(connection) and turns whatever it throws into a StorageError (Session::failure);
/// tether's own errors (InvalidArgument, StorageError, …) pass through unchanged.
template <class F>
auto run(Session& session, const char* what, F&& body) -> decltype(body(session.get())) {
    try {
        return body(session.get());
    } catch (const Error&) {
        throw;
    } catch (...) {
        throw session.failure(what, std::current_exception());
    }
}

/// Statement parameters, all sent in binary: bytes go as they are (NUL and invalid UTF-8
/// included), integers as 8 bytes. Each call returns the placeholder to splice into the SQL,
/// with its type ("$3::bytea"), so the server never has to guess one.
class Params {
public:
    std::string bytes(std::string_view v);  ///< bytea: captured data of any kind
    std::string text(std::string_view v);   ///< text: ids and enum names (ASCII)
    std::string i64(std::int64_t v);
    std::string u64(std::uint64_t v) { return i64(static_cast<std::int64_t>(v)); }  ///< stored as its int64 bits
    std::string boolean(bool v);
    /// A placeholder, or the literal NULL::int8 (nothing bound) when unset.
    std::string opt_i64(const std::optional<std::int64_t>& v);
    /// A placeholder, or the literal NULL::bytea when unset.
    std::string opt_bytes(const std::optional<std::string>& v);
    /// Arrays, for `= ANY(…)` and unnest(…): one parameter however many elements.
    std::string bytes_array(const std::vector<std::string>& v);
    std::string text_array(const std::vector<std::string>& v);
    std::string i64_array(const std::vector<std::int64_t>& v);

    /// A value already in the binary format of `type` (ArrayRows' arrays).
    std::string encoded(std::string_view v, const char* type) { return add(v.data(), v.size(), type); }

    std::size_t size() const noexcept { return values_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    bool empty() const noexcept { return values_.empty(); }
    void clear() noexcept {
        values_.clear();
        bytes_ = 0;
    }
    pqxx::result exec(pqxx::transaction_base& tx, const std::string& sql) const;

private:
    std::string add(const void* data, std::size_t size, const char* type);
    /// A one-dimensional array of elements already in their binary form.
    std::string array(std::uint32_t element_oid, const char* type, const std::vector<std::string>& elements);
    std::vector<pqxx::binarystring> values_;
    std::size_t bytes_ = 0;
};

/// "(a, b, c)" of placeholders.
std::string tuple(std::initializer_list<std::string> cells);

/// A multi-row statement `head VALUES (…), (…) tail`, run in as many statements as the
/// protocol's limits need (parameters per statement, bytes per message). Usage: for each row,
/// add() the placeholders made by params().
class MultiRow {
public:
    MultiRow(pqxx::transaction_base& tx, std::string head, std::string tail = {})
        : tx_(tx), head_(std::move(head)), tail_(std::move(tail)) {}
    /// The parameters of the next row (flushes the rows so far when they hold many).
    Params& params();
    void add(std::initializer_list<std::string> cells);
    /// Runs what is left; returns every statement's result rows, in order.
    std::vector<pqxx::result> finish();

private:
    void flush();
    pqxx::transaction_base& tx_;
    std::string head_, tail_, rows_;
    Params params_;
    std::vector<pqxx::result> results_;
};

/// A multi-row statement that binds one array per column:
/// `head SELECT * FROM unnest($1::bytea[], $2::int8[], …) tail`. Unlike a VALUES list, whose
/// parsing and planning cost the server more per value than storing the row does, its text and
/// plan do not grow with the rows, so a whole batch goes in one statement (split only at the
/// byte limit of a message). Usage: for each row, one call per column in `columns` order (each
/// of that column's type, or null()), then end_row().
class ArrayRows {
public:
    enum class Type { bytea, text, int8, boolean };
    ArrayRows(pqxx::transaction_base& tx, std::string head, std::vector<Type> columns, std::string tail = {});
    ArrayRows& bytes(std::string_view v) { return cell(Type::bytea, v.data(), v.size()); }
    ArrayRows& text(std::string_view v) { return cell(Type::text, v.data(), v.size()); }
    ArrayRows& i64(std::int64_t v);
    ArrayRows& u64(std::uint64_t v) { return i64(static_cast<std::int64_t>(v)); }  ///< stored as its int64 bits
    ArrayRows& boolean(bool v);
    ArrayRows& null();  ///< NULL, of the column's type
    ArrayRows& opt_i64(const std::optional<std::int64_t>& v) { return v ? i64(*v) : null(); }
    ArrayRows& opt_bytes(const std::optional<std::string>& v) { return v ? bytes(*v) : null(); }
    /// Ends a row (every column given); flushes the rows so far when they hold many bytes.
    void end_row();
    /// Runs what is left; returns every statement's result rows, in order.
    std::vector<pqxx::result> finish();

private:
    ArrayRows& cell(Type type, const void* data, std::size_t size);
    void flush();
    pqxx::transaction_base& tx_;
    std::string head_, tail_;
    std::vector<Type> columns_;
    std::vector<std::string> elements_;  // per column: each element's length and bytes (array_recv's layout)
    std::vector<bool> has_null_;
    std::size_t column_ = 0, rows_ = 0, bytes_ = 0;
    std::vector<pqxx::result> results_;
};

// ---- Column reading ----------------------------------------------------------------------

std::string bytes(const pqxx::field& f);  ///< bytea
inline std::string text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }
inline std::int64_t i64(const pqxx::field& f) { return f.as<std::int64_t>(); }
inline std::uint64_t u64(const pqxx::field& f) { return static_cast<std::uint64_t>(f.as<std::int64_t>()); }
/// Counts that a concurrent delta may briefly have left negative in one shard read as 0.
inline std::uint64_t count(const pqxx::field& f) {
    const auto n = f.is_null() ? 0 : f.as<std::int64_t>();
    return n > 0 ? static_cast<std::uint64_t>(n) : 0;
}
inline std::uint32_t u32(const pqxx::field& f) { return static_cast<std::uint32_t>(f.as<std::int64_t>()); }
inline bool boolean(const pqxx::field& f) { return f.as<bool>(); }
inline std::optional<std::int64_t> opt_i64(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
}

/// Finishes a newest-first list query whose `sql` ends inside its WHERE clause: the bounds of
/// newest_first_bounds (storage/keys.hpp), the keyset ORDER BY and a LIMIT one row past the
/// page (that row tells whether there is a next page). The cursor bound is written twice: the
/// row comparison is the index seek, the plain `time <=` lets the planner skip partitions.
void newest_first(std::string& sql, Params& p, const std::string& time_col, const std::string& id_col,
                  const std::optional<Micros>& to_us, const PageRequest& page);

/// A page read with LIMIT page.limit + 1: drops the extra row and, when there was one, sets
/// next_cursor from the last item kept (`key` gives its CursorKey).
template <class T, class Key>
void finish_page(Page<T>& out, std::size_t limit, Key key) {
    if (out.items.size() <= limit) return;
    out.items.resize(limit);
    out.next_cursor = encode_cursor(key(out.items.back()));
}

}  // namespace tether::detail::pg
