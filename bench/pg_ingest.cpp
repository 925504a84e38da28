// Sustained ingest of 20-mutation pushes through the whole pipeline into PostgreSQL (hook →
// queue → parse → redact → diff → rollups, failure and conflict counts → inserts) versus a
// developer's own bulk insert of the very same rows into the same tables, in the same run.
//
// The rows: what the pipeline stored in requests, mutations and request_models (and failures,
// none with these pushes), read back and written into fresh schemas made by the same
// migrations (same partitioned tables, same indexes; day partitions created beforehand, on the
// pipeline side too), in transactions of recorder.batch_max_items requests. Only the writes
// are timed, encoding the values included. Two client paths:
//   raw     multi-row INSERT … VALUES through libpqxx, as many rows per statement as the
//           protocol allows (65 535 parameters), every value a binary parameter, NULLs as
//           literals: the raw-insert baseline (as bench_ingest's prepared INSERTs for SQLite).
//           `ratio` is against this one.
//   copy    COPY … FROM STDIN in text format (bytea as \x hex), one COPY per table and
//           transaction, through libpq: PostgreSQL's bulk-load path, what libpqxx's stream_to
//           does; the stricter comparison, reported as copy_ratio.
// The pipeline side is timed from the first record() to the end of flush().
//
// Server: TETHER_TEST_POSTGRES_URL, else a private one (scripts/pg-test-server), stopped at
// exit. Each round uses fresh schemas, dropped afterwards. Rounds alternate; medians.
// `--requests N` (default 4000); `--verbose` prints each round's times on stderr.
// Prints {"bench":"pg_ingest","requests_per_s":…,"raw_requests_per_s":…,"ratio":…,…}
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common.hpp"
#include "storage/postgres/partitions.hpp"
#include "tether/observer.hpp"
#include "tether/postgres_storage.hpp"

using clk = std::chrono::steady_clock;

namespace {

// ---- The server -------------------------------------------------------------------------

// A private server from scripts/pg-test-server, stopped by the destructor. Static storage, so
// that std::exit (the failure paths) stops it too.
struct PrivateServer {
    std::string dir;
    ~PrivateServer() { stop(); }
    void stop() {
        if (dir.empty()) return;
        const std::string cmd =
            std::string(TETHER_SOURCE_DIR) + "/scripts/pg-test-server stop " + dir + " >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0)
            std::fprintf(stderr, "pg_ingest: could not stop the server in %s\n", dir.c_str());
        dir.clear();
    }
};
PrivateServer private_server;

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "pg_ingest: %s\n", why.c_str());
    std::exit(1);
}

std::string start_private_server() {
    char tmpl[] = "/tmp/tether-bench-pg-XXXXXX";  // directly under /tmp: the postgres user must enter it
    if (!::mkdtemp(tmpl)) fail("mkdtemp failed");
    private_server.dir = tmpl;
    const std::string cmd = std::string(TETHER_SOURCE_DIR) + "/scripts/pg-test-server start " + private_server.dir;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) fail("cannot run " + cmd);
    std::string out;
    char line[1024];
    while (std::fgets(line, sizeof line, p)) out += line;
    const int status = ::pclose(p);
    const std::string key = "TETHER_TEST_POSTGRES_URL='";
    const auto at = out.find(key);
    if (status != 0 || at == std::string::npos)
        fail("scripts/pg-test-server could not start a server (see above); or set TETHER_TEST_POSTGRES_URL");
    return out.substr(at + key.size(), out.find('\'', at + key.size()) - at - key.size());
}

void exec(const std::string& url, const std::string& sql) {
    pqxx::connection c(url);
    pqxx::nontransaction(c).exec(sql);
}

// A fresh schema made by the library's migrations, with the day partitions of `days`.
void create_schema(const std::string& url, const std::string& schema, const std::set<std::int64_t>& days) {
    tether::open_postgres_storage({url, schema});
    pqxx::connection c(url);
    pqxx::nontransaction(c).exec("SET search_path TO " + schema);
    tether::detail::pg::Partitions().ensure(c, days);
}

std::int64_t today() {
    const auto now_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    return tether::detail::pg::day_of(now_us);
}

// ---- Pipeline side ----------------------------------------------------------------------

double run_pipeline(const std::string& url, const std::string& schema, std::vector<tether::Exchange> exchanges,
                    const tether::Config& config) {
    using namespace tether;
    create_schema(url, schema, {today()});  // a round that crosses midnight UTC creates the next day itself
    auto observer = Observer::builder().config(config).storage(open_postgres_storage({url, schema})).build();
    const auto n = exchanges.size();
    auto t0 = clk::now();
    for (auto& ex : exchanges) observer->recorder().record(std::move(ex));
    if (!observer->recorder().flush(std::chrono::minutes(10)) || observer->recorder().stats().written != n)
        fail("the pipeline did not write every request (written " +
             std::to_string(observer->recorder().stats().written) + " of " + std::to_string(n) + ")");
    return std::chrono::duration<double>(clk::now() - t0).count();
}

// ---- The rows, read back -----------------------------------------------------------------

// A column value as the application would hold it.
using Value = std::variant<std::monostate, std::int64_t, bool, std::string>;

constexpr pqxx::oid bool_oid = 16, bytea_oid = 17, int8_oid = 20, int4_oid = 23, text_oid = 25;

struct Table {
    std::string name;
    std::vector<pqxx::oid> types;  // per column, in table order
    std::vector<std::vector<Value>> rows;
    std::map<std::string, std::vector<std::size_t>> rows_of;  // request id -> row indexes
};

Table read_table(pqxx::connection& c, const std::string& schema, const std::string& name, const std::string& key,
                 const std::string& order) {
    Table t;
    t.name = name;
    pqxx::read_transaction tx(c);
    const auto result = tx.exec("SELECT * FROM " + schema + "." + name + " ORDER BY " + order);
    const auto key_column = static_cast<std::size_t>(result.column_number(key));
    for (pqxx::row_size_type i = 0; i < result.columns(); ++i) {
        const auto type = result.column_type(i);
        if (type != bool_oid && type != bytea_oid && type != int8_oid && type != int4_oid && type != text_oid)
            fail(name + "." + result.column_name(i) + " has a column type this benchmark does not know");
        t.types.push_back(type);
    }
    for (const auto& r : result) {
        std::vector<Value> row;
        for (pqxx::row_size_type i = 0; i < r.size(); ++i) {
            const auto& f = r[i];
            if (f.is_null())
                row.emplace_back(std::monostate{});
            else if (t.types[i] == int8_oid || t.types[i] == int4_oid)
                row.emplace_back(f.as<std::int64_t>());
            else if (t.types[i] == bool_oid)
                row.emplace_back(f.as<bool>());
            else if (t.types[i] == bytea_oid)
                row.emplace_back(pqxx::binarystring(f).str());
            else
                row.emplace_back(f.as<std::string>());
        }
        t.rows_of[std::get<std::string>(row[key_column])].push_back(t.rows.size());
        t.rows.push_back(std::move(row));
    }
    return t;
}

struct Rows {
    Table requests, mutations, models, failures;  // the library's table order
    std::set<std::int64_t> days;

    // The row indexes of each table that belong to requests [from, to).
    std::vector<std::vector<std::size_t>> batch(std::size_t from, std::size_t to) const {
        std::vector<std::vector<std::size_t>> out(4);
        for (std::size_t i = from; i < to; ++i) {
            out[0].push_back(i);
            const auto& id = std::get<std::string>(requests.rows[i][0]);
            const Table* children[] = {&mutations, &models, &failures};
            for (std::size_t t = 0; t < 3; ++t)
                if (auto it = children[t]->rows_of.find(id); it != children[t]->rows_of.end())
                    out[t + 1].insert(out[t + 1].end(), it->second.begin(), it->second.end());
        }
        return out;
    }
    const Table& table(std::size_t t) const {
        const Table* all[] = {&requests, &mutations, &models, &failures};
        return *all[t];
    }
};

Rows read_rows(const std::string& url, const std::string& schema, std::size_t n, std::size_t mutations_per_request) {
    pqxx::connection c(url);
    Rows rows{read_table(c, schema, "requests", "id", "started_at, id"),
              read_table(c, schema, "mutations", "request_id", "request_id, seq"),
              read_table(c, schema, "request_models", "request_id", "request_id, model"),
              read_table(c, schema, "failures", "request_id", "request_id, id"),
              {}};
    if (rows.requests.rows.size() != n || rows.mutations.rows.size() != n * mutations_per_request)
        fail("the pipeline's schema holds " + std::to_string(rows.requests.rows.size()) + " requests and " +
             std::to_string(rows.mutations.rows.size()) + " mutations");
    for (const auto& r : rows.requests.rows)  // requests: id, started_at, …
        rows.days.insert(tether::detail::pg::day_of(std::get<std::int64_t>(r[1])));
    return rows;
}

void check_stored(const std::string& url, const std::string& schema, const Rows& rows) {
    pqxx::connection c(url);
    pqxx::read_transaction tx(c);
    for (std::size_t t = 0; t < 4; ++t) {
        const auto& table = rows.table(t);
        const auto n = tx.exec("SELECT count(*) FROM " + schema + "." + table.name)[0][0].as<std::size_t>();
        if (n != table.rows.size())
            fail(schema + "." + table.name + " holds " + std::to_string(n) + " rows instead of " +
                 std::to_string(table.rows.size()));
    }
}

void put_be(std::string& out, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// ---- raw: COPY FROM STDIN through libpq ----------------------------------------------------

struct PgConn {
    PGconn* c;
    explicit PgConn(const std::string& url) : c(PQconnectdb(url.c_str())) {
        if (PQstatus(c) != CONNECTION_OK) fail(std::string("connect: ") + PQerrorMessage(c));
    }
    ~PgConn() { PQfinish(c); }
    void exec(const std::string& sql) {
        std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(c, sql.c_str()), PQclear);
        if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) fail(sql.substr(0, 40) + ": " + PQerrorMessage(c));
    }
};

// One COPY of `rows` of `t` in text format: tab-separated, \N for NULL, backslash escapes,
// bytea in hex.
void copy_rows(PgConn& pg, const std::string& schema, const Table& t, const std::vector<std::size_t>& rows,
               std::string& buf) {
    if (rows.empty()) return;
    static const char* hex = "0123456789abcdef";
    std::unique_ptr<PGresult, void (*)(PGresult*)> start(
        PQexec(pg.c, ("COPY " + schema + "." + t.name + " FROM STDIN").c_str()), PQclear);
    if (PQresultStatus(start.get()) != PGRES_COPY_IN) fail(std::string("COPY: ") + PQerrorMessage(pg.c));
    auto send = [&] {
        if (PQputCopyData(pg.c, buf.data(), static_cast<int>(buf.size())) != 1)
            fail(std::string("COPY: ") + PQerrorMessage(pg.c));
        buf.clear();
    };
    buf.clear();
    for (auto index : rows) {
        const auto& row = t.rows[index];
        for (std::size_t col = 0; col < row.size(); ++col) {
            if (col) buf += '\t';
            const auto& v = row[col];
            if (std::holds_alternative<std::monostate>(v)) {
                buf += "\\N";
            } else if (const auto* s = std::get_if<std::string>(&v)) {
                if (t.types[col] == bytea_oid) {
                    buf += "\\\\x";
                    for (unsigned char ch : *s) {
                        buf += hex[ch >> 4];
                        buf += hex[ch & 15];
                    }
                } else {
                    for (char ch : *s) {
                        switch (ch) {
                            case '\\':
                                buf += "\\\\";
                                break;
                            case '\t':
                                buf += "\\t";
                                break;
                            case '\n':
                                buf += "\\n";
                                break;
                            case '\r':
                                buf += "\\r";
                                break;
                            default:
                                buf += ch;
                        }
                    }
                }
            } else if (const auto* flag = std::get_if<bool>(&v)) {
                buf += *flag ? 't' : 'f';
            } else {
                buf += std::to_string(std::get<std::int64_t>(v));
            }
        }
        buf += '\n';
        if (buf.size() >= (1u << 20)) send();
    }
    if (!buf.empty()) send();
    if (PQputCopyEnd(pg.c, nullptr) != 1) fail(std::string("COPY: ") + PQerrorMessage(pg.c));
    bool ok = true;
    while (PGresult* r = PQgetResult(pg.c)) {
        ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok) fail(std::string("COPY: ") + PQerrorMessage(pg.c));
}

double run_copy(const std::string& url, const Rows& rows, const std::string& schema, std::size_t batch) {
    create_schema(url, schema, rows.days);
    PgConn pg(url);
    std::string buf;
    const auto n = rows.requests.rows.size();
    auto t0 = clk::now();
    for (std::size_t b = 0; b < n; b += batch) {
        const auto parts = rows.batch(b, std::min(n, b + batch));
        pg.exec("BEGIN");
        for (std::size_t t = 0; t < 4; ++t) copy_rows(pg, schema, rows.table(t), parts[t], buf);
        pg.exec("COMMIT");
    }
    const double seconds = std::chrono::duration<double>(clk::now() - t0).count();
    check_stored(url, schema, rows);
    return seconds;
}

// ---- insert: multi-row INSERT … VALUES through libpqxx -----------------------------------

// As few statements as the protocol's parameter limit allows; every value a binary parameter,
// whose type the server takes from the target column.
void insert_rows(pqxx::transaction_base& tx, const std::string& schema, const Table& t,
                 const std::vector<std::size_t>& rows) {
    const std::size_t per_statement = 65'535 / t.types.size();
    std::vector<pqxx::binarystring> params;
    std::string sql, be;
    for (std::size_t b = 0; b < rows.size(); b += per_statement) {
        params.clear();
        sql = "INSERT INTO " + schema + "." + t.name + " VALUES ";
        for (std::size_t i = b; i < std::min(rows.size(), b + per_statement); ++i) {
            const auto& row = t.rows[rows[i]];
            sql += i > b ? ",(" : "(";
            for (std::size_t col = 0; col < row.size(); ++col) {
                if (col) sql += ',';
                const auto& v = row[col];
                if (std::holds_alternative<std::monostate>(v)) {
                    sql += "NULL";
                    continue;
                }
                if (const auto* s = std::get_if<std::string>(&v)) {
                    params.emplace_back(s->data(), s->size());
                } else if (const auto* flag = std::get_if<bool>(&v)) {
                    const unsigned char byte = *flag ? 1 : 0;
                    params.emplace_back(&byte, 1);
                } else {
                    be.clear();
                    put_be(be, static_cast<std::uint64_t>(std::get<std::int64_t>(v)), t.types[col] == int4_oid ? 4 : 8);
                    params.emplace_back(be.data(), be.size());
                }
                sql += '$';
                sql += std::to_string(params.size());
            }
            sql += ')';
        }
        tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    }
}

double run_insert(const std::string& url, const Rows& rows, const std::string& schema, std::size_t batch) {
    create_schema(url, schema, rows.days);
    pqxx::connection c(url);
    const auto n = rows.requests.rows.size();
    auto t0 = clk::now();
    for (std::size_t b = 0; b < n; b += batch) {
        const auto parts = rows.batch(b, std::min(n, b + batch));
        pqxx::work tx(c);
        for (std::size_t t = 0; t < 4; ++t)
            if (!parts[t].empty()) insert_rows(tx, schema, rows.table(t), parts[t]);
        tx.commit();
    }
    const double seconds = std::chrono::duration<double>(clk::now() - t0).count();
    check_stored(url, schema, rows);
    return seconds;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int run(int argc, char** argv) {
    using namespace tether;
    const std::size_t n = bench::requests_flag(argc, argv, 4000), rounds = 5, mutations = 20;
    bool verbose = false;
    for (int i = 1; i < argc; ++i) verbose = verbose || std::string(argv[i]) == "--verbose";
    const char* env = std::getenv("TETHER_TEST_POSTGRES_URL");
    const bool own_server = !(env && *env);
    const std::string url = own_server ? start_private_server() : std::string(env);

    std::vector<Exchange> exchanges;
    exchanges.reserve(n);
    for (std::size_t i = 0; i < n; ++i) exchanges.push_back(bench::make_push(mutations, i));
    Config config;
    config.recorder.queue_max_items = n;
    config.recorder.queue_max_bytes = 1u << 30;
    const std::size_t batch = config.recorder.batch_max_items;

    // Alternate the sides so that machine noise hits them alike; report medians.
    std::vector<double> pipeline_s, copy_s, insert_s;
    const std::string prefix = "bench_pg_ingest_" + std::to_string(::getpid()) + "_";
    for (std::size_t r = 0; r < rounds; ++r) {
        const std::string pipeline = prefix + std::to_string(r) + "_pipeline",
                          copy = prefix + std::to_string(r) + "_copy", insert = prefix + std::to_string(r) + "_insert";
        const std::string drop = "DROP SCHEMA IF EXISTS " + pipeline + " CASCADE; DROP SCHEMA IF EXISTS " + copy +
                                 " CASCADE; DROP SCHEMA IF EXISTS " + insert + " CASCADE";
        try {
            pipeline_s.push_back(run_pipeline(url, pipeline, exchanges, config));
            const Rows rows = read_rows(url, pipeline, n, mutations);
            copy_s.push_back(run_copy(url, rows, copy, batch));
            insert_s.push_back(run_insert(url, rows, insert, batch));
        } catch (...) {
            exec(url, drop);
            throw;
        }
        exec(url, drop);
        if (verbose)
            std::fprintf(stderr, "pg_ingest round %zu: pipeline %.3f s, raw (INSERT) %.3f s, COPY %.3f s\n", r,
                         pipeline_s.back(), insert_s.back(), copy_s.back());
    }
    const double rps = static_cast<double>(n) / median(pipeline_s),
                 raw_rps = static_cast<double>(n) / median(insert_s),
                 copy_rps = static_cast<double>(n) / median(copy_s);
    std::printf(
        "{\"bench\":\"pg_ingest\",\"requests_per_s\":%.0f,\"raw_requests_per_s\":%.0f,\"ratio\":%.3f,"
        "\"copy_requests_per_s\":%.0f,\"copy_ratio\":%.3f,\"requests\":%zu,\"mutations_per_request\":%zu,"
        "\"rounds\":%zu,\"batch\":%zu,\"raw\":\"multi-row INSERT VALUES\",\"copy\":\"COPY text via libpq\","
        "\"server\":\"%s\"}\n",
        rps, raw_rps, rps / raw_rps, copy_rps, rps / copy_rps, n, mutations, rounds, batch,
        own_server ? "private" : "TETHER_TEST_POSTGRES_URL");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pg_ingest: %s\n", e.what());
    }
    return 1;  // private_server's destructor stops the server
}
