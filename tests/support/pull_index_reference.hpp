#pragma once
// The reference for detail::try_parse_pull_index (tests and fuzz/pipeline): the whole
// document built by json::parse, then `payload` erased from each object of the root's
// `snapshots` array; and what its verbatim text must satisfy.
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "detail/json.hpp"
#include "detail/redact.hpp"
#include "tether/redactor.hpp"

namespace tether::test {

/// Returns how many objects lost a payload.
inline std::size_t strip_snapshot_payloads(boost::json::value& doc) {
    auto* o = doc.if_object();
    if (!o) return 0;
    auto* snapshots = o->if_contains("snapshots");
    if (!snapshots || !snapshots->is_array()) return 0;
    std::size_t removed = 0;
    for (auto& snap : snapshots->get_array())
        if (auto* s = snap.if_object()) removed += s->erase("payload");
    return removed;
}

/// The document try_parse_pull_index returns with a verbatim text: `stripped` (the
/// reference document) with each object of the root's `snapshots` array reduced to its
/// `model` member, kept only when it is a string.
inline boost::json::value lean_snapshots(boost::json::value doc) {
    auto* o = doc.if_object();
    auto* snapshots = o ? o->if_contains("snapshots") : nullptr;
    if (!snapshots || !snapshots->is_array()) return doc;
    for (auto& snap : snapshots->get_array()) {
        auto* s = snap.if_object();
        if (!s) continue;
        boost::json::object lean;
        if (auto* m = s->if_contains("model"); m && m->is_string()) lean["model"] = *m;
        snap = std::move(lean);
    }
    return doc;
}

/// What is wrong with `verbatim`, the text stored for the (already stripped) document
/// `doc`; "" when nothing. It must parse to `doc`, the redactor must have nothing to
/// hide in the document, and none of the text may hold a pair with a sensitive key
/// (members a later duplicate hides from `doc` are still in the text).
inline std::string verbatim_problem(const std::string& verbatim, const boost::json::value& doc,
                                    const Redactor& redactor) {
    ParseFailure f;
    auto again = detail::try_parse(verbatim, &f);
    if (!again) return "the verbatim text does not parse: " + f.message + " at " + std::to_string(f.offset);
    if (*again != doc) return "the verbatim text parses to another document: " + detail::to_text(*again);
    std::vector<std::string> paths;
    boost::json::value copy = doc;
    detail::redact_value(copy, redactor, paths);
    if (!paths.empty()) return "stored verbatim although the redactor hides " + paths.front();
    std::vector<std::string> found;
    scrub_text(redactor, verbatim, &found);
    if (!found.empty()) return "the verbatim text holds a sensitive pair: " + found.front();
    return "";
}

}  // namespace tether::test
