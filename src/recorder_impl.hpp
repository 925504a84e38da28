#pragma once
// Recorder internals: the bounded queue the hooks push into and the writer thread that
// drains it through the Pipeline into Storage.
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "pipeline.hpp"
#include "tether/config.hpp"
#include "tether/errors.hpp"
#include "tether/recorder.hpp"
#include "tether/storage.hpp"
#include "tether/telemetry_aggregator.hpp"

namespace tether {

/// WriteListeners, shared with the Subscriptions so that those may outlive the Recorder.
/// The mutex is held while listeners run: unsubscribing waits for a running call.
struct WriteListeners {
    std::mutex mutex;
    std::uint64_t next_id = 0;
    std::vector<std::pair<std::uint64_t, WriteListener>> items;
    std::atomic<bool> any{false};  // skips the lock on the hot path when nobody listens

    void notify(const std::vector<CapturedRequest>& stored) noexcept;
};

struct Recorder::Impl {
    Impl(const Config& config, std::shared_ptr<Storage> storage, std::shared_ptr<ErrorHandler> errors,
         std::shared_ptr<const Clock> clock, std::unique_ptr<detail::Pipeline> pipeline,
         std::shared_ptr<const TelemetryAggregator> telemetry);
    ~Impl();

    bool record(Exchange&& ex) noexcept;
    bool flush(std::chrono::milliseconds timeout);
    bool shutdown(std::chrono::milliseconds timeout);
    RecorderStats stats() const noexcept;

    const RecorderConfig cfg;
    const RetentionPolicy retention;
    const RetentionConfig retention_cfg;
    std::shared_ptr<Storage> storage;
    std::shared_ptr<ErrorHandler> errors;
    std::shared_ptr<const Clock> clock;
    std::unique_ptr<detail::Pipeline> pipeline;
    std::shared_ptr<const TelemetryAggregator> telemetry;
    const std::shared_ptr<WriteListeners> listeners = std::make_shared<WriteListeners>();

private:
    void process_loop() noexcept;
    void store_loop() noexcept;
    void settle(std::size_t n) noexcept;
    struct Processed {
        std::vector<CapturedRequest> requests;
        RollupBatch rollups;
    };
    struct Tally {
        std::uint64_t written, dropped;
        DropReason reason;  ///< of the dropped ones
    };
    Tally write_with_retry(const Processed& batch) noexcept;
    Tally write_one_by_one(const Processed& batch, const std::string& first_error) noexcept;
    std::optional<std::pair<bool, std::string>> try_write(const std::vector<CapturedRequest>& requests,
                                                          const RollupBatch& rollups) noexcept;
    void prune_some(bool idle) noexcept;
    void drop(DropReason reason, std::uint64_t n) noexcept;
    void report(ErrorSource source, std::string message, int attempt, bool retry, std::uint64_t dropped) noexcept;

    mutable std::mutex mutex_;
    std::mutex shutdown_mutex_;
    std::condition_variable writer_cv_;  // wakes the writer: batch full, flush, shutdown
    std::condition_variable space_cv_;   // wakes blocked producers (OverflowPolicy::block)
    std::condition_variable done_cv_;    // wakes flush()/shutdown() waiters
    std::condition_variable handoff_cv_; // between the processing and the storage stage
    std::deque<Exchange> queue_;
    std::size_t queued_bytes_ = 0;
    std::size_t blocked_producers_ = 0;
    std::uint64_t accepted_seq_ = 0;  // exchanges ever accepted
    std::uint64_t done_seq_ = 0;      // accepted exchanges written or dropped
    std::uint64_t in_flight_ = 0;
    std::size_t flush_waiters_ = 0;
    bool stopping_ = false;               // no new exchanges
    bool writer_exited_ = false;
    bool processor_exited_ = false;
    std::optional<Processed> handoff_;  // one processed batch waiting to be written
    std::atomic<bool> abandon_{false};    // shutdown timed out: stop retrying
    std::atomic<std::uint64_t> offered_{0}, written_{0}, truncated_{0}, batches_{0}, storage_errors_{0}, pruned_{0};
    std::array<std::atomic<std::uint64_t>, 4> dropped_{};
    std::atomic<std::uint64_t> process_cpu_us_{0}, store_cpu_us_{0};  // each set by its own thread
    Micros next_prune_us_ = 0;
    bool prune_backlog_ = false;  // a request prune is in progress across batches
    std::thread processor_;  // stage 1: parse, redact, diff
    std::thread writer_;     // stage 2: storage writes and retention
};

}  // namespace tether
