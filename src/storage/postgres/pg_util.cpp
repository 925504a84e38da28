#include "storage/postgres/pg_util.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "storage/keys.hpp"

namespace tether::detail::pg {
namespace {

// The protocol allows 65535 parameters per statement and 1 GB per message; stay well below.
constexpr std::size_t max_params_per_statement = 30'000;
constexpr std::size_t max_bytes_per_statement = 64u << 20;

// Network byte order, `n` bytes.
void put_be(std::string& out, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

bool is_schema_name(std::string_view s) {
    if (s.empty() || s.size() > 63 || s.rfind("pg_", 0) == 0) return false;
    if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// The password as the user wrote it, found without libpq (whose own parse errors may quote
// it): "scheme://user:PASSWORD@host…", "…?password=PASSWORD&…" or "password=PASSWORD" /
// "password='PASSWORD'" in a key=value string.
std::vector<std::string> written_secrets(const std::string& url) {
    std::vector<std::string> out;
    auto add = [&](std::string s) {
        if (s.empty()) return;
        out.push_back(percent_decode(s));
        out.push_back(std::move(s));
    };
    if (auto scheme = url.find("://"); scheme != std::string::npos) {
        const std::size_t start = scheme + 3;
        const std::size_t end = url.find_first_of("/?", start);
        const std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (auto at = authority.rfind('@'); at != std::string::npos) {
            const std::string userinfo = authority.substr(0, at);
            if (auto colon = userinfo.find(':'); colon != std::string::npos) add(userinfo.substr(colon + 1));
        }
    }
    for (std::size_t p = 0; (p = url.find("password", p)) != std::string::npos;) {
        p += 8;
        std::size_t v = p;
        while (v < url.size() && url[v] == ' ') ++v;
        if (v >= url.size() || url[v] != '=') continue;
        ++v;
        while (v < url.size() && url[v] == ' ') ++v;
        if (v < url.size() && url[v] == '\'') {
            std::string value;
            for (++v; v < url.size() && url[v] != '\''; ++v) {
                if (url[v] == '\\' && v + 1 < url.size()) ++v;
                value.push_back(url[v]);
            }
            add(std::move(value));
        } else {
            const std::size_t e = url.find_first_of(" &", v);
            add(url.substr(v, e == std::string::npos ? std::string::npos : e - v));
        }
    }
    return out;
}

// key='value' for a libpq connection string.
void append_option(std::string& out, const char* key, const std::string& value) {
    if (!out.empty()) out += ' ';
    out += key;
    out += "='";
    for (char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    out += '\'';
}

std::string first_line(const char* what) {
    std::string s(what);
    if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
    for (const char* prefix : {"ERROR:  ", "FATAL:  "})
        if (s.rfind(prefix, 0) == 0) s.erase(0, std::strlen(prefix));
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
    return s;
}

// Retrying may help: connection trouble (08), serialization failures and deadlocks (40),
// out of resources (53: disk full, memory, connections), operator intervention (57: shutdown,
// statement timeout), system errors (58), a lock timeout (55P03), a standby that is not
// writable yet (25006), and a partition dropped under a write (23514, partitions.cpp).
bool is_transient_state(const std::string& state) {
    const std::string cls = state.substr(0, 2);
    return cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58" || state == "55P03" ||
           state == "25006" || state == "23514";
}

}  // namespace

Target Target::parse(const PostgresOptions& options) {
    if (!is_schema_name(options.schema))
        throw InvalidArgument("schema", "must be 1-63 characters of [a-z0-9_], not starting with a digit or pg_");
    Target t;
    t.schema = options.schema;
    t.secrets = written_secrets(options.url);

    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(options.url.c_str(), &error);
    if (!parsed) {
        std::string why = error ? first_line(error) : "out of memory";
        if (error) PQfreemem(error);
        throw StorageError("postgres: the storage URL is not a libpq connection URI or string: " + t.scrub(why), false);
    }
    std::string user, host, port, dbname;
    bool has_connect_timeout = false, has_keepalives_idle = false;
    for (const PQconninfoOption* o = parsed; o->keyword; ++o) {
        if (!o->val) continue;
        const std::string key = o->keyword, value = o->val;
        if (key == "password" && !value.empty()) t.secrets.push_back(value);
        if (key == "user") user = value;
        if (key == "host" || (key == "hostaddr" && host.empty())) host = value;
        if (key == "port") port = value;
        if (key == "dbname") dbname = value;
        has_connect_timeout = has_connect_timeout || key == "connect_timeout";
        has_keepalives_idle = has_keepalives_idle || key == "keepalives_idle";
        append_option(t.conninfo, o->keyword, value);
    }
    PQconninfoFree(parsed);
    // libpq counts whole seconds and treats anything below 2 as 2.
    if (!has_connect_timeout)
        append_option(t.conninfo, "connect_timeout",
                      std::to_string(std::max<long long>(2, (options.connect_timeout.count() + 999) / 1000)));
    // Notice a peer that vanished without closing the connection (failover) within a minute
    // instead of the system's two hours.
    if (!has_keepalives_idle) {
        append_option(t.conninfo, "keepalives_idle", "30");
        append_option(t.conninfo, "keepalives_interval", "10");
        append_option(t.conninfo, "keepalives_count", "3");
    }
    // Names the deployment in pg_stat_activity (unless the URL sets application_name).
    append_option(t.conninfo, "fallback_application_name", ("tether-pro:" + t.schema).substr(0, 63));

    t.description = "postgresql://" + (user.empty() ? std::string() : user + "@") + host +
                    (port.empty() ? std::string() : ":" + port) + "/" + dbname + " (schema " + t.schema + ")";
    t.description = t.scrub(t.description);  // a password that equals the user name stays hidden too
    std::sort(t.secrets.begin(), t.secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return t;
}

std::string Target::scrub(std::string message) const {
    for (const auto& secret : secrets) {
        if (secret.empty()) continue;
        for (std::size_t p = 0; (p = message.find(secret, p)) != std::string::npos; p += 3)
            message.replace(p, secret.size(), "***");
    }
    return message;
}

pqxx::connection& Session::get() {
    if (conn_) {
        // Reads what the server sent while the connection sat idle: a server that restarted or
        // terminated this session has hung up, which throws broken_connection here, before a
        // statement runs into it (libpqxx 6 leaks the result of a statement that does).
        conn_->get_notifs();
        return *conn_;
    }
    auto c = std::make_unique<pqxx::connection>(target_.conninfo);
    c->set_verbosity(pqxx::connection_base::terse);
    {
        // The schema may not exist yet (migrate creates it); search_path accepts that.
        pqxx::nontransaction setup(*c);
        setup.exec("SET search_path TO " + target_.schema + "; SET client_min_messages TO warning");
    }
    conn_ = std::move(c);
    return *conn_;
}

StorageError Session::failure(const char* what, std::exception_ptr e) {
    const std::string prefix = std::string("postgres: ") + what + ": ";
    auto drop_if_closed = [&] {
        if (conn_ && !conn_->is_open()) conn_.reset();
    };
    try {
        std::rethrow_exception(e);
    } catch (const pqxx::broken_connection& x) {
        // get() keeps a connection only once it is set up: none means connecting failed.
        const char* what_happened = conn_ ? "connection lost: " : "cannot connect: ";
        conn_.reset();
        return StorageError(prefix + what_happened + target_.scrub(first_line(x.what())), true);
    } catch (const pqxx::in_doubt_error& x) {
        conn_.reset();
        return StorageError(prefix + "the connection broke during COMMIT; the outcome is unknown: " +
                                target_.scrub(first_line(x.what())),
                            true);
    } catch (const pqxx::transaction_rollback& x) {  // serialization failure, deadlock
        drop_if_closed();
        return StorageError(prefix + target_.scrub(first_line(x.what())), true);
    } catch (const pqxx::sql_error& x) {
        const std::string state = x.sqlstate();
        if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) conn_.reset();
        drop_if_closed();
        return StorageError(prefix + target_.scrub(first_line(x.what())) +
                                (state.empty() ? std::string() : " (SQLSTATE " + state + ")"),
                            state.empty() || is_transient_state(state));
    } catch (const pqxx::failure& x) {
        const bool lost = conn_ && !conn_->is_open();
        drop_if_closed();
        return StorageError(prefix + target_.scrub(first_line(x.what())), lost);
    } catch (const std::exception& x) {
        drop_if_closed();
        return StorageError(prefix + target_.scrub(first_line(x.what())), false);
    } catch (...) {
        drop_if_closed();
        return StorageError(prefix + "unknown error", false);
    }
}

// ---- Params ---------------------------------------------------------------------------------

std::string Params::add(const void* data, std::size_t size, const char* type) {
    values_.emplace_back(data, size);
    bytes_ += size;
    return "$" + std::to_string(values_.size()) + "::" + type;
}

std::string Params::bytes(std::string_view v) { return add(v.data(), v.size(), "bytea"); }
std::string Params::text(std::string_view v) { return add(v.data(), v.size(), "text"); }

std::string Params::i64(std::int64_t v) {
    std::string be;
    put_be(be, static_cast<std::uint64_t>(v), 8);
    return add(be.data(), be.size(), "int8");
}

std::string Params::boolean(bool v) {
    const unsigned char b = v ? 1 : 0;
    return add(&b, 1, "bool");
}

// PostgreSQL's binary array format (array_recv): dimensions, flags, element type, then
// each element as its length and bytes.
std::string Params::array(std::uint32_t element_oid, const char* type, const std::vector<std::string>& elements) {
    std::string buf;
    const bool empty = elements.empty();
    put_be(buf, empty ? 0 : 1, 4);  // dimensions
    put_be(buf, 0, 4);              // no NULLs
    put_be(buf, element_oid, 4);
    if (!empty) {
        put_be(buf, elements.size(), 4);
        put_be(buf, 1, 4);  // lower bound
    }
    for (const auto& e : elements) {
        put_be(buf, e.size(), 4);
        buf += e;
    }
    return add(buf.data(), buf.size(), type);
}

std::string Params::bytes_array(const std::vector<std::string>& v) { return array(17, "bytea[]", v); }
std::string Params::text_array(const std::vector<std::string>& v) { return array(25, "text[]", v); }
std::string Params::i64_array(const std::vector<std::int64_t>& v) {
    std::vector<std::string> elements;
    elements.reserve(v.size());
    for (auto x : v) {
        elements.emplace_back();
        put_be(elements.back(), static_cast<std::uint64_t>(x), 8);
    }
    return array(20, "int8[]", elements);
}

std::string Params::opt_i64(const std::optional<std::int64_t>& v) { return v ? i64(*v) : "NULL::int8"; }
std::string Params::opt_bytes(const std::optional<std::string>& v) { return v ? bytes(*v) : "NULL::bytea"; }

pqxx::result Params::exec(pqxx::transaction_base& tx, const std::string& sql) const {
    return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(values_));
}

std::string tuple(std::initializer_list<std::string> cells) {
    std::string out = "(";
    for (const auto& c : cells) {
        if (out.size() > 1) out += ", ";
        out += c;
    }
    return out += ')';
}

Params& MultiRow::params() {
    if (params_.size() >= max_params_per_statement || params_.bytes() >= max_bytes_per_statement) flush();
    return params_;
}

void MultiRow::add(std::initializer_list<std::string> cells) {
    if (!rows_.empty()) rows_ += ", ";
    rows_ += tuple(cells);
}

void MultiRow::flush() {
    if (rows_.empty()) return;
    results_.push_back(params_.exec(tx_, head_ + " VALUES " + rows_ + tail_));
    rows_.clear();
    params_.clear();
}

std::vector<pqxx::result> MultiRow::finish() {
    flush();
    return std::move(results_);
}

namespace {
struct ArrayType {
    std::uint32_t element_oid;
    const char* name;
};
ArrayType array_type(ArrayRows::Type t) {
    switch (t) {
        case ArrayRows::Type::bytea:
            return {17, "bytea[]"};
        case ArrayRows::Type::text:
            return {25, "text[]"};
        case ArrayRows::Type::int8:
            return {20, "int8[]"};
        case ArrayRows::Type::boolean:
            return {16, "bool[]"};
    }
    return {17, "bytea[]"};
}
}  // namespace

ArrayRows::ArrayRows(pqxx::transaction_base& tx, std::string head, std::vector<Type> columns, std::string tail)
    : tx_(tx),
      head_(std::move(head)),
      tail_(std::move(tail)),
      columns_(std::move(columns)),
      elements_(columns_.size()),
      has_null_(columns_.size(), false) {}

ArrayRows& ArrayRows::cell(Type type, const void* data, std::size_t size) {
    if (column_ >= columns_.size() || columns_[column_] != type)
        throw std::logic_error("ArrayRows: a cell does not match its column (" + head_.substr(0, 40) + ")");
    auto& e = elements_[column_++];
    put_be(e, size, 4);
    e.append(static_cast<const char*>(data), size);
    bytes_ += size + 4;
    return *this;
}

ArrayRows& ArrayRows::i64(std::int64_t v) {
    char be[8];
    for (int i = 0; i < 8; ++i) be[i] = static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * (7 - i))) & 0xFF);
    return cell(Type::int8, be, sizeof be);
}

ArrayRows& ArrayRows::boolean(bool v) {
    const unsigned char b = v ? 1 : 0;
    return cell(Type::boolean, &b, 1);
}

ArrayRows& ArrayRows::null() {
    if (column_ >= columns_.size())
        throw std::logic_error("ArrayRows: more cells than columns (" + head_.substr(0, 40) + ")");
    has_null_[column_] = true;
    put_be(elements_[column_++], 0xFFFFFFFFu, 4);  // length -1: NULL
    bytes_ += 4;
    return *this;
}

void ArrayRows::end_row() {
    if (column_ != columns_.size())
        throw std::logic_error("ArrayRows: a row misses cells (" + head_.substr(0, 40) + ")");
    column_ = 0;
    ++rows_;
    if (bytes_ >= max_bytes_per_statement) flush();
}

void ArrayRows::flush() {
    if (rows_ == 0) return;
    Params p;
    std::string sql = head_ + " SELECT * FROM unnest(";
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        const ArrayType t = array_type(columns_[c]);
        // array_recv: dimensions, has-NULLs flag, element type, then the dimension's length and
        // lower bound, then the elements.
        std::string array;
        array.reserve(20 + elements_[c].size());
        put_be(array, 1, 4);
        put_be(array, has_null_[c] ? 1 : 0, 4);
        put_be(array, t.element_oid, 4);
        put_be(array, rows_, 4);
        put_be(array, 1, 4);
        array += elements_[c];
        sql += (c ? ", " : "") + p.encoded(array, t.name);
        elements_[c].clear();
        has_null_[c] = false;
    }
    sql += ")" + tail_;
    results_.push_back(p.exec(tx_, sql));
    rows_ = 0;
    bytes_ = 0;
}

std::vector<pqxx::result> ArrayRows::finish() {
    flush();
    return std::move(results_);
}

void newest_first(std::string& sql, Params& p, const std::string& time_col, const std::string& id_col,
                  const std::optional<Micros>& to_us, const PageRequest& page) {
    auto b = newest_first_bounds(to_us, page);
    if (b.before_us) sql += " AND " + time_col + " < " + p.i64(*b.before_us);
    if (b.after) {
        const std::string t = p.i64(b.after->primary);
        sql += " AND " + time_col + " <= " + t + " AND (" + time_col + ", " + id_col + ") < (" + t + ", " +
               p.text(b.after->id) + ")";
    }
    sql += " ORDER BY " + time_col + " DESC, " + id_col + " DESC LIMIT " +
           p.i64(static_cast<std::int64_t>(page.limit + 1));
}

std::string bytes(const pqxx::field& f) {
    if (f.is_null()) return {};
    return pqxx::binarystring(f).str();
}

}  // namespace tether::detail::pg
