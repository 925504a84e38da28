#include <stdexcept>
#include <string>
#include <vector>

#include "support/json_patch.hpp"

namespace tether::test {
namespace json = boost::json;

namespace {

std::vector<std::string> split_pointer(std::string_view p) {
    if (p.empty()) return {};
    if (p[0] != '/') throw std::runtime_error("pointer must start with '/': " + std::string(p));
    std::vector<std::string> tokens;
    std::string cur;
    for (std::size_t i = 1; i <= p.size(); ++i) {
        if (i == p.size() || p[i] == '/') {
            tokens.push_back(std::move(cur));
            cur.clear();
        } else if (p[i] == '~') {
            if (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))
                throw std::runtime_error("bad escape in pointer");
            cur += p[++i] == '0' ? '~' : '/';
        } else {
            cur += p[i];
        }
    }
    return tokens;
}

std::size_t array_index(const std::string& t, std::size_t limit) {
    if (t.empty() || (t.size() > 1 && t[0] == '0') || t.find_first_not_of("0123456789") != std::string::npos)
        throw std::runtime_error("bad array index: " + t);
    std::size_t i = std::stoul(t);
    if (i > limit) throw std::runtime_error("array index out of range: " + t);
    return i;
}

void apply_op(json::value& doc, const json::object& op) {
    const std::string name(op.at("op").as_string());
    auto tokens = split_pointer(op.at("path").as_string());
    if (tokens.empty()) {  // the whole document
        if (name == "remove") throw std::runtime_error("cannot remove the root");
        doc = op.at("value");
        return;
    }
    json::value* parent = &doc;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        if (auto* o = parent->if_object()) {
            parent = &o->at(tokens[i]);
        } else if (auto* a = parent->if_array()) {
            std::size_t idx = array_index(tokens[i], a->size());
            parent = &a->at(idx);
        } else {
            throw std::runtime_error("path goes through a scalar");
        }
    }
    const std::string& last = tokens.back();
    if (auto* o = parent->if_object()) {
        if (name == "add")
            (*o)[last] = op.at("value");
        else if (name == "remove") {
            if (!o->erase(last)) throw std::runtime_error("remove of missing key " + last);
        } else if (name == "replace")
            o->at(last) = op.at("value");
        else
            throw std::runtime_error("unexpected op " + name);
    } else if (auto* a = parent->if_array()) {
        if (name == "add") {
            if (last == "-")
                a->push_back(op.at("value"));
            else
                a->insert(a->begin() + static_cast<std::ptrdiff_t>(array_index(last, a->size())), op.at("value"));
        } else {
            std::size_t idx = array_index(last, a->size());
            if (idx >= a->size()) throw std::runtime_error("index past the end: " + last);
            if (name == "remove")
                a->erase(a->begin() + static_cast<std::ptrdiff_t>(idx));
            else if (name == "replace")
                (*a)[idx] = op.at("value");
            else
                throw std::runtime_error("unexpected op " + name);
        }
    } else {
        throw std::runtime_error("parent is a scalar");
    }
}

}  // namespace

json::value apply_patch(json::value doc, std::string_view patch_text) {
    auto patch = json::parse(patch_text);
    for (const auto& op : patch.as_array()) apply_op(doc, op.as_object());
    return doc;
}

}  // namespace tether::test
