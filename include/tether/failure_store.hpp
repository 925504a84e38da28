#pragma once
// FailureStore: every failed sync operation with its context, the groups failures fall into
// (fingerprint = kind + model + reason + sorted failing fields, maintained at write time),
// which groups are systematic (one client keeps failing on one model), which clients are
// stuck (their last pushes all failed or conflicted) and which mutations are poison (the
// same mutation_id re-pushed and failing again and again). docs/failures.md has the rules.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/clock.hpp"
#include "tether/failures.hpp"
#include "tether/storage.hpp"

namespace tether {

/// The query side over a Storage, with the thresholds of config `failures`.
class FailureStore {
public:
    /// `clock` (default: the system clock) is "now" for the trends; it must outlive the store.
    explicit FailureStore(Storage& storage, FailureThresholds thresholds = {}, const Clock* clock = nullptr) noexcept
        : storage_(storage), thresholds_(thresholds), clock_(clock) {}

    /// Failures newest first, keyset-paginated like every list.
    Page<FailureRecord> list(const FailureFilter& filter, const PageRequest& page) const;
    /// The top groups (query.limit 1..500, else InvalidArgument("limit")), with trends up to now.
    std::vector<FailureGroup> groups(FailureGroupQuery query) const;
    /// One group with its hourly counts over the last 24 hours; nullopt when unknown.
    std::optional<FailureGroup> group(std::string_view fingerprint, std::string_view instance = {}) const;

    /// Clients by last seen, newest first.
    Page<ClientSummary> clients(const ClientFilter& filter, const PageRequest& page) const;
    std::optional<ClientSummary> client(std::string_view client_id) const;
    /// Per model: the client's mutations, failures and conflicts, most mutations first.
    std::vector<ClientModelCounts> client_models(std::string_view client_id) const;
    /// Poison mutations (streak >= poison_after_failures), most recently seen first.
    std::vector<PoisonMutation> poison(const PoisonQuery& query) const;

    const FailureThresholds& thresholds() const noexcept { return thresholds_; }

private:
    Micros now() const;
    Storage& storage_;
    FailureThresholds thresholds_;
    const Clock* clock_;
};

std::string to_json(const FailureRecord& failure);
std::string to_json(const Page<FailureRecord>& page);
std::string to_json(const FailureGroup& group);
std::string to_json(const std::vector<FailureGroup>& groups);  ///< {"items": […]}
std::string to_json(const ClientSummary& client);
std::string to_json(const Page<ClientSummary>& page);
/// One client with its per-model counts and poison mutations (GET /api/clients/{id}).
std::string to_json(const ClientSummary& client, const std::vector<ClientModelCounts>& models,
                    const std::vector<PoisonMutation>& poison);
std::string to_json(const std::vector<PoisonMutation>& poison);  ///< {"items": […]}

}  // namespace tether
