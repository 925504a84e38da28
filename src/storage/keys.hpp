#pragma once
// Rules every backend applies to what it stores: ids travel inside keyset cursors, and
// rollup buckets must line up.
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

}  // namespace tether::detail
