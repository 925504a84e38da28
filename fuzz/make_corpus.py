#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/<target>/ (committed; scripts/fuzz never writes there).

The seeds are the sample bodies of the test suites (tests/support/protocol_support.cpp,
tests/unit/*_test.cpp) in each target's input format (fuzz/README.md), plus hand-written edge
cases. Run it again after changing an input format:  python3 fuzz/make_corpus.py
"""
import base64
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
RS, US, GS = "\x1e", "\x1f", "\x1d"  # parts, fields, options (fuzz/fuzz_common.hpp)


def ulid(n, tag="M"):
    digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    tail = ""
    for _ in range(15):
        tail = digits[n & 31] + tail
        n >>= 5
    return "01JD3Z6Q8Y" + tag + tail


def compact(v):
    return json.dumps(v, separators=(",", ":"))


def mutation(n, model="Task", payload=None, op="update"):
    return {"mutation_id": ulid(n, "M"), "entity_id": ulid(n, "E"), "model": model, "operation": op,
            "payload": {"title": "Buy milk", "done": False} if payload is None else payload,
            "version": n, "timestamp": 1732500000123}


def push(client, muts):
    return compact({"client_id": client, "mutations": muts})


def push_response(applied=(), rejected=(), conflicts=()):
    return compact({
        "applied": list(applied),
        "rejected": [{"mutation_id": m, "reason": "validation_failed",
                      "data": {"messages": {"title": ["The title field is required."]}}} for m in rejected],
        "conflicts": [{"mutation_id": m, "reason": "conflict",
                       "data": {"server_state": {"title": "Server title", "done": True},
                                "server_updated_at": "2026-11-24T10:00:00.000000Z"}} for m in conflicts]})


def pull_request(client, cursor, limit=500):
    return compact({"client_id": client, "last_sync_cursor": cursor, "limit": limit})


def pull_response(models, cursor, has_more):
    return compact({"snapshots": [{"entity_id": ulid(i + 1, "E"), "model": m, "operation": "upsert",
                                   "payload": {"title": "t", "token": "s"}} for i, m in enumerate(models)],
                    "new_sync_cursor": cursor, "has_more": has_more})


def options(*bytes_):
    return GS + "".join(chr(b) for b in bytes_)


def pipeline_seeds():
    a, b, c = mutation(1), mutation(2, "Note"), mutation(3, "Project", {"name": "p", "password": "hunter2"})
    secret = mutation(4, "User", {"name": "ann", "password": "hunter2-SECRET", "nested": {"api_key": "k-SECRET"}})
    trace = US.join([secret["mutation_id"], '{"name":"ann","password":"old-SECRET"}',
                     '{"name":"ann","password":"new-SECRET"}', '{"token":"srv-SECRET"}', "older"])
    headers = "Authorization: Bearer tok-SECRET\nContent-Type: application/json\nX-Tether-Client-Version: 1.4.2\n" \
              "Referer: https://app/?token=abc&x=1\nCookie: session=s; theme=dark"
    return {
        "push-applied": push("c-7f3a", [a, b]) + RS + push_response([a["mutation_id"], b["mutation_id"]]),
        "push-rejected-conflict": push("c-7f3a", [a, b, c]) + RS +
        push_response([c["mutation_id"]], [a["mutation_id"]], [b["mutation_id"]]) + options(0, 0, 2),
        "push-secrets-headers-trace": push("c1", [secret]) + RS + push_response([secret["mutation_id"]]) + RS +
        headers + RS + trace + options(0, 0, 1),
        "push-trace-create-delete": push("c1", [mutation(5, op="create"), mutation(6, payload=[], op="delete")]) + RS +
        push_response([ulid(5), ulid(6)]) + RS + RS + US.join([ulid(5), "null", '{"title":"A"}']) + RS +
        US.join([ulid(6), '{"title":"B"}', "null", "not json"]),
        "push-invalid-json": '{"client_id": "c1",\n "password": "p-SECRET", "mutations": [' + RS + "",
        "push-invalid-json-drop": "{not json password=x" + RS + "<html>error</html>" + options(2),
        "push-http-500": push("c1", [a]) + RS + '{"error":"boom"}' + options(0, 10),
        "push-http-422": push("c1", [a]) + RS + '{"message":"invalid","errors":{"token":["bad"]}}' + options(0, 8),
        "push-empty": "",
        "push-duplicate-ids": push("c1", [a, a, b]) + RS +
        compact({"applied": [a["mutation_id"], a["mutation_id"], a["mutation_id"], "unknown"],
                 "rejected": [b["mutation_id"], {"reason": "x"}], "conflicts": "no"}),
        "push-irregular": compact({"mutations": [{"mutation_id": "m1", "entity_id": "e1", "operation": "upsert",
                                                  "payload": "str", "version": "3", "timestamp": 1.5},
                                                 7, None, {"model": 3}]}) + RS + '[1,2]',
        "push-not-object": "[]" + RS + "null",
        "push-form-body": "client_id=c1&password=hunter2&token=abc" + RS + "ok",
        "push-max-mutations": push("c1", [mutation(i) for i in range(1, 7)]) + RS +
        push_response([ulid(i) for i in range(1, 7)]) + options(32),
        "push-preset-ids": push("body-client", [a]) + RS + push_response([a["mutation_id"]]) + options(64, 0, 0, 1),
        "push-bad-preset-id": push("c1", [a]) + RS + push_response() + options(16 | 8, 0, 0, 2),
        "pull": pull_request("c-7f3a", 1732500000123456) + RS + pull_response(["Task", "Note"], 1732500000999999, False) +
        options(1),
        "pull-full-payloads": pull_request("c1", None) + RS + pull_response(["Task"], 5, True) + options(1 | 4),
        "pull-irregular": compact({"client_id": 5, "last_sync_cursor": "x", "limit": 1e30}) + RS +
        compact({"snapshots": {}, "new_sync_cursor": -1.5, "has_more": "yes"}) + RS + RS + "m1" + options(1),
        "pull-http-error": pull_request("c1", None) + RS + '{"error":"unauthorized"}' + options(1, 5),
    }


def redactor_seeds():
    return {
        "nested": '{"a":{"password":"x","b":[{"token":1},{"ok":true}]},"api-key":{"deep":"y"},"list":[["secret"]]}',
        "escaped-keys": '{"pass\\u0077ord":"x","a~b/c":{"Set-Cookie":"s"},"":{"x_secret_y":null}}',
        "clean": '{"title":"Buy milk","done":false,"n":[1,2.5,-3e10]}',
        "scalar-root": '"password"',
        "truncated": '{"client_id": "c1", "password": "p-SECRET", "mutations": [{"token": "t',
        "single-quotes": "{'password': 'x', 'token':\"y\"}",
        "form": "user=ann&password=hunter2&redirect=/x?token=abc;cookie=c",
        "header-values": "Bearer abc; refresh_token=xyz",
        "keys": "user_password",
        "key-exact": "X-Token",
        "key-separators": "--Api__Key--",
        "planted-prefix-suffix": '{"a": "' + RS + '", "b": 1}' + options(3),
        "planted-inside-string": '"abc\\' + RS + '\\"' + options(8),
        "planted-form": "x=1&" + RS + "&y=2" + options(4),
        "long-key": '{"' + "k" * 300 + 'password": "x"}',
    }


def differ_seeds():
    pairs = [
        ('{"a":{"b":1,"c":{"d":"x"}},"e":true}', '{"a":{"b":2,"c":{"d":"x","f":null}},"g":[]}'),
        ('{"l":[{"a":1},{"a":2}]}', '{"l":[{"a":1},{"a":3}]}'),
        ("[1,2,3,4]", "[1]"),
        ("[1]", '[1,"a","b"]'),
        ('{"a":{"b":1}}', '{"a":"text"}'),
        ('{"a":[1]}', '{"a":{"0":1}}'),
        ('{"a":null}', "{}"),
        ('{"a/b":{"c~d":1},"~1":0}', '{"a/b":{"c~d":2},"~1":1}'),
        ('{"":1}', '{"":2}'),
        ("1", "[2]"),
        ('{"n":1,"m":2.50,"k":18446744073709551615}', '{"n":1.0,"m":2.5,"k":-9223372036854775808}'),
        ('{"a":[1,{"b":"c","d":[true,null]}],"e":{"f":1.5}}', '{"a":[{"b":"c"}],"e":{"f":1.5,"g":"\\u00e9"}}'),
        ('{"title":"Buy milk","done":false}', '{"title":"Server title","done":true,"id":7}'),
    ]
    seeds = {f"pair-{i:02d}": a + RS + b for i, (a, b) in enumerate(pairs)}
    seeds["single-document"] = '{"a":[1,2,{"b":null}]}'
    return seeds


def cursor(primary, ident):
    return base64.urlsafe_b64encode(f"v1:{primary}:{ident}".encode()).decode().rstrip("=")


def cursor_seeds():
    return {
        "request": cursor(1732500000000000, ulid(1, "R")),
        "mutation": cursor(7, ulid(9, "M")),
        "negative": cursor(-1, "a_b-C"),
        "zero": cursor(0, "x"),
        "max": cursor(9223372036854775807, "z" * 64),
        "min": cursor(-9223372036854775808, "0"),
        "padded": cursor(5, "abc") + "==",
        "leading-zero": base64.urlsafe_b64encode(b"v1:05:abc").decode().rstrip("="),
        "wrong-version": base64.urlsafe_b64encode(b"v2:5:abc").decode().rstrip("="),
        "no-id": base64.urlsafe_b64encode(b"v1:5:").decode().rstrip("="),
        "bad-alphabet": "djE6NTph+/==",
        "empty": "",
        "binary-key": "\x00\x00\x00\x00\x00\x00\x00\x01" + ulid(3, "R"),
    }


def query_seeds():
    c = cursor(1732500000000000, ulid(1, "R"))
    return {
        "list": "/tether/dashboard/api/requests?kind=push&client_id=c-7f3a&limit=10&cursor=" + c,
        "times": "from=2026-11-24T10:05:00Z&to=1732500000000000",
        "offset-time": "from=2026-11-24T11:05:00.123456%2B01:00&to=2026-11-24 12:00Z",
        "leap-day": "from=2024-02-29T00:00Z&to=2023-02-29T00:00Z",
        "flags": "failed=1&stuck=true&conflicted=0&systematic=false",
        "bad-percent": "a=%ZZ&b=%",
        "limits": "limit=0&top=101",
        "limit-max": "limit=500",
        "repeated": "kind=push&kind=pull",
        "empty-names": "&=1&&x",
        "plus-space": "client_id=a+b%20c&model=%E2%9C%93",
        "unicode": "instance=%C3%A9&reason=%FF",
        "no-query": "/tether/dashboard/api/requests",
        "fragment": "/x?a=1#frag",
        "long-value": "client_id=" + "x" * 300,
        "numbers": "limit=-0&top=+5&from=-9223372036854775808",
    }


def dashboard_seeds():
    j = "Content-Type: application/json\nOrigin: http://127.0.0.1:8080"
    return {
        "index": "",
        "index-no-slash": "/tether/dashboard",
        "index-token": "?token=abc",
        "metrics": "metrics?window=1h&instance=default",
        "prometheus": "metrics/prometheus",
        "requests": "api/requests?kind=push&failed=1&limit=2",
        "request": "api/requests/@0",
        "request-mutations": "api/requests/@0/mutations?outcome=conflict&conflicted=1",
        "preview": "api/requests/@0/replay/preview?limit=1",
        "replay": "api/requests/@0/replay" + RS + "POST" + RS + j + RS + '{"confirm":true,"token":"x"}',
        "replay-cross-origin": "api/requests/@1/replay" + RS + "POST" + RS +
        "Content-Type: text/plain\nOrigin: http://evil" + RS + "{}",
        "mutation": "api/mutations/@5",
        "conflicts": "api/conflicts?resolution=client_wins&from=2024-11-25T00:00Z",
        "conflict-patterns": "api/conflicts/patterns?from=1732500000000000&to=1732600000000000&top=3",
        "conflict": "api/conflicts/@5",
        "failures": "api/failures?kind=mutation&fingerprint=@7",
        "failure-groups": "api/failures/groups?sort=last_seen&systematic=1",
        "failure-group": "api/failures/groups/@7",
        "poison": "api/failures/poison?client_id=@4",
        "clients": "api/clients?stuck=1",
        "client": "api/clients/@3",
        "asset": "assets/app.js" + RS + "GET" + RS + 'If-None-Match: "x"',
        "asset-missing": "assets/nope.js?v=1",
        "events": "api/events",
        "head": "api/requests/@2" + RS + "HEAD",
        "delete": "api/requests" + RS + "DELETE",
        "unknown-method": "metrics" + RS + "BREW",
        "not-mine": "/other/path",
        "prefix-lookalike": "/tether/dashboardx/metrics",
        "encoded-slash": "api/requests/%2F..%2F",
        "remote-other-host": "metrics" + options(2),
        "remote-v6": "metrics" + options(1),
    }


def config_seeds():
    full = {
        "instance": "eu-1",
        "recorder": {"queue_max_items": 5, "queue_max_bytes": 1000, "overflow": "block", "block_timeout_ms": 3,
                     "max_body_bytes": 64, "max_mutations_per_request": 10, "batch_max_items": 2,
                     "batch_max_delay_ms": 7, "retry_initial_ms": 1, "retry_max_ms": 4, "retry_max_attempts": 9,
                     "shutdown_timeout_ms": 100, "pull_payloads": "full"},
        "redaction": {"keys": ["pin"], "extra_keys": ["ssn"], "marker": "***", "match": "exact",
                      "invalid_body": "drop"},
        "retention": {"max_age_hours": 2, "max_requests": 10, "prune_batch": 3, "prune_interval_ms": 50},
        "telemetry": {"degraded_failure_rate": 5, "failing_failure_rate": 25.5, "degraded_conflict_rate": 10,
                      "failing_conflict_rate": 50, "degraded_p95_ms": 1000, "failing_p95_ms": 5000, "top_n": 10,
                      "max_clients_per_bucket": 500, "retention_hours": 192},
        "failures": {"systematic_min_failures": 5, "systematic_min_ratio": 0.8, "stuck_after_pushes": 3,
                     "poison_after_failures": 3},
        "storage": {"url": "postgresql://u@h/db", "busy_timeout_ms": 10},
        "replay": {"live_enabled": True, "token_ttl_seconds": 600, "record_timeout_ms": 10000},
    }
    return {
        "full": json.dumps(full, indent=1),
        "empty": "{}",
        "extra-keys": '{"redaction": {"extra_keys": ["ssn"]}}',
        "unknown-key": '{"recorder": {"queue_max_itmes": 5}}',
        "wrong-types": '{"instance": 5, "replay": {"live_enabled": "yes"}}',
        "limits": '{"recorder": {"retry_initial_ms": 10, "retry_max_ms": 5}, "telemetry": {"top_n": 0}}',
        "big-numbers": '{"retention": {"max_age_hours": 9223372036854775807}, "recorder": {"queue_max_items": 1e18}}',
        "fractions": '{"failures": {"systematic_min_ratio": 1.0000001}, "telemetry": {"failing_p95_ms": 1e12}}',
        "not-object": "[]",
        "invalid": '{"instance": "x",',
        "duplicate-keys": '{"instance": "a", "instance": "b"}',
    }


def write(target, seeds):
    out = os.path.join(HERE, "corpus", target)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, text in seeds.items():
        data = text.encode("latin-1") if all(ord(ch) < 256 for ch in text) else text.encode()
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"fuzz/corpus/{target}: {len(seeds)} seeds")


def main():
    write("pipeline", pipeline_seeds())
    write("redactor", redactor_seeds())
    write("differ", differ_seeds())
    write("cursor", cursor_seeds())
    write("query", query_seeds())
    write("dashboard", dashboard_seeds())
    write("config", config_seeds())


if __name__ == "__main__":
    main()
