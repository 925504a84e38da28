#pragma once
// Observer: the facade a host creates once. It owns the Recorder and its writer thread,
// the storage, and the replaceable services (the "service container"). Build it with
// Observer::builder(); every service has a default.
//
//     auto observer = tether::Observer::builder()
//                         .config(tether::Config::from_file("tether.json"))
//                         .storage(tether::open_sqlite_storage({"tether.db"}))
//                         .build();
//     observer->recorder().record(std::move(exchange));
#include <memory>

#include "tether/clock.hpp"
#include "tether/config.hpp"
#include "tether/conflict_store.hpp"
#include "tether/errors.hpp"
#include "tether/failure_store.hpp"
#include "tether/ids.hpp"
#include "tether/recorder.hpp"
#include "tether/redactor.hpp"
#include "tether/replay_engine.hpp"
#include "tether/storage.hpp"
#include "tether/telemetry_aggregator.hpp"

namespace tether {

class Observer {
public:
    class Builder;
    static Builder builder();

    ~Observer();  // shuts the recorder down (drains up to recorder.shutdown_timeout)
    Observer(const Observer&) = delete;
    Observer& operator=(const Observer&) = delete;

    Recorder& recorder() noexcept;
    Storage& storage() noexcept;
    const Config& config() const noexcept;
    const Clock& clock() const noexcept;
    IdGenerator& ids() noexcept;
    const Redactor& redactor() const noexcept;
    const TelemetryAggregator& telemetry() const noexcept;
    /// Conflicts with full context and their patterns (a view over storage()).
    ConflictStore conflicts() noexcept { return ConflictStore(storage()); }
    /// Failures, failure groups, stuck clients and poison mutations, with the thresholds of
    /// config().failures and this observer's clock.
    FailureStore failures() noexcept { return FailureStore(storage(), config().failures, &clock()); }

    /// The metrics document for a window ending now (instance empty = all instances),
    /// including this recorder's counters: what GET {prefix}/metrics serves.
    MetricsDocument metrics(MetricsWindow window = MetricsWindow::h24, std::string_view instance = {});

    /// Process-lifetime counters in OpenMetrics text: what GET {prefix}/metrics/prometheus serves.
    std::string openmetrics() const;

    /// Replay previews (need Builder::state_reader) and live replays (also need
    /// Builder::replay_target and config replay.live_enabled); see docs/replay.md.
    ReplayEngine& replay() noexcept;

    /// Hand a problem to the configured ErrorHandler (adapters report their internal errors
    /// here, so one handler sees everything). Thread-safe.
    void report_error(const ErrorEvent& event) const noexcept;

private:
    struct State;
    explicit Observer(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

class Observer::Builder {
public:
    Builder& config(Config config);
    Builder& clock(std::shared_ptr<Clock> clock);
    Builder& ids(std::shared_ptr<IdGenerator> ids);
    /// Default: in-memory storage (nothing persists).
    Builder& storage(std::shared_ptr<Storage> storage);
    /// Default: KeyRedactor built from config.redaction.
    Builder& redactor(std::shared_ptr<Redactor> redactor);
    /// Default: StderrErrorHandler.
    Builder& error_handler(std::shared_ptr<ErrorHandler> handler);
    /// The host's current records, for replay previews. Default: none (previews answer 501).
    Builder& state_reader(std::shared_ptr<StateReader> reader);
    /// The host's push handling, for live replays. Default: none (live replays answer 501).
    Builder& replay_target(std::shared_ptr<ReplayTarget> target);

    /// Validates the config (throws ConfigError) and starts the writer thread.
    std::unique_ptr<Observer> build();

private:
    Config config_;
    std::shared_ptr<Clock> clock_;
    std::shared_ptr<IdGenerator> ids_;
    std::shared_ptr<Storage> storage_;
    std::shared_ptr<Redactor> redactor_;
    std::shared_ptr<ErrorHandler> error_handler_;
    std::shared_ptr<StateReader> state_reader_;
    std::shared_ptr<ReplayTarget> replay_target_;
};

}  // namespace tether
