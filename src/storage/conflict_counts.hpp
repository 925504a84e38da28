#pragma once
// Hourly conflict counts, shared by every backend: what one batch adds to them (computed in
// exactly one place, so that backends cannot count differently), the query range rules, and
// an in-memory table set that answers conflict_patterns (the memory backend stores its
// counts in it; SQLite keeps the same rows in three tables and asks the same in SQL).
//
// Every conflicted mutation (ConflictInfo set, whatever the outcome) counts once, in the hour
// of its started_at, under its own instance/model/client_id/entity_id columns:
//   clients:  (hour, instance, model, client_id) -> conflicts
//   entities: (hour, instance, model, entity_id) -> conflicts, last seen (max started_at)
//   fields:   (hour, instance, model, field)     -> conflicts, one per distinct JSON Pointer
//                                                   path in ConflictInfo::fields
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "tether/conflicts.hpp"
#include "tether/records.hpp"
#include "tether/telemetry.hpp"

namespace tether::detail {

inline constexpr Micros conflict_hour_us = one_hour_us;
/// First and last hour starts whose whole hour an int64 can express; times outside count
/// in these (clamped), so hour arithmetic never overflows.
inline constexpr Micros min_conflict_hour_us = INT64_MIN - INT64_MIN % conflict_hour_us;
inline constexpr Micros max_conflict_hour_us = INT64_MAX - INT64_MAX % conflict_hour_us - conflict_hour_us;
/// The longest pattern range, in hours (a year and a day): by_bucket lists every hour.
inline constexpr std::size_t max_conflict_pattern_hours = 24 * 367;

/// The hour `t` falls in (floor, also for negative times), clamped as above.
Micros conflict_hour(Micros t) noexcept;

/// (hour_start, instance, model, client_id | entity_id | field)
using ConflictHourKey = std::tuple<Micros, std::string, std::string, std::string>;

struct ConflictEntityCount {
    std::uint64_t conflicts = 0;
    Micros last_seen_us = 0;
    void add(const ConflictEntityCount& d) noexcept;
};

/// A set of hourly counts: either what one batch adds, or (memory backend) everything stored.
struct ConflictCounts {
    std::map<ConflictHourKey, std::uint64_t> clients;
    std::map<ConflictHourKey, ConflictEntityCount> entities;
    std::map<ConflictHourKey, std::uint64_t> fields;

    bool empty() const noexcept { return clients.empty() && entities.empty() && fields.empty(); }
    void add(const ConflictCounts& delta);
    /// Deletes every hour that ended at or before `before_us`; returns how many rows went.
    std::size_t prune(Micros before_us);
    /// Answers Storage::conflict_patterns from these tables alone.
    ConflictPatterns patterns(const ConflictPatternQuery& query) const;
};

/// What `batch` adds to the hourly counts (empty when it holds no conflict).
ConflictCounts conflict_count_delta(const std::vector<CapturedRequest>& batch);

/// The hour-aligned range a query covers: [floor(from), ceil(to)) in whole hours.
/// Throws InvalidArgument("to", …) when to < from or the range exceeds max_conflict_pattern_hours.
struct ConflictPatternRange {
    Micros from_us = 0, to_us = 0;
    std::size_t hours = 0;
};
ConflictPatternRange conflict_pattern_range(const ConflictPatternQuery& query);

/// by_bucket (every hour of the range, zeros included) and total from per-hour sums.
void fill_conflict_buckets(ConflictPatterns& out, const ConflictPatternRange& range,
                           const std::map<Micros, std::uint64_t>& per_hour);

/// Sets `hour_start_max` to the last start whose hour ended at or before `before_us`
/// (start + 1 h <= before); false when no hour can have ended that early.
bool last_ended_conflict_hour(Micros before_us, Micros& hour_start_max) noexcept;

/// The documented list orders (conflicts.hpp), used by the memory backend and mirrored by
/// SQLite's ORDER BY clauses.
bool conflict_order(const ConflictPatterns::ByModel& a, const ConflictPatterns::ByModel& b) noexcept;
bool conflict_order(const ConflictPatterns::ByClient& a, const ConflictPatterns::ByClient& b) noexcept;
bool conflict_order(const ConflictPatterns::ByModelClient& a, const ConflictPatterns::ByModelClient& b) noexcept;
bool conflict_order(const ConflictPatterns::Entity& a, const ConflictPatterns::Entity& b) noexcept;
bool conflict_order(const ConflictPatterns::Field& a, const ConflictPatterns::Field& b) noexcept;

/// Sorted by conflict_order, cut to the first `n` (a partial sort: the lists can be long).
template <class T>
void keep_top(std::vector<T>& v, std::size_t n) {
    auto less = [](const T& a, const T& b) { return conflict_order(a, b); };
    if (n < v.size()) {
        std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(), less);
        v.resize(n);
    } else {
        std::sort(v.begin(), v.end(), less);
    }
}

/// A ConflictRecord from a stored conflicted mutation and its request's client version.
ConflictRecord conflict_record(const MutationRecord& m, const std::string& client_version);

}  // namespace tether::detail
