#pragma once
// A Storage decorator that fails on demand: tests flip `failing` (or set a number of
// failures) to simulate a database that breaks and recovers.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tether/errors.hpp"
#include "tether/storage.hpp"

namespace tether::test {

class FaultyStorage final : public Storage {
public:
    explicit FaultyStorage(std::shared_ptr<Storage> inner) : inner_(std::move(inner)) {}

    std::atomic<bool> failing{false};    ///< every write fails while set
    std::atomic<int> fail_next{0};       ///< the next N writes fail
    std::atomic<bool> permanent{false};  ///< failures are non-transient
    std::atomic<bool> failing_reads{false};  ///< list_requests fails while set
    std::atomic<int> write_delay_ms{0};  ///< slow storage
    std::atomic<std::uint64_t> attempts{0};
    std::atomic<std::uint64_t> failures{0};

    std::string describe() const override { return "faulty(" + inner_->describe() + ")"; }
    void write_batch(const std::vector<CapturedRequest>& batch, const RollupBatch& rollups = {}) override {
        ++attempts;
        if (int d = write_delay_ms.load()) std::this_thread::sleep_for(std::chrono::milliseconds(d));
        if (failing.load() || fail_next.fetch_sub(1) > 0) {
            ++failures;
            throw StorageError("injected failure: disk I/O error", !permanent.load());
        }
        inner_->write_batch(batch, rollups);
    }
    Page<RequestRecord> list_requests(const RequestFilter& f, const PageRequest& p) override {
        if (failing_reads.load()) throw StorageError("injected failure: /var/lib/secret-dir/tether.db is locked");
        return inner_->list_requests(f, p);
    }
    std::optional<RequestRecord> get_request(std::string_view id) override { return inner_->get_request(id); }
    Page<MutationRecord> list_mutations(std::string_view id, const MutationFilter& f, const PageRequest& p) override {
        return inner_->list_mutations(id, f, p);
    }
    std::optional<MutationRecord> get_mutation(std::string_view id) override { return inner_->get_mutation(id); }
    std::vector<Rollup> read_rollups(Micros width_us, Micros from_us, Micros to_us, std::string_view instance,
                                     bool breakdowns = true) override {
        return inner_->read_rollups(width_us, from_us, to_us, instance, breakdowns);
    }
    std::size_t prune_rollups(Micros before_us) override { return inner_->prune_rollups(before_us); }
    Page<ConflictRecord> list_conflicts(const ConflictFilter& f, const PageRequest& p) override {
        return inner_->list_conflicts(f, p);
    }
    std::optional<ConflictRecord> get_conflict(std::string_view id) override { return inner_->get_conflict(id); }
    ConflictPatterns conflict_patterns(const ConflictPatternQuery& q) override {
        return inner_->conflict_patterns(q);
    }
    Page<FailureRecord> list_failures(const FailureFilter& f, const PageRequest& p) override {
        return inner_->list_failures(f, p);
    }
    std::vector<FailureGroup> failure_groups(const FailureGroupQuery& q, const FailureThresholds& t) override {
        return inner_->failure_groups(q, t);
    }
    std::optional<FailureGroup> failure_group(std::string_view fp, std::string_view instance, Micros now,
                                              const FailureThresholds& t) override {
        return inner_->failure_group(fp, instance, now, t);
    }
    Page<ClientSummary> list_clients(const ClientFilter& f, const PageRequest& p, const FailureThresholds& t) override {
        return inner_->list_clients(f, p, t);
    }
    std::optional<ClientSummary> get_client(std::string_view id, const FailureThresholds& t) override {
        return inner_->get_client(id, t);
    }
    std::vector<ClientModelCounts> client_models(std::string_view id) override { return inner_->client_models(id); }
    std::vector<PoisonMutation> poison_mutations(const PoisonQuery& q, const FailureThresholds& t) override {
        return inner_->poison_mutations(q, t);
    }
    Page<ReplayLink> list_replays(std::string_view id, const PageRequest& p) override {
        return inner_->list_replays(id, p);
    }
    std::uint64_t count_requests() override { return inner_->count_requests(); }
    std::uint64_t count_mutations() override { return inner_->count_mutations(); }
    std::size_t prune(const RetentionPolicy& p, Micros now, std::size_t n) override { return inner_->prune(p, now, n); }

private:
    std::shared_ptr<Storage> inner_;
};

/// Collects error events for assertions.
class CollectingErrorHandler final : public ErrorHandler {
public:
    void on_error(const ErrorEvent& e) noexcept override {
        std::lock_guard<std::mutex> lock(mutex);
        events.push_back(e);
    }
    std::size_t count() {
        std::lock_guard<std::mutex> lock(mutex);
        return events.size();
    }
    std::mutex mutex;
    std::vector<ErrorEvent> events;
};

}  // namespace tether::test
