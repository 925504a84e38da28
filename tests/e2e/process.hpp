#pragma once
// A child process for end-to-end tests: started with posix_spawn, stdout and stderr captured
// through pipes by a reader thread (so the child never blocks on a full pipe), stdin from
// /dev/null. The destructor always kills (SIGKILL) and reaps a child that is still running,
// so a failing test never leaves a server behind.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tether::e2e {

class Process {
public:
    /// Starts `program` (a path) with `args`. Throws std::runtime_error when it cannot be spawned.
    Process(std::string program, std::vector<std::string> args);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const noexcept { return pid_; }

    /// Sends `sig` unless the child was already reaped.
    void signal(int sig);

    /// Waits for the child to exit: its exit status, 128 + N when killed by signal N, or
    /// nullopt when it is still running at the deadline.
    std::optional<int> wait(std::chrono::milliseconds timeout);

    /// Waits until `pred(stdout so far)` holds; false at the deadline or when the child closed
    /// stdout (exited) without it holding.
    bool wait_for_stdout(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout);

    /// User + system CPU seconds the child used, known once wait() has reaped it (else 0).
    double cpu_seconds() const noexcept { return cpu_seconds_; }

    std::string out() const;
    std::string err() const;
    /// The command line, exit status and output, for failure messages.
    std::string describe() const;

private:
    void read_loop(int out_fd, int err_fd);

    std::string command_;
    pid_t pid_ = -1;
    std::optional<int> status_;  // set once reaped
    double cpu_seconds_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::string out_, err_;
    bool out_closed_ = false, err_closed_ = false;
    std::thread reader_;
};

}  // namespace tether::e2e
