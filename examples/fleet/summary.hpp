#pragma once
// What the fleet sent and what the server answered. Every worker fills its own Summary
// (no locking on the hot path); they are merged at the end. Mutation outcomes are taken
// from the server's responses, never from what the fleet intended.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fleet {

struct Counts {
    std::uint64_t requests = 0;      ///< only meaningful per client / per version
    std::uint64_t unattributed = 0;  ///< of which the body named no client_id (per client / per version)
    std::uint64_t mutations = 0;  ///< sent, whatever the HTTP status
    std::uint64_t applied = 0;
    std::uint64_t rejected = 0;
    std::uint64_t conflicts = 0;
    std::uint64_t resent = 0;  ///< mutations the fleet pushed again on purpose (duplicates)
    std::map<std::string, std::uint64_t> rejected_by_reason;

    void merge(const Counts& o);
};

struct Summary {
    std::uint64_t requests = 0;
    std::uint64_t pushes = 0;
    std::uint64_t pulls = 0;
    std::uint64_t snapshots = 0;
    std::uint64_t http_errors = 0;       ///< responses with status >= 400
    std::uint64_t transport_errors = 0;  ///< no response at all (reset, timeout)
    std::uint64_t unattributed = 0;      ///< requests whose body named no client_id
    Counts total;
    std::map<int, std::uint64_t> statuses;
    std::map<std::string, Counts> by_model;
    std::map<std::string, Counts> by_client;
    std::map<std::string, Counts> by_version;
    std::map<std::string, std::map<std::string, Counts>> by_version_model;  ///< version → model → counts
    std::map<std::string, std::string> client_versions;
    std::vector<double> latencies_ms;

    void merge(const Summary& o);
    /// The --summary-json document. `elapsed_s` is the wall time of the run.
    std::string to_json(double elapsed_s, const std::string& url, std::uint64_t seed,
                        const std::string& broken_version) const;
    /// A few human-readable lines for the terminal.
    std::string to_text(double elapsed_s, const std::string& broken_version) const;
};

}  // namespace fleet
