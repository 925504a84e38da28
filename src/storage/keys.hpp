#pragma once
// Rules every backend applies to the ids it stores: they travel inside keyset cursors.
#include <string_view>
#include <vector>

#include "tether/records.hpp"

namespace tether::detail {

/// 1-64 characters of [0-9A-Za-z_-].
bool is_pageable_id(std::string_view id) noexcept;

/// Throws a permanent StorageError ("<backend>: request id must be …") when any request or
/// mutation id in the batch breaks the rule above.
void check_batch_ids(const std::vector<CapturedRequest>& batch, std::string_view backend);

}  // namespace tether::detail
