#pragma once
// How the SQL backends (SQLite, PostgreSQL) store the structured parts of a record: one JSON
// text column each (headers, notes, parse failures, field changes, replay audits, string
// lists, rollup breakdowns, latency histograms), and back. Written once here so that both
// backends keep the same on-disk shapes and the same strictness when reading: a value this
// version cannot read is a permanent StorageError naming the backend and the column, never
// a guess.
#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "tether/differ.hpp"
#include "tether/exchange.hpp"
#include "tether/latency_histogram.hpp"
#include "tether/records.hpp"
#include "tether/telemetry.hpp"

namespace tether::detail::columns {

// ---- Writing ---------------------------------------------------------------------------

std::string strings_json(const std::vector<std::string>& v);        ///< ["a", …]
std::string headers_json(const std::vector<Header>& v);             ///< [{name, value}]
std::string notes_json(const std::vector<ParseNote>& v);            ///< [{where, path, message, protocol_error}]
std::string parse_failure_json(const ParseFailure& f);              ///< {message, offset, line, column}
std::string changes_json(const std::vector<FieldChange>& v);        ///< field_changes_to_json, "[]" when empty
std::string id_map_json(const std::vector<MutationIdChange>& map);  ///< [[captured, replayed], …]
std::string skipped_json(const std::vector<SkippedMutation>& v);    ///< [{seq, mutation_id, reason}]
/// {model: [mutations, conflicts, failures]} and {client: [requests, mutations, failures]}:
/// positional arrays, a counter added later goes at the end (older rows read zeros there).
std::string models_json(const std::map<std::string, ModelCounts>& models);
std::string clients_json(const std::map<std::string, ClientCounts>& clients);

// ---- Reading ---------------------------------------------------------------------------

/// Decodes what the functions above wrote. `backend` ("sqlite", "postgres") starts every
/// error message; `column` ("requests.headers", …) names what could not be read.
class Decoder {
public:
    explicit constexpr Decoder(const char* backend) noexcept : backend_(backend) {}

    [[noreturn]] void corrupt(const char* column) const;
    /// Any JSON (invalid UTF-8 inside strings is kept as the bytes it was).
    boost::json::value parse(const std::string& text, const char* column) const;

    std::vector<std::string> strings(const std::string& text, const char* column) const;
    std::vector<Header> headers(const std::string& text, const char* column) const;
    std::vector<ParseNote> notes(const std::string& text, const char* column) const;
    ParseFailure parse_failure(const std::string& text, const char* column) const;
    std::vector<FieldChange> changes(const std::string& text, const char* column) const;
    std::vector<MutationIdChange> id_map(const std::string& text, const char* column) const;
    std::vector<SkippedMutation> skipped(const std::string& text, const char* column) const;
    /// `{key: [n, …]}` of non-negative integers; missing trailing counts are 0, extra ones (a
    /// newer version's) are ignored. `out` is replaced.
    void models(const std::string& text, const char* column, std::map<std::string, ModelCounts>& out) const;
    void clients(const std::string& text, const char* column, std::map<std::string, ClientCounts>& out) const;
    LatencyHistogram latency(const std::string& text, const char* column) const;

private:
    const char* backend_;
};

}  // namespace tether::detail::columns
