#include "tether/observer.hpp"

#include "pipeline.hpp"
#include "recorder_impl.hpp"

namespace tether {

struct Observer::State {
    Config config;
    std::shared_ptr<Clock> clock;
    std::shared_ptr<IdGenerator> ids;
    std::shared_ptr<Storage> storage;
    std::shared_ptr<Redactor> redactor;
    std::shared_ptr<ErrorHandler> errors;
    std::shared_ptr<const TelemetryAggregator> telemetry;
    std::unique_ptr<Recorder> recorder;    // stopped first, while the services still exist
    std::unique_ptr<ReplayEngine> replay;  // uses the recorder: destroyed before it
};

Observer::Observer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Observer::~Observer() {
    if (state_ && state_->recorder) state_->recorder->shutdown(state_->config.recorder.shutdown_timeout);
}

Observer::Builder Observer::builder() { return Builder(); }
Recorder& Observer::recorder() noexcept { return *state_->recorder; }
Storage& Observer::storage() noexcept { return *state_->storage; }
const Config& Observer::config() const noexcept { return state_->config; }
const Clock& Observer::clock() const noexcept { return *state_->clock; }
IdGenerator& Observer::ids() noexcept { return *state_->ids; }
const Redactor& Observer::redactor() const noexcept { return *state_->redactor; }
const TelemetryAggregator& Observer::telemetry() const noexcept { return *state_->telemetry; }
ReplayEngine& Observer::replay() noexcept { return *state_->replay; }

void Observer::report_error(const ErrorEvent& event) const noexcept { state_->errors->on_error(event); }

std::string Observer::openmetrics() const {
    return to_openmetrics(state_->telemetry->counters().snapshot(), state_->recorder->stats());
}

MetricsDocument Observer::metrics(MetricsWindow window, std::string_view instance) {
    return state_->telemetry->metrics(*state_->storage, window, instance, state_->clock->now_us(),
                                      state_->recorder->stats());
}

Observer::Builder& Observer::Builder::config(Config c) {
    config_ = std::move(c);
    return *this;
}
Observer::Builder& Observer::Builder::clock(std::shared_ptr<Clock> c) {
    clock_ = std::move(c);
    return *this;
}
Observer::Builder& Observer::Builder::ids(std::shared_ptr<IdGenerator> i) {
    ids_ = std::move(i);
    return *this;
}
Observer::Builder& Observer::Builder::storage(std::shared_ptr<Storage> s) {
    storage_ = std::move(s);
    return *this;
}
Observer::Builder& Observer::Builder::redactor(std::shared_ptr<Redactor> r) {
    redactor_ = std::move(r);
    return *this;
}
Observer::Builder& Observer::Builder::error_handler(std::shared_ptr<ErrorHandler> h) {
    error_handler_ = std::move(h);
    return *this;
}
Observer::Builder& Observer::Builder::state_reader(std::shared_ptr<StateReader> r) {
    state_reader_ = std::move(r);
    return *this;
}
Observer::Builder& Observer::Builder::replay_target(std::shared_ptr<ReplayTarget> t) {
    replay_target_ = std::move(t);
    return *this;
}

std::unique_ptr<Observer> Observer::Builder::build() {
    config_.validate();
    auto st = std::make_unique<State>();
    st->config = config_;
    st->clock = clock_ ? clock_ : std::make_shared<SystemClock>();
    st->ids = ids_ ? ids_ : std::make_shared<UlidGenerator>(*st->clock);
    st->storage = storage_ ? storage_ : make_memory_storage();
    st->redactor = redactor_ ? redactor_
                             : std::make_shared<KeyRedactor>(config_.redaction.keys, config_.redaction.marker,
                                                             config_.redaction.match);
    st->errors = error_handler_ ? error_handler_ : std::make_shared<StderrErrorHandler>();
    detail::PipelineOptions opts;
    opts.invalid_body = config_.redaction.invalid_body;
    opts.default_instance = config_.instance;
    opts.max_mutations = config_.recorder.max_mutations_per_request;
    opts.keep_pull_payloads = config_.recorder.pull_payloads == PullPayloads::full;
    auto pipeline = std::make_unique<detail::Pipeline>(*st->redactor, *st->ids, *st->clock, opts);
    st->telemetry = std::make_shared<TelemetryAggregator>(config_.telemetry);
    st->recorder = std::make_unique<Recorder>(std::make_unique<Recorder::Impl>(
        st->config, st->storage, st->errors, st->clock, std::move(pipeline), st->telemetry));
    st->replay = std::make_unique<ReplayEngine>(*st->storage, *st->recorder, *st->clock, *st->ids, config_.replay,
                                                state_reader_, replay_target_, st->redactor);
    return std::unique_ptr<Observer>(new Observer(std::move(st)));
}

}  // namespace tether
