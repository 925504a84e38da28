#include "simulation.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

namespace fleet {
namespace json = boost::json;

namespace {

constexpr const char* vocabulary[] = {"milk",    "report", "review", "deploy", "garden", "invoice", "call",  "plan",
                                      "release", "fix",    "draft",  "design", "budget", "meeting", "notes", "trip",
                                      "backup",  "paint",  "order",  "update", "sync",   "client",  "ideas", "launch"};
constexpr std::size_t vocabulary_size = sizeof(vocabulary) / sizeof(vocabulary[0]);
constexpr std::size_t history_limit = 32;
constexpr std::size_t offline_limit = 40;

}  // namespace

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::string make_ulid(std::int64_t ms, std::mt19937_64& rng) {
    static constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::string out(26, '0');
    auto t = static_cast<std::uint64_t>(ms) & ((1ull << 48) - 1);
    for (int i = 9; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = alphabet[t & 31];
        t >>= 5;
    }
    std::uint64_t hi = rng() & 0xFFFF, lo = rng();  // 80 random bits
    for (int i = 25; i >= 10; --i) {
        out[static_cast<std::size_t>(i)] = alphabet[lo & 31];
        lo = (lo >> 5) | ((hi & 31) << 59);
        hi >>= 5;
    }
    return out;
}

World make_world(std::uint64_t seed) {
    std::mt19937_64 rng(mix_seed(seed, 0xF00D));
    constexpr std::int64_t epoch = 1735689600000;  // fixed, so the ids depend on the seed only
    World w;
    for (int i = 0; i < 12; ++i) w.tasks.push_back(make_ulid(epoch + i, rng));
    for (int i = 0; i < 4; ++i) w.projects.push_back(make_ulid(epoch + 100 + i, rng));
    for (int i = 0; i < 8; ++i) w.notes.push_back(make_ulid(epoch + 200 + i, rng));
    return w;
}

SimClient::SimClient(std::string id, std::string version, std::uint64_t seed, const World& world)
    : id_(std::move(id)), version_(std::move(version)), broken_(version_ == broken_version), rng_(seed), world_(world) {
    // Every client authenticates; the server records the header and tether-pro redacts it.
    char token[32];
    std::snprintf(token, sizeof token, "tok_%016llx", static_cast<unsigned long long>(rng_()));
    authorization_ = std::string("Bearer ") + token;
}

double SimClient::uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

std::size_t SimClient::pick(std::size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
}

std::string SimClient::words(std::size_t min, std::size_t max) {
    const std::size_t n = min + pick(max - min + 1);
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += (i ? " " : "") + std::string(vocabulary[pick(vocabulary_size)]);
    return s;
}

std::string SimClient::pick_model() {
    const double r = uniform();
    return r < 0.5 ? "Task" : r < 0.8 ? "Note" : "Project";
}

json::object SimClient::valid_payload(const std::string& model) {
    json::object p;
    char buf[16];
    if (model == "Task") {
        p["title"] = "Task " + std::to_string(++counter_) + ": " + words(1, 4);
        p["done"] = uniform() < 0.3;
        if (uniform() < 0.5) {
            std::snprintf(buf, sizeof buf, "2026-%02zu-%02zu", 1 + pick(12), 1 + pick(28));
            p["due_at"] = buf;
        }
        if (uniform() < 0.3) p["project_id"] = world_.projects[pick(world_.projects.size())];
    } else if (model == "Project") {
        // The broken release lost the name field in its Project serializer.
        if (!broken_) p["name"] = "Project " + words(1, 2);
        if (uniform() < 0.6) {
            std::snprintf(buf, sizeof buf, "#%06llX", static_cast<unsigned long long>(rng_() & 0xFFFFFF));
            p["color"] = buf;
        }
    } else {
        p["body"] = words(5, 40);
        if (uniform() < 0.6) p["title"] = words(1, 3);
        if (uniform() < 0.5) {
            json::array tags;
            for (std::size_t i = 0, n = 1 + pick(3); i < n; ++i) tags.emplace_back(vocabulary[pick(vocabulary_size)]);
            p["tags"] = std::move(tags);
        }
    }
    return p;
}

// The mistakes real clients make: missing required fields, wrong types, limits exceeded.
json::object SimClient::invalid_payload(const std::string& model) {
    json::object p = valid_payload(model);
    const std::size_t variant = pick(3);
    if (model == "Task") {
        if (variant == 0)
            p.erase("title");
        else if (variant == 1)
            p["title"] = std::string(250, 'x');
        else
            p["done"] = "yes";
        if (uniform() < 0.3) p["due_at"] = "next tuesday";
    } else if (model == "Project") {
        if (variant == 0)
            p["name"] = std::string(150, 'p');
        else if (variant == 1)
            p["color"] = "red";
        else
            p["name"] = 42;
    } else {
        if (variant == 0)
            p.erase("body");
        else if (variant == 1)
            p["tags"] = json::array{1, 2};
        else
            p["title"] = std::string(300, 't');
    }
    return p;
}

Sent SimClient::mutation(std::string entity_id, std::string model, std::string operation, json::object payload,
                         std::int64_t version, std::int64_t timestamp_ms, bool own) {
    Sent s;
    s.mutation_id = make_ulid(timestamp_ms, rng_);
    s.entity_id = std::move(entity_id);
    s.model = std::move(model);
    s.operation = std::move(operation);
    s.own = own;
    s.json["mutation_id"] = s.mutation_id;
    s.json["entity_id"] = s.entity_id;
    s.json["model"] = s.model;
    s.json["operation"] = s.operation;
    if (s.operation == "delete")
        s.json["payload"] = json::array();  // what many clients send for deletes
    else
        s.json["payload"] = std::move(payload);
    s.json["version"] = version;
    s.json["timestamp"] = timestamp_ms;
    return s;
}

Sent SimClient::create_own(std::int64_t now_ms, std::string model) {
    if (model.empty()) model = pick_model();
    return mutation(make_ulid(now_ms, rng_), model, "create", valid_payload(model), 1, now_ms, true);
}

SimClient::Entity* SimClient::find_own(const std::string& id) {
    auto it = own_index_.find(id);
    return it == own_index_.end() ? nullptr : &own_.at(it->second);
}

SimClient::Entity& SimClient::own_entity(const std::string& id) {
    if (Entity* e = find_own(id)) return *e;
    const std::uint64_t seq = own_seq_++;
    own_index_[id] = seq;
    Entity& e = own_[seq];
    e.id = id;
    return e;
}

void SimClient::erase_own(const std::string& id) {
    if (auto it = own_index_.find(id); it != own_index_.end()) {
        own_.erase(it->second);
        own_index_.erase(it);
    }
}

SimClient::Entity& SimClient::pick_own() {
    return std::next(own_.begin(), static_cast<std::ptrdiff_t>(pick(own_.size())))->second;
}

Sent SimClient::update_own(std::int64_t now_ms) {
    if (own_.empty()) return create_own(now_ms);
    const Entity& e = pick_own();
    return mutation(e.id, e.model, "update", valid_payload(e.model), e.version + 1, now_ms, true);
}

Sent SimClient::update_shared(std::int64_t timestamp_ms) {
    const double r = uniform();
    const auto& pool = r < 0.5 ? world_.tasks : r < 0.8 ? world_.notes : world_.projects;
    const std::string model = &pool == &world_.tasks ? "Task" : &pool == &world_.notes ? "Note" : "Project";
    const std::string& entity = pool[pick(pool.size())];
    const std::int64_t version = ++shared_versions_[entity];
    return mutation(entity, model, "update", valid_payload(model), version, timestamp_ms, false);
}

Sent SimClient::next_mutation(std::int64_t now_ms) {
    const double r = uniform();
    if (r < 0.24) return create_own(now_ms);
    if (r < 0.42) return update_own(now_ms);
    if (r < 0.47) {
        if (own_.empty()) return create_own(now_ms);
        const Entity& e = pick_own();
        return mutation(e.id, e.model, "delete", {}, e.version + 1, now_ms, true);
    }
    if (r < 0.62) return update_shared(now_ms);
    // Stale: an edit made minutes ago on a device that was offline (older than the server's record).
    if (r < 0.70) return update_shared(now_ms - 30'000 - static_cast<std::int64_t>(pick(570'000)));
    if (r < 0.80) {
        const std::string model = pick_model();
        return mutation(make_ulid(now_ms, rng_), model, "create", invalid_payload(model), 1, now_ms, false);
    }
    if (r < 0.85) {  // an entity the server never saw (or already deleted)
        const std::string model = pick_model();
        const bool del = uniform() < 0.6;
        return mutation(make_ulid(now_ms - 86'400'000, rng_), model, del ? "delete" : "update",
                        del ? json::object() : valid_payload(model), 2, now_ms, false);
    }
    if (r < 0.87) {
        json::object p;
        p["text"] = words(2, 6);
        return mutation(make_ulid(now_ms, rng_), "Comment", "create", std::move(p), 1, now_ms, false);
    }
    if (r < 0.93 && !history_.empty()) {
        Sent s = history_[pick(history_.size())];
        s.resent = true;
        return s;
    }
    return create_own(now_ms, "Task");
}

void SimClient::work_offline(std::int64_t now_ms) {
    // Edits pile up while the device has no network; their timestamps are from now, but
    // they reach the server later, after other clients may have changed the same records.
    for (std::size_t i = 0, n = 2 + pick(5); i < n && offline_.size() < offline_limit; ++i) {
        const double r = uniform();
        offline_.push_back(r < 0.4 ? create_own(now_ms) : r < 0.7 ? update_own(now_ms) : update_shared(now_ms));
    }
}

Request SimClient::push(std::vector<Sent> mutations) {
    json::array list;
    for (const auto& s : mutations) list.emplace_back(s.json);
    json::object body;
    body["client_id"] = id_;
    body["mutations"] = std::move(list);
    Request r;
    r.push = true;
    r.path = "/sync/push";
    r.body = json::serialize(body);
    r.mutations = std::move(mutations);
    last_push_body_ = r.body;
    last_push_ = r.mutations;
    return r;
}

Request SimClient::pull(bool continuation) {
    json::object body;
    body["client_id"] = id_;
    if (continuation) {
        // Paging on has_more draws nothing from the generator: how many pages there are
        // depends on other clients' traffic, and must not shift this client's later choices.
        body["last_sync_cursor"] = *cursor_;
    } else {
        if (cursor_ && uniform() >= 0.02)
            body["last_sync_cursor"] = *cursor_;
        else
            body["last_sync_cursor"] = nullptr;  // first sync, or an occasional full resync
        const double r = uniform();
        pull_limit_ = r < 0.15 ? 100 : r < 0.7 ? 500 : r < 0.95 ? 1000 : 5000;  // 5000 is capped by the server
    }
    body["limit"] = pull_limit_;
    Request req;
    req.push = false;
    req.path = "/sync/pull";
    req.body = json::serialize(body);
    return req;
}

Request SimClient::malformed(std::int64_t now_ms) {
    Request r;
    r.malformed = true;
    r.push = true;
    r.path = "/sync/push";
    switch (pick(5)) {
        case 0: {  // the connection died mid-serialisation on the client: truncated JSON
            Sent s = create_own(now_ms);
            json::object body;
            body["client_id"] = id_;
            body["mutations"] = json::array{s.json};
            std::string text = json::serialize(body);
            // Not JSON, so its mutations cannot be read; the client_id at its start still
            // names the client (the dashboard recovers it by text search).
            r.body = text.substr(0, text.size() / 2);
            break;
        }
        case 1:
            r.body = R"({"client_id":")" + id_ + R"(","mutations":{"0":{"model":"Task"}}})";
            break;
        case 2: {  // a mutation without a model
            Sent s = create_own(now_ms, "Task");
            s.json.erase("model");
            s.model.clear();  // sent without a model: counted under "" (the server refuses the push)
            json::object body;
            body["client_id"] = id_;
            body["mutations"] = json::array{s.json};
            r.body = json::serialize(body);
            r.mutations.push_back(std::move(s));
            break;
        }
        case 3:
            r.push = false;
            r.path = "/sync/pull";
            r.body = R"({"client_id":")" + id_ + R"(","last_sync_cursor":null,"limit":"lots"})";
            break;
        default:
            r.body = R"({"mutations":[]})";
            r.names_client = false;
            break;
    }
    return r;
}

Request SimClient::next(std::int64_t now_ms) {
    if (pull_pending_ && cursor_) return pull(true);
    if (uniform() < 0.12) work_offline(now_ms);
    const double r = uniform();
    if (r < 0.02) return malformed(now_ms);
    if (r < 0.22) return pull(false);
    // A client that never saw the answer to its last push sends the very same body again.
    if (r < 0.26 && last_push_body_) {
        Request again;
        again.path = "/sync/push";
        again.body = *last_push_body_;
        again.mutations = last_push_;
        for (auto& s : again.mutations) s.resent = true;
        return again;
    }
    std::vector<Sent> mutations = std::move(offline_);
    offline_.clear();
    for (std::size_t i = 0, n = 1 + pick(6); i < n; ++i) mutations.push_back(next_mutation(now_ms));
    return push(std::move(mutations));
}

void SimClient::on_response(const Request& req, int status, const json::value* body) {
    if (status >= 500 && !req.malformed) return on_transport_error(req);
    if (status != 200 || !body || !body->is_object() || req.malformed) return;
    const json::object& o = body->get_object();
    if (!req.push) {
        if (const auto* c = o.if_contains("new_sync_cursor"); c && c->is_int64()) cursor_ = c->get_int64();
        const auto* more = o.if_contains("has_more");
        pull_pending_ = more && more->is_bool() && more->get_bool();
        if (const auto* snaps = o.if_contains("snapshots"); snaps && snaps->is_array()) {
            for (const auto& sv : snaps->get_array()) {
                if (!sv.is_object()) continue;
                const auto& snap = sv.get_object();
                const auto* eid = snap.if_contains("entity_id");
                if (!eid || !eid->is_string()) continue;
                const std::string entity(eid->get_string());
                Entity* e = find_own(entity);
                if (!e) continue;
                const auto* op = snap.if_contains("operation");
                const auto* payload = snap.if_contains("payload");
                if (op && op->is_string() && op->get_string() == "delete")
                    erase_own(entity);
                else if (payload && payload->is_object())
                    e->data = payload->get_object();
            }
        }
        return;
    }
    std::unordered_map<std::string, const json::object*> conflicts;
    std::unordered_map<std::string, bool> applied;
    if (const auto* a = o.if_contains("applied"); a && a->is_array())
        for (const auto& id : a->get_array())
            if (id.is_string()) applied[std::string(id.get_string())] = true;
    if (const auto* c = o.if_contains("conflicts"); c && c->is_array())
        for (const auto& e : c->get_array())
            if (e.is_object())
                if (const auto* id = e.get_object().if_contains("mutation_id"); id && id->is_string())
                    conflicts[std::string(id->get_string())] = &e.get_object();
    for (const auto& s : req.mutations) {
        if (applied.count(s.mutation_id)) {
            if (s.operation == "delete") {
                erase_own(s.entity_id);
            } else if (s.own) {
                Entity& e = own_entity(s.entity_id);
                e.model = s.model;
                if (const auto* p = s.json.if_contains("payload"); p && p->is_object()) e.data = p->get_object();
                if (const auto* v = s.json.if_contains("version"); v && v->is_int64()) e.version = v->get_int64();
            }
            if (!s.resent) {
                history_.push_back(s);
                if (history_.size() > history_limit) history_.pop_front();
            }
        } else if (auto it = conflicts.find(s.mutation_id); it != conflicts.end() && s.own) {
            // Adopt the server's state, as a client does after losing a conflict.
            const auto* data = it->second->if_contains("data");
            if (data && data->is_object())
                if (const auto* st = data->get_object().if_contains("server_state"); st && st->is_object())
                    if (Entity* e = find_own(s.entity_id)) e->data = st->get_object();
        }
    }
}

void SimClient::on_transport_error(const Request& req) {
    if (req.malformed || !req.push) return;
    for (const auto& s : req.mutations)
        if (offline_.size() < offline_limit) offline_.push_back(s);
}

Request make_setup_push(const World& world, std::int64_t now_ms, std::uint64_t seed) {
    std::mt19937_64 rng(mix_seed(seed, 0x5E7));
    json::array list;
    std::vector<Sent> sent;
    auto add = [&](const std::string& entity, const std::string& model, json::object payload) {
        Sent s;
        s.mutation_id = make_ulid(now_ms, rng);
        s.entity_id = entity;
        s.model = model;
        s.operation = "create";
        s.json["mutation_id"] = s.mutation_id;
        s.json["entity_id"] = entity;
        s.json["model"] = model;
        s.json["operation"] = "create";
        s.json["payload"] = std::move(payload);
        s.json["version"] = 1;
        s.json["timestamp"] = now_ms;
        list.emplace_back(s.json);
        sent.push_back(std::move(s));
    };
    int n = 0;
    for (const auto& id : world.projects)
        add(id, "Project", {{"name", "Shared project " + std::to_string(++n)}, {"color", "#3366CC"}});
    for (const auto& id : world.tasks)
        add(id, "Task", {{"title", "Shared task " + std::to_string(++n)}, {"done", false}});
    for (const auto& id : world.notes)
        add(id, "Note", {{"body", "Shared note " + std::to_string(++n)}, {"tags", json::array{"team"}}});
    json::object body;
    body["client_id"] = "c-setup";
    body["mutations"] = std::move(list);
    Request r;
    r.path = "/sync/push";
    r.body = json::serialize(body);
    r.mutations = std::move(sent);
    return r;
}

void account(const Request& req, const std::string& client_id, const std::string& version, int status,
             const json::value* body, double latency_ms, bool transport_error, Summary& s) {
    ++s.requests;
    ++(req.push ? s.pushes : s.pulls);
    Counts& client = s.by_client[client_id];
    Counts& ver = s.by_version[version];
    s.client_versions[client_id] = version;
    ++client.requests;
    ++ver.requests;
    if (!req.names_client) {
        ++s.unattributed;
        ++client.unattributed;
        ++ver.unattributed;
    }
    auto& ver_models = s.by_version_model[version];
    for (const auto& m : req.mutations)
        for (Counts* c : {&s.total, &s.by_model[m.model], &client, &ver, &ver_models[m.model]}) {
            ++c->mutations;
            if (m.resent) ++c->resent;
        }
    if (transport_error) {
        ++s.transport_errors;
        return;
    }
    ++s.statuses[status];
    s.latencies_ms.push_back(latency_ms);
    if (status >= 400) ++s.http_errors;
    if (status != 200 || !body || !body->is_object()) return;
    const json::object& o = body->get_object();
    if (!req.push) {
        if (const auto* snaps = o.if_contains("snapshots"); snaps && snaps->is_array())
            s.snapshots += snaps->get_array().size();
        return;
    }
    std::unordered_map<std::string, std::string> model_of;
    for (const auto& m : req.mutations) model_of.emplace(m.mutation_id, m.model);
    auto model = [&](const json::value& id) -> std::string {
        if (id.is_string())
            if (auto it = model_of.find(std::string(id.get_string())); it != model_of.end()) return it->second;
        return "(unknown)";
    };
    auto bump = [&](const std::string& m, std::uint64_t Counts::*field, const std::string* reason) {
        for (Counts* c : {&s.total, &s.by_model[m], &client, &ver, &ver_models[m]}) {
            ++(c->*field);
            if (reason) ++c->rejected_by_reason[*reason];
        }
    };
    if (const auto* a = o.if_contains("applied"); a && a->is_array())
        for (const auto& id : a->get_array()) bump(model(id), &Counts::applied, nullptr);
    if (const auto* r = o.if_contains("rejected"); r && r->is_array())
        for (const auto& e : r->get_array()) {
            if (!e.is_object()) continue;
            const auto* id = e.get_object().if_contains("mutation_id");
            const auto* reason = e.get_object().if_contains("reason");
            const std::string why = reason && reason->is_string() ? std::string(reason->get_string()) : "(none)";
            bump(id ? model(*id) : "(unknown)", &Counts::rejected, &why);
        }
    if (const auto* c = o.if_contains("conflicts"); c && c->is_array())
        for (const auto& e : c->get_array()) {
            const auto* id = e.is_object() ? e.get_object().if_contains("mutation_id") : nullptr;
            bump(id ? model(*id) : "(unknown)", &Counts::conflicts, nullptr);
        }
}

}  // namespace fleet
