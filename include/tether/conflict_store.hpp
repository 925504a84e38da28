#pragma once
// ConflictStore: every detected conflict with its full context — the client's payload, the
// server state it collided with, the state before, how it was resolved and by which
// resolver, the request it came in, and which fields actually disagree — plus the
// patterns across them (per model, per client, per model × client, over time, the
// entities and fields that conflict most). Conflicts are recorded whatever the resolver
// decided: a conflict that ended `applied` (client wins, merged) is still listed.
#include <optional>
#include <string>
#include <string_view>

#include "tether/conflicts.hpp"
#include "tether/storage.hpp"

namespace tether {

/// The query side over a Storage.
class ConflictStore {
public:
    explicit ConflictStore(Storage& storage) noexcept : storage_(storage) {}

    /// Newest first, keyset-paginated like every list.
    Page<ConflictRecord> list(const ConflictFilter& filter, const PageRequest& page) const;
    std::optional<ConflictRecord> get(std::string_view id) const;
    ConflictPatterns patterns(const ConflictPatternQuery& query) const;

private:
    Storage& storage_;
};

std::string to_json(const ConflictRecord& conflict);
std::string to_json(const ConflictPatterns& patterns);

std::string to_json(const Page<ConflictRecord>& page);

}  // namespace tether
