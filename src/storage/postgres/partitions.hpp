#pragma once
// Day partitions. A request and everything that belongs to it (mutations, model index rows,
// failure rows) live in partitions of the UTC day of the request's started_at, one per table,
// so that retention drops a whole day at once and never leaves half a request behind.
// write_batch creates the day partitions it needs before its own transaction; prune drops
// the days that ended before the age cutoff.
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "tether/records.hpp"

namespace tether::detail::pg {

inline constexpr Micros day_us = 86'400'000'000;

/// The day `t` falls in: floor(t / day_us), also for negative times.
std::int64_t day_of(Micros t) noexcept;

/// [from, to) of a day; unset at the ends of the int64 range (MINVALUE, MAXVALUE).
struct DayRange {
    std::optional<Micros> from, to;
};
DayRange day_range(std::int64_t day) noexcept;

/// The partitioned tables, in the order every transaction touches (and locks) them.
inline constexpr const char* partitioned_tables[] = {"requests", "mutations", "request_models", "failures"};

/// "requests_d19675", "requests_dm3" (day -3).
std::string partition_name(const char* table, std::int64_t day);

/// The day partitions this process knows to exist. One per connection's owner (the writer).
class Partitions {
public:
    /// Creates the partitions of `days` not known to exist yet, each day in a short
    /// transaction of its own (creating a partition locks its parent table; the batch must not
    /// hold that lock). Several processes may race for the same day: an advisory lock on the
    /// schema serializes them, and a day that exists is left alone.
    void ensure(pqxx::connection& c, const std::set<std::int64_t>& days);

    /// Days that have partitions, ascending, read from the catalog.
    static std::vector<std::int64_t> existing(pqxx::transaction_base& tx);

    /// Drops the day's partitions of every table (inside the caller's transaction).
    static void drop(pqxx::transaction_base& tx, std::int64_t day);

    void forget(std::int64_t day) { known_.erase(day); }
    void forget_all() noexcept { known_.clear(); }

private:
    std::set<std::int64_t> known_;
};

}  // namespace tether::detail::pg
