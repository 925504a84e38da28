// tether replay-preview: ReplayEngine::preview against a state file standing in for the
// server's database (a StateReader over {"Model": {"entity_id": {record}}}).
#include <boost/json.hpp>
#include <cmath>
#include <map>

#include "cli.hpp"
#include "detail/json.hpp"
#include "format.hpp"
#include "json_input.hpp"
#include "tether/differ.hpp"
#include "tether/observer.hpp"
#include "tether/replay_engine.hpp"

namespace tether::cli {

namespace {

namespace json = boost::json;

const char* const state_shape = "{\"Model\": {\"entity_id\": {record}}}";

// The server's current records, read once from the --state file. Thread-safe: read-only.
class FileStateReader final : public StateReader {
public:
    FileStateReader(const json::value& doc, const std::string& name) {
        if (!doc.is_object())
            fail(exit_input,
                 name + ": expected an object " + std::string(state_shape) + " at the top level, got " + kind(doc));
        for (const auto& [model, entities] : doc.get_object()) {
            const std::string model_path = "/" + json_pointer_escape(model);
            if (!entities.is_object())
                fail(exit_input,
                     name + ": " + model_path + ": expected an object of entity id -> record, got " + kind(entities));
            auto& by_id = records_[std::string(model)];
            for (const auto& [entity_id, record] : entities.get_object()) {
                const std::string path = model_path + "/" + json_pointer_escape(entity_id);
                if (record.is_null()) continue;  // no record: deleted
                if (!record.is_object())
                    fail(exit_input,
                         name + ": " + path + ": expected a record (an object) or null, got " + kind(record));
                EntityState state;
                state.json = json_text(record);
                if (const auto* updated = record.get_object().if_contains("updated_at"))
                    state.updated_at_us = updated_at(*updated, name + ": " + path + "/updated_at");
                by_id.emplace(std::string(entity_id), std::move(state));
            }
        }
    }

    std::optional<EntityState> current(std::string_view model, std::string_view entity_id) override {
        auto m = records_.find(model);
        if (m == records_.end()) return std::nullopt;
        auto e = m->second.find(entity_id);
        if (e == m->second.end()) return std::nullopt;
        return e->second;
    }

    // A state file lists records, not the mutation ids the server has applied.
    bool was_applied(std::string_view) override { return false; }

private:
    // "an array", "a number", "null": the JSON kind for error messages.
    static std::string kind(const json::value& v) {
        const std::string name = tether::detail::kind_name(v);
        if (name == "null") return name;
        return (name == "array" || name == "object" ? "an " : "a ") + name;
    }

    // ISO-8601 text, or seconds / milliseconds / microseconds since 1970 told apart by size
    // (1.7e9 s, 1.7e12 ms and 1.7e15 µs are all late 2023).
    static Micros updated_at(const json::value& v, const std::string& where) {
        static const char* expected =
            "expected an ISO-8601 time with a zone, or seconds, milliseconds or microseconds since 1970";
        if (v.is_string()) {
            if (auto t = parse_iso8601(v.get_string())) return *t;
            fail(exit_input, where + ": got '" + std::string(v.get_string()) + "'; " + expected);
        }
        const auto bad = [&] { fail(exit_input, where + ": got " + json_text(v) + "; " + expected); };
        if (v.is_int64() || v.is_uint64()) {
            if (v.is_int64() && v.get_int64() < 0) bad();
            const std::uint64_t u = v.is_int64() ? static_cast<std::uint64_t>(v.get_int64()) : v.get_uint64();
            if (u >= 100'000'000'000'000'000ULL) bad();  // beyond year 5000 even in microseconds
            const auto i = static_cast<Micros>(u);
            if (i < 100'000'000'000LL) return i * 1'000'000;  // seconds
            if (i < 100'000'000'000'000LL) return i * 1'000;  // milliseconds
            return i;                                         // microseconds
        }
        if (!v.is_double()) fail(exit_input, where + ": got " + kind(v) + "; " + expected);
        const double n = v.get_double();
        if (!std::isfinite(n) || n < 0 || n >= 1e17) bad();
        if (n < 1e11) return static_cast<Micros>(std::llround(n * 1e6));
        if (n < 1e14) return static_cast<Micros>(std::llround(n * 1e3));
        return static_cast<Micros>(std::llround(n));
    }

    std::map<std::string, std::map<std::string, EntityState, std::less<>>, std::less<>> records_;
};

// Queries pass through; anything that would write is refused (prune calls are no-ops). The
// preview is read-only, and so must be the Observer built around it (its writer thread
// runs retention when it starts).
class ReadOnlyStorage final : public Storage {
public:
    explicit ReadOnlyStorage(std::shared_ptr<Storage> inner) : s_(std::move(inner)) {}
    std::string describe() const override { return s_->describe() + " (read-only)"; }
    void write_batch(const std::vector<CapturedRequest>&, const RollupBatch&) override {
        throw StorageError("the command line opens the database read-only", false);
    }
    Page<RequestRecord> list_requests(const RequestFilter& f, const PageRequest& p) override {
        return s_->list_requests(f, p);
    }
    std::optional<RequestRecord> get_request(std::string_view id) override { return s_->get_request(id); }
    Page<MutationRecord> list_mutations(std::string_view id, const MutationFilter& f, const PageRequest& p) override {
        return s_->list_mutations(id, f, p);
    }
    std::optional<MutationRecord> get_mutation(std::string_view id) override { return s_->get_mutation(id); }
    std::vector<Rollup> read_rollups(Micros w, Micros from, Micros to, std::string_view instance,
                                     bool breakdowns) override {
        return s_->read_rollups(w, from, to, instance, breakdowns);
    }
    std::size_t prune_rollups(Micros) override { return 0; }
    Page<ConflictRecord> list_conflicts(const ConflictFilter& f, const PageRequest& p) override {
        return s_->list_conflicts(f, p);
    }
    std::optional<ConflictRecord> get_conflict(std::string_view id) override { return s_->get_conflict(id); }
    ConflictPatterns conflict_patterns(const ConflictPatternQuery& q) override { return s_->conflict_patterns(q); }
    Page<FailureRecord> list_failures(const FailureFilter& f, const PageRequest& p) override {
        return s_->list_failures(f, p);
    }
    std::vector<FailureGroup> failure_groups(const FailureGroupQuery& q, const FailureThresholds& t) override {
        return s_->failure_groups(q, t);
    }
    std::optional<FailureGroup> failure_group(std::string_view fp, std::string_view instance, Micros now,
                                              const FailureThresholds& t) override {
        return s_->failure_group(fp, instance, now, t);
    }
    Page<ClientSummary> list_clients(const ClientFilter& f, const PageRequest& p, const FailureThresholds& t) override {
        return s_->list_clients(f, p, t);
    }
    std::optional<ClientSummary> get_client(std::string_view id, const FailureThresholds& t) override {
        return s_->get_client(id, t);
    }
    std::vector<ClientModelCounts> client_models(std::string_view id) override { return s_->client_models(id); }
    std::vector<PoisonMutation> poison_mutations(const PoisonQuery& q, const FailureThresholds& t) override {
        return s_->poison_mutations(q, t);
    }
    Page<ReplayLink> list_replays(std::string_view id, const PageRequest& p) override {
        return s_->list_replays(id, p);
    }
    std::uint64_t count_requests() override { return s_->count_requests(); }
    std::uint64_t count_mutations() override { return s_->count_mutations(); }
    std::size_t prune(const RetentionPolicy&, Micros, std::size_t) override { return 0; }

private:
    std::shared_ptr<Storage> s_;
};

std::string current_cell(const PreviewItem& item) {
    if (!item.current) return "none";
    return item.current->updated_at_us ? "updated " + short_time(item.current->updated_at_us) : "exists";
}

void print_preview(std::ostream& out, const ReplayPreview& p) {
    const auto& k = p.predicted_counts;
    out << "Replay preview of push " << p.request_id << ": " << p.total << " mutation" << (p.total == 1 ? "" : "s")
        << ", " << p.replayable << " replayable\n"
        << "predicted: apply " << k.apply << ", conflict " << k.conflict << ", not_found " << k.not_found
        << ", duplicate " << k.duplicate << '\n';
    if (!p.not_replayable_reason.empty()) out << "not replayable: " << printable(p.not_replayable_reason) << '\n';
    out << '\n';
    if (p.items.empty()) {
        out << "(no mutations on this page)\n";
    } else {
        Table t({{"SEQ", Align::right},
                 {"MUTATION ID"},
                 {"MODEL", Align::left, 24},
                 {"ENTITY ID"},
                 {"OP"},
                 {"PREDICTED"},
                 {"ON REPLAY"},
                 {"CURRENT RECORD"},
                 {"DIFF", Align::left, 60},
                 {"REPLAYABLE"}});
        for (const auto& item : p.items) {
            std::vector<std::string> changes;
            for (const auto& ch : item.diff) changes.push_back(std::string(to_string(ch.op)) + " " + ch.path);
            t.add({std::to_string(item.seq), or_dash(item.mutation_id), or_dash(item.model), or_dash(item.entity_id),
                   or_dash(item.operation), to_string(item.predicted), to_string(item.replay_predicted),
                   current_cell(item), join(changes, ", "), item.replayable ? "yes" : "no"});
        }
        t.print(out);
        out << "\nReasons\n";
        for (const auto& item : p.items) {
            out << "  " << item.seq << "  " << to_string(item.predicted) << ": " << printable(item.reason) << '\n';
            if (!item.replayable && !item.not_replayable_reason.empty())
                out << "     not replayable: " << printable(item.not_replayable_reason) << '\n';
        }
    }
    out << (p.next_cursor.empty() ? std::string("(last page)") : "next cursor: " + p.next_cursor) << '\n';
}

}  // namespace

int run_replay_preview(Context& c) {
    const std::string id = c.one_positional("REQUEST_ID");
    if (!c.args().has("--state"))
        throw UsageError(
            "a state source is required: the preview compares the captured push with the server's current records. "
            "Pass --state FILE.json holding them as " +
            std::string(state_shape) + " (an entity absent from the file does not exist; - reads stdin)");
    const std::string state_path = c.text("--state", 4096);
    const PageRequest page = c.page(100);
    const bool as_json = c.flag("--json");

    auto state = std::make_shared<FileStateReader>(parse_json_input(read_input(state_path), input_name(state_path)),
                                                   input_name(state_path));
    Config config = c.config();
    config.retention.max_age = std::chrono::hours(0);
    config.retention.max_requests = 0;
    config.replay.live_enabled = false;
    auto observer = Observer::builder()
                        .config(config)
                        .storage(std::make_shared<ReadOnlyStorage>(c.shared_storage()))
                        .state_reader(state)
                        .build();
    const ReplayPreview preview = observer->replay().preview(id, page);
    if (as_json)
        c.out() << to_json(preview) << '\n';
    else
        print_preview(c.out(), preview);
    return exit_ok;
}

}  // namespace tether::cli
