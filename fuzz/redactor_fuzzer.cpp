// The redactor: KeyRedactor::is_sensitive_key, redact_json and scrub_text.
//
// Input: a document (any bytes) [GS option bytes]; a part separator (RS) splits it into a
// prefix and a suffix for the planted-secret check. Options: [0] which secret pair to plant.
//
// Properties:
//  - is_sensitive_key agrees with an independent implementation of the documented rule
//    (contains and exact modes), for the input and for every key of the document;
//  - redact_json of valid JSON is valid JSON with the marker under every sensitive key, one
//    recorded path per redacted value (each resolving to the marker; pairs hidden inside a
//    string or key to a marker there), and is idempotent;
//    invalid JSON is flagged and scrubbed exactly as scrub_text does it;
//  - scrub_text's documented guarantee: a complete `"key": value` pair with a sensitive key
//    planted between any prefix and suffix never shows its value in the output, nor in
//    redact_json's (planted inside a string or a key of valid JSON too).
#include "fuzz_common.hpp"
#include "tether/redactor.hpp"

using namespace tether;
namespace tf = tether::fuzz;
namespace json = boost::json;

namespace {

const std::string marker = "[REDACTED]";

bool oracle_exact(std::string_view key, const std::vector<std::string>& keys) {
    const std::string n = tf::oracle_normalize(key);
    for (const auto& k : keys)
        if (!k.empty() && n == tf::oracle_normalize(k)) return true;
    return false;
}

// Counts the values redact_json must replace: members with a sensitive key, not below one.
std::size_t count_sensitive(const json::value& v) {
    std::size_t n = 0;
    if (const auto* o = v.if_object()) {
        for (const auto& kv : *o) n += tf::oracle_sensitive(kv.key()) ? 1 : count_sensitive(kv.value());
    } else if (const auto* a = v.if_array()) {
        for (const auto& e : *a) n += count_sensitive(e);
    }
    return n;
}

void check_keys(const json::value& v, const KeyRedactor& contains, const KeyRedactor& exact,
                const std::vector<std::string>& exact_keys) {
    if (const auto* o = v.if_object()) {
        for (const auto& kv : *o) {
            FUZZ_CHECK(contains.is_sensitive_key(kv.key()) == tf::oracle_sensitive(kv.key()), std::string(kv.key()));
            FUZZ_CHECK(exact.is_sensitive_key(kv.key()) == oracle_exact(kv.key(), exact_keys), std::string(kv.key()));
            check_keys(kv.value(), contains, exact, exact_keys);
        }
    } else if (const auto* a = v.if_array()) {
        for (const auto& e : *a) check_keys(e, contains, exact, exact_keys);
    }
}

// Planted pairs: the secret is what must disappear.
const std::string secret = "Qz7SeKrEt9vW";
const std::string pairs[] = {
    "\"password\": \"" + secret + "\"",
    "'token':'" + secret + "'",
    "\"Api-Key\" : " + secret,
    "\"pass\\u0077ord\":\"" + secret + "\"",
    "&password=" + secret,
    "\"authorization\":\n\t\"" + secret + "\"",
    "\"x_secret\": {\"a\": \"" + secret + "\", \"b\": [1, \"}\"]}",
    "\"cookie\": [\"" + secret + "\", 1]",
    "\"refresh_token\":\"a\\\"" + secret + "\\\\\"",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const KeyRedactor contains;
    static const std::vector<std::string> exact_keys = {"password", "api_key", "X-Token"};
    static const KeyRedactor exact(exact_keys, marker, KeyMatch::exact);

    std::string_view input(reinterpret_cast<const char*>(data), size);
    const tf::Options opt = tf::take_options(input);

    // The key rule on the raw input (short inputs are most like keys).
    if (input.size() <= 256) {
        FUZZ_CHECK(contains.is_sensitive_key(input) == tf::oracle_sensitive(input), std::string(input));
        FUZZ_CHECK(exact.is_sensitive_key(input) == oracle_exact(input, exact_keys), std::string(input));
    }

    // redact_json.
    const RedactedText out = redact_json(contains, input);
    if (auto doc = tf::parse(input)) {
        FUZZ_CHECK(out.valid_json, "valid JSON reported invalid");
        check_keys(*doc, contains, exact, exact_keys);
        auto red = tf::parse(out.text, 1000);
        if (!red) tf::fail("redact_json output is not JSON", out.text.substr(0, 200));
        std::string where;
        if (!tf::no_secret_values(*red, marker, where)) tf::fail("secret value survived redact_json", where);
        std::size_t by_key = 0;
        for (const auto& p : out.paths) {
            FUZZ_CHECK(tf::marker_at(*red, p, marker), "path does not point at the marker: " + p);
            if (p.find("/~text/") == std::string::npos) ++by_key;
        }
        FUZZ_CHECK(by_key == count_sensitive(*doc), "one path per value under a sensitive key");
        // Same shape, only values replaced: what is not redacted is unchanged.
        FUZZ_CHECK(tf::depth(*red) <= tf::depth(*doc));
        // Idempotent (up to how Boost.JSON 1.81 re-reads doubles: within an ulp or two).
        const RedactedText again = redact_json(contains, out.text);
        FUZZ_CHECK(again.valid_json && again.paths == out.paths, "redact_json not idempotent");
        auto twice = tf::parse(again.text, 1000);
        FUZZ_CHECK(twice && tf::equivalent(*twice, *red, true), "redact_json not idempotent: " + again.text.substr(0, 200));
    } else {
        FUZZ_CHECK(!out.valid_json, "invalid JSON reported valid");
        std::vector<std::string> paths;
        FUZZ_CHECK(out.text == scrub_text(contains, input, &paths), "invalid JSON not scrubbed like scrub_text");
        FUZZ_CHECK(paths == out.paths);
        for (const auto& p : paths) FUZZ_CHECK(p.rfind("~text/", 0) == 0, p);
    }

    // scrub_text on anything, with and without paths.
    std::vector<std::string> paths;
    const std::string scrubbed = scrub_text(contains, input, &paths);
    FUZZ_CHECK(scrubbed == scrub_text(contains, input), "paths change the scrub");
    if (paths.empty()) FUZZ_CHECK(scrubbed == input, "nothing found but text changed");

    // The documented guarantee, with a planted pair between a prefix and a suffix.
    const auto cut = input.find(tf::part_separator);
    const std::string_view prefix = input.substr(0, cut);
    const std::string_view suffix = cut == std::string_view::npos ? std::string_view() : input.substr(cut + 1);
    if (prefix.find(secret) == std::string_view::npos && suffix.find(secret) == std::string_view::npos) {
        const std::string& pair = pairs[opt.at(0) % std::size(pairs)];
        const std::string text = std::string(prefix) + pair + std::string(suffix);
        const std::string result = scrub_text(contains, text);
        FUZZ_CHECK(result.find(secret) == std::string::npos, "planted secret survived scrub_text: " + pair);
        const RedactedText r = redact_json(contains, text);
        FUZZ_CHECK(r.text.find(secret) == std::string::npos, "planted secret survived redact_json: " + pair);
    }
    return 0;
}
