#pragma once
// Rules every backend applies to what it stores and pages: ids travel inside keyset cursors,
// rollup buckets must line up, and newest-first pages are bounded the same way.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tether/records.hpp"
#include "tether/storage.hpp"

namespace tether::detail {

/// 1-64 characters of [0-9A-Za-z_-].
bool is_pageable_id(std::string_view id) noexcept;

/// Throws a permanent StorageError ("<backend>: request id must be …") when any request or
/// mutation id in the batch breaks the rule above.
void check_batch_ids(const std::vector<CapturedRequest>& batch, std::string_view backend);

/// Throws a permanent StorageError unless every rollup has a positive width, starts on a
/// multiple of it and ends where an int64 can still say so.
void check_rollups(const RollupBatch& rollups, std::string_view backend);

/// Where a newest-first page of (time, id) rows starts: rows with time < before_us, and
/// (time, id) < after. Of `to_us` and the cursor only the tighter bound is set: a query given
/// both seeks on one and filters the other, which makes deep pages slow. Throws
/// InvalidArgument("cursor") for a bad cursor.
struct NewestFirstBounds {
    std::optional<Micros> before_us;
    std::optional<CursorKey> after;
};
NewestFirstBounds newest_first_bounds(const std::optional<Micros>& to_us, const PageRequest& page);

/// The client list pages by (last_seen, seq): its cursor's id is the decimal seq. Throws
/// InvalidArgument("cursor") for any other cursor, such as one from a list keyed by ULIDs.
std::int64_t client_cursor_seq(const CursorKey& key);

}  // namespace tether::detail
