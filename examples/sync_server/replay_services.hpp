#pragma once
// The two services tether-pro's ReplayEngine needs from a host, implemented over the
// example's SyncEngine: previews read the current records, live replays run the cloned push
// through exactly the code a client push takes.
#include "sync_engine.hpp"
#include "tether/replay_engine.hpp"

namespace example {

class EngineStateReader final : public tether::StateReader {
public:
    explicit EngineStateReader(SyncEngine& engine) : engine_(engine) {}
    std::optional<tether::EntityState> current(std::string_view model, std::string_view entity_id) override {
        auto record = engine_.current_record(model, entity_id);
        if (!record) return std::nullopt;
        return tether::EntityState{std::move(record->data_json), record->updated_at_us};
    }
    bool was_applied(std::string_view mutation_id) override { return engine_.was_applied(mutation_id); }

private:
    SyncEngine& engine_;
};

class EngineReplayTarget final : public tether::ReplayTarget {
public:
    explicit EngineReplayTarget(SyncEngine& engine) : engine_(engine) {}
    tether::ReplayResponse push(const tether::ReplayPush& push) override {
        SyncResult r = engine_.push(push.body);
        return {r.status, std::move(r.body), std::move(r.traces)};
    }

private:
    SyncEngine& engine_;
};

}  // namespace example
