#pragma once
// The reference for detail::try_parse_pull_index (tests and fuzz/pipeline): the whole
// document built by json::parse, then `payload` erased from each object of the root's
// `snapshots` array. Returns how many objects lost one.
#include <boost/json.hpp>

namespace tether::test {

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

}  // namespace tether::test
