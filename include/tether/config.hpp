#pragma once
// Configuration, in code or from a JSON file. Every key is optional; defaults are the
// values below. Unknown keys and wrong types are rejected with ConfigError naming the
// key's path and what was expected. docs/configuration.md lists every key.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tether/failures.hpp"
#include "tether/redactor.hpp"

namespace tether {

enum class OverflowPolicy : std::uint8_t {
    drop_newest,  ///< a full queue drops the incoming exchange (counted as queue_full)
    block         ///< the hook waits up to block_timeout for room, then drops
};

enum class InvalidBodyPolicy : std::uint8_t {
    keep_scrubbed,  ///< store invalid JSON bodies after a textual scrub, flagged as such
    drop            ///< store no body at all for invalid JSON, only the parse error
};

/// What a pull's stored response keeps of each snapshot.
enum class PullPayloads : std::uint8_t {
    index,  ///< model, entity_id, operation and the other envelope fields, without `payload`
    full    ///< the whole response, payloads included (redacted like every body)
};

struct RecorderConfig {
    std::size_t queue_max_items = 10'000;
    std::size_t queue_max_bytes = 64u << 20;
    OverflowPolicy overflow = OverflowPolicy::drop_newest;
    std::chrono::milliseconds block_timeout{10};
    std::size_t max_body_bytes = 1u << 20;  ///< longer bodies are truncated and flagged
    /// Mutations of one push stored as rows; the rest are counted in a note, not stored.
    std::size_t max_mutations_per_request = 20'000;
    /// Pull responses are most of the bytes a sync server sends (every snapshot carries the
    /// record), and re-storing the server's own data rarely answers a question the index
    /// (which entities, models and operations a client received) does not. `index` keeps
    /// the index and a note saying how many payloads were left out; `full` keeps them.
    PullPayloads pull_payloads = PullPayloads::index;
    /// A storage transaction's cost is mostly per page it touches, and every table index
    /// touches a few pages per transaction whatever its size: big batches are the cheapest
    /// way to record (256 → 1024 exchanges cut the writer's CPU per exchange by ~15 %).
    std::size_t batch_max_items = 1024;      ///< exchanges per storage transaction
    std::size_t batch_max_bytes = 16u << 20;  ///< queued bytes that make a full batch
    std::chrono::milliseconds batch_max_delay{200};  ///< max wait before a partial batch is written
    std::chrono::milliseconds retry_initial{50};    ///< first backoff after a storage error
    std::chrono::milliseconds retry_max{2'000};     ///< backoff ceiling
    int retry_max_attempts = 5;                     ///< then the batch is dropped (storage_error)
    std::chrono::milliseconds shutdown_timeout{10'000};  ///< used by the destructor
};

struct RedactionConfig {
    std::vector<std::string> keys = KeyRedactor::default_keys();
    std::string marker = "[REDACTED]";
    KeyMatch match = KeyMatch::contains;
    InvalidBodyPolicy invalid_body = InvalidBodyPolicy::keep_scrubbed;
};

struct RetentionConfig {
    std::chrono::hours max_age{24 * 7};   ///< 0 = keep forever
    std::uint64_t max_requests = 1'000'000;  ///< 0 = unlimited
    /// Poison candidates kept (mutation ids that failed, tracked across re-pushes), the most
    /// recently seen; 0 = only telemetry retention ends them. About 150 bytes each.
    std::uint64_t max_tracked_mutations = 100'000;
    std::size_t prune_batch = 500;        ///< requests deleted per short transaction
    std::chrono::milliseconds prune_interval{30'000};
};

/// Telemetry rollups and the health rule. A 5-minute bucket's status is
///   idle     no requests;
///   failing  failure rate >= failing_failure_rate, or conflict rate >= failing_conflict_rate,
///            or p95 latency >= failing_p95_ms;
///   degraded the same against the degraded_* thresholds;
///   ok       otherwise.
/// Rates are percentages of the bucket's requests.
struct TelemetryConfig {
    double degraded_failure_rate = 5.0;
    double failing_failure_rate = 25.0;
    double degraded_conflict_rate = 10.0;
    double failing_conflict_rate = 50.0;
    double degraded_p95_ms = 1'000.0;
    double failing_p95_ms = 5'000.0;
    std::size_t top_n = 10;                    ///< entries in top_models / top_clients
    std::size_t max_clients_per_bucket = 500;  ///< distinct client ids per rollup; the rest count as "(other)"
    std::chrono::hours retention{24 * 8};      ///< rollups kept, independent of request retention
};

struct StorageConfig {
    /// "memory", a SQLite file path, "sqlite:PATH" or "postgresql://…". Read by open_storage()
    /// (tether/open_storage.hpp); the core Observer itself takes any Storage object.
    std::string url = "tether.db";
    std::chrono::milliseconds busy_timeout{5'000};
    /// PostgreSQL: the schema holding tether's tables, so that several deployments (or
    /// staging and production) can share one database. Ignored by SQLite.
    std::string schema = "tether";
};

/// Replay of captured pushes (docs/replay.md). Previews are always available; live replay
/// writes to the host's database and is off unless enabled here.
struct ReplayConfig {
    bool live_enabled = false;                         ///< allow ReplayEngine::replay (HTTP 403 otherwise)
    std::chrono::seconds token_ttl{600};               ///< how long a preview's one-time token stays valid
    std::chrono::milliseconds record_timeout{10'000};  ///< longest wait for the replay to be stored
};

struct Config {
    std::string instance = "default";  ///< name of this server instance in multi-instance setups
    RecorderConfig recorder;
    RedactionConfig redaction;
    RetentionConfig retention;
    TelemetryConfig telemetry;
    FailureThresholds failures;  ///< when a failure group is systematic, a client stuck, a mutation poison
    StorageConfig storage;
    ReplayConfig replay;

    /// Parse a JSON document. `source` names it in error messages (e.g. the file name).
    static Config from_json(std::string_view json, std::string_view source = "config");
    /// Read and parse a JSON file. Throws ConfigError (path "" for I/O and syntax errors).
    static Config from_file(const std::string& path);
    /// Throws ConfigError when values are out of range (e.g. queue_max_items == 0).
    void validate() const;
    /// The effective configuration as JSON (all keys, defaults included).
    std::string to_json() const;
};

}  // namespace tether
