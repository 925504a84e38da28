#include "storage/postgres/partitions.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace tether::detail::pg {
namespace {

// Serializes partition DDL of one schema across processes (two CREATE TABLE IF NOT EXISTS of
// the same name can otherwise both pass the check and one fail on the catalog's unique index).
const std::string ddl_lock =
    "SELECT pg_advisory_xact_lock(hashtextextended('tether.partitions:' || current_schema(), 0))";

std::string bound(const std::optional<Micros>& v, const char* open_end) {
    return v ? std::to_string(*v) : std::string(open_end);
}

}  // namespace

std::int64_t day_of(Micros t) noexcept {
    const std::int64_t q = t / day_us;
    return (t % day_us < 0) ? q - 1 : q;
}

DayRange day_range(std::int64_t day) noexcept {
    DayRange r;
    Micros from = 0, to = 0;
    const bool from_ok = !__builtin_mul_overflow(day, day_us, &from);
    if (from_ok) r.from = from;
    // The first day's start lies below INT64_MIN, so its end is computed from the next day's start.
    if (from_ok ? !__builtin_add_overflow(from, day_us, &to) : !__builtin_mul_overflow(day + 1, day_us, &to)) r.to = to;
    return r;
}

std::string partition_name(const char* table, std::int64_t day) {
    return std::string(table) + "_d" + (day < 0 ? "m" + std::to_string(-day) : std::to_string(day));
}

void Partitions::ensure(pqxx::connection& c, const std::set<std::int64_t>& days) {
    for (std::int64_t day : days) {
        if (known_.count(day)) continue;
        pqxx::work tx(c);
        // The catalog first: a day another process created needs neither the lock nor DDL.
        const auto found = tx.exec_params("SELECT to_regclass($1) IS NOT NULL", partition_name("failures", day));
        if (!found[0][0].as<bool>()) {
            tx.exec(ddl_lock);
            const DayRange r = day_range(day);
            const std::string values =
                " FOR VALUES FROM (" + bound(r.from, "MINVALUE") + ") TO (" + bound(r.to, "MAXVALUE") + ")";
            // Names and bounds are computed here from an integer: nothing captured reaches the DDL.
            for (const char* table : partitioned_tables)
                tx.exec("CREATE TABLE IF NOT EXISTS " + partition_name(table, day) + " PARTITION OF " + table + values);
        }
        tx.commit();
        known_.insert(day);
    }
}

std::vector<std::int64_t> Partitions::existing(pqxx::transaction_base& tx) {
    std::vector<std::int64_t> days;
    const auto rows = tx.exec(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'requests'::regclass");
    for (const auto& row : rows) {
        const std::string name = row[0].as<std::string>();
        std::string_view n(name);
        if (n.rfind("requests_d", 0) != 0) continue;  // not one of ours
        n.remove_prefix(10);
        const bool negative = !n.empty() && n[0] == 'm';
        if (negative) n.remove_prefix(1);
        std::int64_t day = 0;
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), day);
        if (ec != std::errc() || end != n.data() + n.size()) continue;
        days.push_back(negative ? -day : day);
    }
    std::sort(days.begin(), days.end());
    return days;
}

void Partitions::drop(pqxx::transaction_base& tx, std::int64_t day) {
    std::string names;
    for (const char* table : partitioned_tables) names += (names.empty() ? "" : ", ") + partition_name(table, day);
    tx.exec("DROP TABLE IF EXISTS " + names);
}

}  // namespace tether::detail::pg
