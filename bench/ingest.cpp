// Sustained ingest of 20-mutation pushes through the whole pipeline (hook → queue →
// parse → redact → diff → SQLite) versus raw prepared-statement inserts of the very same
// rows into the same schema, in the same run.
// Prints {"bench":"ingest","requests_per_s":…,"raw_requests_per_s":…,"ratio":…}
#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <variant>

#include "common.hpp"
#include "storage/sqlite/schema.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

using clk = std::chrono::steady_clock;
using Value = std::variant<std::monostate, std::int64_t, double, std::string, std::vector<char>>;
using Row = std::vector<Value>;

namespace {

std::vector<Row> read_rows(SQLite::Database& db, const std::string& sql) {
    std::vector<Row> rows;
    SQLite::Statement q(db, sql);
    while (q.executeStep()) {
        Row row;
        for (int i = 0; i < q.getColumnCount(); ++i) {
            auto c = q.getColumn(i);
            if (c.isNull()) row.emplace_back(std::monostate{});
            else if (c.isInteger()) row.emplace_back(c.getInt64());
            else if (c.isFloat()) row.emplace_back(c.getDouble());
            else if (c.isBlob()) {
                auto* p = static_cast<const char*>(c.getBlob());
                row.emplace_back(std::vector<char>(p, p + c.getBytes()));
            } else row.emplace_back(c.getString());
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

void bind_row(SQLite::Statement& s, const Row& row) {
    s.reset();
    for (std::size_t i = 0; i < row.size(); ++i) {
        int idx = static_cast<int>(i) + 1;
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::monostate>) s.bind(idx);
                else if constexpr (std::is_same_v<T, std::vector<char>>) s.bindNoCopy(idx, v.data(), static_cast<int>(v.size()));
                else if constexpr (std::is_same_v<T, std::string>) s.bindNoCopy(idx, v);
                else s.bind(idx, v);
            },
            row[i]);
    }
    s.exec();
}

std::string placeholders(std::size_t n) {
    std::string p;
    for (std::size_t i = 0; i < n; ++i) p += i ? ",?" : "?";
    return p;
}


// One pipeline run into a fresh file; returns seconds.
double run_pipeline(const std::string& db, std::vector<tether::Exchange> exchanges, const tether::Config& config) {
    using namespace tether;
    auto observer = Observer::builder().config(config).storage(open_sqlite_storage({db})).build();
    const auto n = exchanges.size();
    auto t0 = clk::now();
    for (auto& ex : exchanges) observer->recorder().record(std::move(ex));
    if (!observer->recorder().flush(std::chrono::minutes(10)) || observer->recorder().stats().written != n) {
        std::fprintf(stderr, "ingest: pipeline did not write every request\n");
        std::exit(1);
    }
    return std::chrono::duration<double>(clk::now() - t0).count();
}

// Raw prepared-statement inserts of the rows the pipeline stored in `source`, into a
// fresh database with the same schema, in transactions of `batch` requests; returns seconds.
double run_raw(const std::string& source, const std::string& db, std::size_t batch) {
    SQLite::Database src(source, SQLite::OPEN_READONLY);
    auto requests = read_rows(src, "SELECT * FROM requests ORDER BY started_at, id");
    auto mutations = read_rows(src, "SELECT * FROM mutations ORDER BY request_id, seq");
    auto models = read_rows(src, "SELECT * FROM request_models");
    std::map<std::string, std::vector<const Row*>> muts_of, models_of;
    for (const auto& m : mutations) muts_of[std::get<std::string>(m[1])].push_back(&m);
    for (const auto& m : models) models_of[std::get<std::string>(m[2])].push_back(&m);

    SQLite::Database raw(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    // The same file settings as SqliteStorage, so the ratio measures the library, not SQLite tuning.
    raw.exec("PRAGMA page_size=" + std::to_string(tether::SqliteOptions{}.page_size) +
             "; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;");
    for (const auto& step : tether::detail::sqlite_migrations()) raw.exec(step);
    SQLite::Statement ins_req(raw, "INSERT INTO requests VALUES (" + placeholders(requests[0].size()) + ")");
    SQLite::Statement ins_mut(raw, "INSERT INTO mutations VALUES (" + placeholders(mutations[0].size()) + ")");
    SQLite::Statement ins_model(raw, "INSERT INTO request_models VALUES (?,?,?)");
    auto t0 = clk::now();
    for (std::size_t b = 0; b < requests.size(); b += batch) {
        SQLite::Transaction tx(raw);
        for (std::size_t i = b; i < std::min(requests.size(), b + batch); ++i) {
            bind_row(ins_req, requests[i]);
            const auto& id = std::get<std::string>(requests[i][0]);
            for (const auto* m : models_of[id]) bind_row(ins_model, *m);
            for (const auto* m : muts_of[id]) bind_row(ins_mut, *m);
        }
        tx.commit();
    }
    return std::chrono::duration<double>(clk::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main() {
    using namespace tether;
    const std::size_t n = 4000, rounds = 7;
    bench::ScratchDir dir;
    std::vector<Exchange> exchanges;
    exchanges.reserve(n);
    for (std::size_t i = 0; i < n; ++i) exchanges.push_back(bench::make_push(20, i));
    Config config;
    config.recorder.queue_max_items = n;
    config.recorder.queue_max_bytes = 1u << 30;

    // Alternate the two sides so that machine noise hits both alike; report medians.
    std::vector<double> pipeline_s, raw_s;
    for (std::size_t r = 0; r < rounds; ++r) {
        const std::string db = dir.file("pipeline" + std::to_string(r) + ".db");
        pipeline_s.push_back(run_pipeline(db, exchanges, config));
        raw_s.push_back(run_raw(db, dir.file("raw" + std::to_string(r) + ".db"), config.recorder.batch_max_items));
    }
    double rps = static_cast<double>(n) / median(pipeline_s), raw_rps = static_cast<double>(n) / median(raw_s);
    std::printf("{\"bench\":\"ingest\",\"requests_per_s\":%.0f,\"raw_requests_per_s\":%.0f,\"ratio\":%.3f,"
                "\"requests\":%zu,\"mutations_per_request\":20,\"rounds\":%zu}\n",
                rps, raw_rps, rps / raw_rps, n, rounds);
    return 0;
}
