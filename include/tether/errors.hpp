#pragma once
// Error types thrown by the public API (never by the recorder hooks) and the
// error-handler service through which the background writer reports problems.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

namespace tether {

/// Base of every exception the library throws.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A configuration key has the wrong type or value, or is unknown.
/// `path()` is the key's JSON path ("recorder.queue_max_items"), `expected()` what was wanted.
class ConfigError : public Error {
public:
    ConfigError(std::string path, std::string expected, const std::string& detail = {});
    const std::string& path() const noexcept { return path_; }
    const std::string& expected() const noexcept { return expected_; }

private:
    std::string path_;
    std::string expected_;
};

/// A caller-supplied argument (filter, cursor, limit, id) is invalid.
/// `parameter()` names it so HTTP layers can answer 400 with the culprit.
class InvalidArgument : public Error {
public:
    InvalidArgument(std::string parameter, std::string message);
    const std::string& parameter() const noexcept { return parameter_; }
    /// What is wrong with it; what() is "<parameter>: <message>".
    const std::string& message() const noexcept { return message_; }

private:
    std::string parameter_;
    std::string message_;
};

/// Text that should be JSON is not. Position is 0-based byte offset; line/column 1-based.
class JsonError : public Error {
public:
    JsonError(const std::string& message, std::size_t offset, std::size_t line, std::size_t column);
    std::size_t offset() const noexcept { return offset_; }
    std::size_t line() const noexcept { return line_; }
    std::size_t column() const noexcept { return column_; }

private:
    std::size_t offset_, line_, column_;
};

/// A storage backend failed. `transient()` errors (busy, locked, I/O, connection lost)
/// are retried by the writer; others are not.
class StorageError : public Error {
public:
    explicit StorageError(const std::string& message, bool transient = true);
    bool transient() const noexcept { return transient_; }

private:
    bool transient_;
};

/// A replay preview or live replay was refused. Every subclass fixes the HTTP status the
/// dashboard answers with and a stable machine-readable `code()` (the JSON `error` member);
/// what() says what was refused, for which request, and what was expected.
///
///   subclass              status  code
///   ReplayDisabled         403    replay_disabled        replay.live_enabled is false
///   ReplayNotConfirmed     400    replay_not_confirmed   the call did not send "confirm": true
///   ReplayNotFound         404    not_found              no captured request has that id
///   ReplayNotApplicable    422    not_replayable         not a push, nothing to replay, or a body
///                                                         that cannot be cloned faithfully
///   ReplayTokenRejected    409    replay_token_rejected  token missing, unknown, expired, used,
///                                                         or issued for another request
///   ReplayUnfaithful       422    unfaithful_mutations   mutations that cannot be replayed as
///                                                         captured (redacted payload …) and
///                                                         skip_redacted was not requested
///   ReplayUnavailable      501    replay_unavailable     no StateReader (preview) or no
///                                                         ReplayTarget (live replay) configured
/// A malformed replay request body is an InvalidArgument (400) naming the member.
class ReplayError : public Error {
public:
    ReplayError(int http_status, const char* code, const std::string& message)
        : Error(message), http_status_(http_status), code_(code) {}
    int http_status() const noexcept { return http_status_; }
    const char* code() const noexcept { return code_; }

private:
    int http_status_;
    const char* code_;
};

class ReplayDisabled : public ReplayError {
public:
    explicit ReplayDisabled(const std::string& message) : ReplayError(403, "replay_disabled", message) {}
};

class ReplayNotConfirmed : public ReplayError {
public:
    explicit ReplayNotConfirmed(const std::string& message) : ReplayError(400, "replay_not_confirmed", message) {}
};

class ReplayNotFound : public ReplayError {
public:
    explicit ReplayNotFound(const std::string& message) : ReplayError(404, "not_found", message) {}
};

class ReplayNotApplicable : public ReplayError {
public:
    explicit ReplayNotApplicable(const std::string& message) : ReplayError(422, "not_replayable", message) {}
};

class ReplayTokenRejected : public ReplayError {
public:
    enum class Reason : std::uint8_t { missing, unknown, expired, used, other_request };
    ReplayTokenRejected(Reason reason, const std::string& message)
        : ReplayError(409, "replay_token_rejected", message), reason_(reason) {}
    Reason reason() const noexcept { return reason_; }

private:
    Reason reason_;
};

class ReplayUnfaithful : public ReplayError {
public:
    explicit ReplayUnfaithful(const std::string& message) : ReplayError(422, "unfaithful_mutations", message) {}
};

class ReplayUnavailable : public ReplayError {
public:
    explicit ReplayUnavailable(const std::string& message) : ReplayError(501, "replay_unavailable", message) {}
};

/// Where a background problem happened.
enum class ErrorSource : std::uint8_t { storage, pipeline, retention, recorder, dashboard };
const char* to_string(ErrorSource s) noexcept;

/// A problem the background writer (or the dashboard, while answering) hit. Messages never
/// contain captured payload values.
struct ErrorEvent {
    ErrorSource source = ErrorSource::storage;
    std::string message;
    int attempt = 0;           ///< retry attempt (1-based) for storage errors, 0 otherwise
    bool will_retry = false;   ///< the writer will try the same batch again
    std::uint64_t dropped = 0; ///< exchanges given up on because of this error
};

/// Receives background errors. Called from the recorder's background threads (possibly two
/// at once); must be thread-safe, must not throw and should be quick.
class ErrorHandler {
public:
    virtual ~ErrorHandler() = default;
    virtual void on_error(const ErrorEvent& event) noexcept = 0;
};

/// Default handler: one line per event on stderr, at most one per second per source
/// (suppressed lines are counted and reported with the next printed one).
class StderrErrorHandler final : public ErrorHandler {
public:
    void on_error(const ErrorEvent& event) noexcept override;

private:
    std::mutex mutex_;
    std::int64_t last_printed_us_[5] = {};
    std::uint64_t suppressed_[5] = {};
};

}  // namespace tether
