#pragma once
// JSON documents of stored requests and mutations: what the HTTP API answers for
// GET {prefix}/api/requests, /api/requests/{id}, /api/requests/{id}/mutations and
// /api/mutations/{id}, what server-sent events carry for a new request, and what the
// command-line tool prints. One compact JSON object per call, UTF-8.
//
// Conventions (shared with the conflict and failure documents):
//  - Times are ISO-8601 UTC with microseconds ("2026-11-24T10:00:00.123456Z"), each with a
//    `*_us` companion holding the same instant as integer microseconds since the Unix epoch.
//  - Durations are `duration_ms` (a number with microsecond precision, e.g. 12.345) plus the
//    exact integer `duration_us`.
//  - Ids are strings. Optional members are always present and `null` when absent.
//  - Stored JSON (payloads, states, validation messages, server states, diff values) is
//    embedded as a JSON value. Stored text that does not parse is never dropped and never
//    makes these functions throw: it is embedded as a JSON *string* holding the text.
//  - Raw request/response bodies are always JSON strings holding the stored text, whether
//    or not that text is JSON (the UI pretty-prints it).
//  - Bytes that are not valid UTF-8 (bodies and headers may hold any bytes) are written as
//    U+FFFD, so every document is valid JSON.
//  - Field-change lists have the shape of field_changes_to_json (differ.hpp):
//    [{"path": JSON Pointer, "op": "added|removed|changed", "from"?: value, "to"?: value}],
//    `from`/`to` omitted when that side does not exist.
//  - Lists are {"items": […], "next_cursor": string | null}; null on the last page.
//
// Records are stored already redacted; these functions write only what the record holds.
#include <string>

#include "tether/records.hpp"
#include "tether/storage.hpp"

namespace tether {

/// The full request (GET /api/requests/{id}): every key of request_summary_json, then
///
///   last_sync_cursor, new_sync_cursor, pull_limit   integer | null (pull requests)
///   has_more                                         bool | null    (pull responses)
///   request_body, response_body                      string: the stored (redacted) text, "" when
///                                                    nothing was captured or the body was dropped
///   request_truncated, response_truncated            bool: cut at recorder.max_body_bytes
///   request_body_dropped, response_body_dropped      bool: invalid body not stored
///   request_body_scrubbed, response_body_scrubbed    bool: stored text is a textual scrub of an
///                                                    invalid body
///   request_parse_error, response_parse_error        {message, offset, line, column} | null
///   headers                                          [{name, value}]
///   redacted_paths                                   [string], e.g. "request:/mutations/0/payload/password"
///   notes                                            [{where, path, message, protocol_error}]
///   recorded_at, recorded_at_us                      when the writer stored it
std::string to_json(const RequestRecord& request);

/// One request in a list (GET /api/requests, server-sent events), without bodies, headers or
/// notes:
///
///   id, kind ("push"|"pull"), client_id, instance                   string
///   client_version                                                  string | null when not sent
///   started_at, started_at_us                                       time
///   duration_ms, duration_us                                        duration
///   http_status                                                     integer
///   outcome                                                         "ok"|"conflict"|"rejected"|"error"
///   failed                                                          bool: outcome rejected or error
///   mutations, applied, rejected, conflicts, snapshots              integer counts
///   models                                                          [string], sorted
///   replay_of                                                       string (original request id) | null
std::string request_summary_json(const RequestRecord& request);

/// {"items": [request_summary_json…], "next_cursor": string | null}
std::string to_json(const Page<RequestRecord>& page);

/// The full mutation (GET /api/mutations/{id}): every key of mutation_summary_json, then
///
///   request_id, client_id, instance          string
///   started_at, started_at_us                time of the request
///   client_timestamp_ms                      integer | null (the client's clock, as sent)
///   payload                                  JSON value | null when the mutation sent none
///   rejection_data                           JSON value (the response's rejected[].data) | null
///   validation                               JSON value (rejected[].data.messages) | null
///   conflict                                 null, or {reason, resolver (string|null),
///                                            resolution ("server_wins"|"client_wins"|"merged"|
///                                            "rejected"|null), server_state (value|null),
///                                            server_updated_at (string as sent or traced|null),
///                                            reported_by_host, reported_in_response (bool),
///                                            fields (field changes, from = server, to = client)}
///   state_before, state_after                JSON value reported by the host | null when not
///                                            reported (a reported `null` — no record — is also null)
///   payload_diff                             field changes: state before -> client payload
///   diff                                     field changes: state before -> state after
///   patch                                    RFC 6902 JSON Patch turning state_before into
///                                            state_after when both were reported and are JSON;
///                                            null otherwise
std::string to_json(const MutationRecord& mutation);

/// One mutation in a list (GET /api/requests/{id}/mutations):
///
///   id, mutation_id, entity_id, model, operation   string (operation as sent)
///   seq                                            integer: position in the push's mutations
///   version                                        integer | null
///   outcome                                        "applied"|"rejected"|"conflict"|"unknown"
///   reason                                         string as sent ("validation_failed", …) | null
///   conflicted                                     bool: a conflict was detected, whatever the outcome
///   payload_redacted                               bool: part of the payload was redacted
std::string mutation_summary_json(const MutationRecord& mutation);

/// {"items": [mutation_summary_json…], "next_cursor": string | null}
std::string to_json(const Page<MutationRecord>& page);

}  // namespace tether
