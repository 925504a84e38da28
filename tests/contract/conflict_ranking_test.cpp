// SQLite ranks top conflicting entities from per-entity totals and stops early (see
// SqliteStorage::top_entities); the memory backend groups every hourly row. Both must give
// the same lists for any range, instance and length: random data, many queries.
#include <catch2/catch.hpp>
#include <cstdio>
#include <random>

#include "support/temp_dir.hpp"
#include "tether/storage.hpp"
#ifdef TETHER_HAVE_SQLITE
#include "tether/sqlite_storage.hpp"

using namespace tether;

namespace {

std::string text(const std::vector<ConflictPatterns::Entity>& v) {
    std::string out;
    for (const auto& e : v)
        out += e.model + "/" + e.entity_id + ":" + std::to_string(e.conflicts) + "@" + std::to_string(e.last_seen_us) + " ";
    return out;
}

}  // namespace

TEST_CASE("conflict ranking: sqlite's early-stopping top entities equal a full grouping", "[storage][conflicts]") {
    constexpr Micros H = one_hour_us, T0 = 1'795'600'800'000'000;
    test::TempDir dir;
    auto sqlite = open_sqlite_storage({dir.file("rank.db")});
    auto memory = make_memory_storage();
    std::mt19937_64 rng(42);
    long n = 0;
    for (int b = 0; b < 40; ++b) {
        std::vector<CapturedRequest> batch;
        for (int r = 0; r < 10; ++r, ++n) {
            CapturedRequest c;
            char id[32];
            std::snprintf(id, sizeof id, "R%08ld", n);
            c.request.id = id;
            c.request.client_id = "c" + std::to_string(rng() % 5);
            c.request.instance = rng() % 3 ? "i0" : "i1";
            // Some entities are hot early on, others late: totals and ranges disagree.
            c.request.started_at_us = T0 + static_cast<Micros>(rng() % (48 * H));
            for (int m = 0; m < 3; ++m) {
                MutationRecord mr;
                std::snprintf(id, sizeof id, "M%08ld%d", n, m);
                mr.id = id;
                mr.seq = static_cast<std::uint32_t>(m);
                mr.client_id = c.request.client_id;
                mr.instance = c.request.instance;
                mr.started_at_us = c.request.started_at_us;
                mr.model = rng() % 2 ? "Task" : "Note";
                const bool early = c.request.started_at_us < T0 + 24 * H;
                mr.entity_id = "e" + std::to_string(early ? rng() % 4 : 4 + rng() % 40);
                mr.outcome = MutationOutcome::conflict;
                mr.conflict = ConflictInfo{};
                c.mutations.push_back(std::move(mr));
            }
            c.request.mutation_count = 3;
            c.request.conflicts = 3;
            c.request.outcome = RequestOutcome::conflict;
            batch.push_back(std::move(c));
        }
        sqlite->write_batch(batch);
        memory->write_batch(batch);
    }
    int queries = 0;
    for (Micros from : {T0, T0 + 6 * H, T0 + 23 * H, T0 + 30 * H})
        for (Micros len : {H, 5 * H, 24 * H, 48 * H})
            for (std::size_t top : {1, 3, 10, 100})
                for (const char* instance : {"", "i1"}) {
                    ConflictPatternQuery q;
                    q.from_us = from;
                    q.to_us = from + len;
                    q.top_n = top;
                    q.instance = instance;
                    INFO("from +" << (from - T0) / H << "h, " << len / H << "h, top " << top << ", instance " << instance);
                    CHECK(text(sqlite->conflict_patterns(q).top_entities) == text(memory->conflict_patterns(q).top_entities));
                    ++queries;
                }
    CHECK(queries == 128);
    // Telemetry retention drops totals together with their hours.
    sqlite->prune_rollups(T0 + 24 * H);
    memory->prune_rollups(T0 + 24 * H);
    ConflictPatternQuery all;
    all.from_us = T0;
    all.to_us = T0 + 48 * H;
    all.top_n = 100;
    CHECK(text(sqlite->conflict_patterns(all).top_entities) == text(memory->conflict_patterns(all).top_entities));
}
#endif
