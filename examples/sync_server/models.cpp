#include "models.hpp"

#include <algorithm>
#include <cctype>

namespace example {
namespace json = boost::json;

ModelRegistry ModelRegistry::standard() {
    ModelRegistry r;
    r.add({"Task",
           {{"title", FieldKind::string, true, 200},
            {"done", FieldKind::boolean, false, 0},
            {"due_at", FieldKind::date, false, 0},
            {"project_id", FieldKind::string, false, 0}}});
    r.add({"Project", {{"name", FieldKind::string, true, 100}, {"color", FieldKind::color, false, 0}}});
    r.add({"Note",
           {{"body", FieldKind::string, true, 10000},
            {"title", FieldKind::string, false, 200},
            {"tags", FieldKind::string_array, false, 0}}});
    return r;
}

void ModelRegistry::add(ModelSpec spec) { models_.push_back(std::move(spec)); }

const ModelSpec* ModelRegistry::find(std::string_view name) const noexcept {
    for (const auto& m : models_)
        if (m.name == name) return &m;
    return nullptr;
}

std::string ModelRegistry::names() const {
    std::vector<std::string> n;
    for (const auto& m : models_) n.push_back(m.name);
    std::sort(n.begin(), n.end());
    std::string out;
    for (const auto& s : n) out += (out.empty() ? "" : ", ") + s;
    return out;
}

std::size_t utf8_length(std::string_view s) noexcept {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;  // count every byte that starts a code point
    return n;
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t count) {
    if (pos + count > s.size()) return false;
    for (std::size_t i = pos; i < pos + count; ++i)
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    return true;
}

int number(std::string_view s, std::size_t pos, std::size_t count) {
    int v = 0;
    for (std::size_t i = pos; i < pos + count; ++i) v = v * 10 + (s[i] - '0');
    return v;
}

// Laravel shows attribute names with underscores as spaces ("The due at field …").
std::string attribute(std::string_view name) {
    std::string a(name);
    std::replace(a.begin(), a.end(), '_', ' ');
    return a;
}

void add_message(json::object& messages, std::string_view key, std::string text) {
    auto& slot = messages[key];
    if (!slot.is_array()) slot = json::array();
    slot.as_array().emplace_back(text);
}

}  // namespace

bool is_iso_date(std::string_view s) noexcept {
    if (!digits(s, 0, 4) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' || !digits(s, 8, 2))
        return false;
    const int year = number(s, 0, 4), month = number(s, 5, 2), day = number(s, 8, 2);
    static constexpr int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 || day > days[month - 1]) return false;
    if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))) return false;
    if (s.size() == 10) return true;
    // Time part: THH:MM[:SS[.fraction]] then Z or ±HH:MM.
    std::size_t p = 10;
    if ((s[p] != 'T' && s[p] != ' ') || !digits(s, p + 1, 2) || s.size() < p + 6 || s[p + 3] != ':' ||
        !digits(s, p + 4, 2))
        return false;
    if (number(s, p + 1, 2) > 23 || number(s, p + 4, 2) > 59) return false;
    p += 6;
    if (p < s.size() && s[p] == ':') {
        if (!digits(s, p + 1, 2) || number(s, p + 1, 2) > 60) return false;
        p += 3;
        if (p < s.size() && s[p] == '.') {
            std::size_t q = p + 1;
            while (q < s.size() && std::isdigit(static_cast<unsigned char>(s[q]))) ++q;
            if (q == p + 1) return false;
            p = q;
        }
    }
    if (p == s.size()) return true;  // local time without zone: Laravel's strtotime accepts it
    if (s[p] == 'Z') return p + 1 == s.size();
    if (s[p] != '+' && s[p] != '-') return false;
    return s.size() == p + 6 && digits(s, p + 1, 2) && s[p + 3] == ':' && digits(s, p + 4, 2) &&
           number(s, p + 1, 2) <= 14 && number(s, p + 4, 2) <= 59;
}

Validation validate(const ModelSpec& model, const json::object& payload) {
    Validation v;
    for (const auto& rule : model.fields) {
        const std::string a = attribute(rule.name);
        const json::value* value = payload.if_contains(rule.name);
        // Laravel's "required" fails for missing, null and empty strings; optional fields
        // accept null (they are treated as nullable) and are then stored as null.
        const bool absent = !value || value->is_null() || (value->is_string() && value->get_string().empty());
        if (absent) {
            if (rule.required)
                add_message(v.messages, rule.name, "The " + a + " field is required.");
            else if (value)
                v.record[rule.name] = nullptr;
            continue;
        }
        switch (rule.kind) {
            case FieldKind::string:
                if (!value->is_string()) {
                    add_message(v.messages, rule.name, "The " + a + " field must be a string.");
                } else if (rule.max_length && utf8_length(value->get_string()) > rule.max_length) {
                    add_message(
                        v.messages, rule.name,
                        "The " + a + " may not be greater than " + std::to_string(rule.max_length) + " characters.");
                } else {
                    v.record[rule.name] = *value;
                }
                break;
            case FieldKind::boolean: {
                bool b = false, valid = true;
                if (value->is_bool())
                    b = value->get_bool();
                else if (value->is_int64() && (value->get_int64() == 0 || value->get_int64() == 1))
                    b = value->get_int64() == 1;
                else if (value->is_string() && (value->get_string() == "0" || value->get_string() == "1"))
                    b = value->get_string() == "1";
                else
                    valid = false;
                if (valid)
                    v.record[rule.name] = b;
                else
                    add_message(v.messages, rule.name, "The " + a + " field must be true or false.");
                break;
            }
            case FieldKind::date:
                if (!value->is_string() || !is_iso_date(value->get_string()))
                    add_message(v.messages, rule.name, "The " + a + " is not a valid date.");
                else
                    v.record[rule.name] = *value;
                break;
            case FieldKind::color: {
                bool valid = value->is_string();
                if (valid) {
                    std::string_view s = value->get_string();
                    valid = s.size() == 7 && s[0] == '#' && std::all_of(s.begin() + 1, s.end(), [](char c) {
                                return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                            });
                }
                if (valid)
                    v.record[rule.name] = *value;
                else if (!value->is_string())
                    add_message(v.messages, rule.name, "The " + a + " field must be a string.");
                else
                    add_message(v.messages, rule.name, "The " + a + " format is invalid.");
                break;
            }
            case FieldKind::string_array: {
                if (!value->is_array()) {
                    add_message(v.messages, rule.name, "The " + a + " must be an array.");
                    break;
                }
                bool valid = true;
                const auto& arr = value->get_array();
                for (std::size_t i = 0; i < arr.size(); ++i) {
                    if (arr[i].is_string()) continue;
                    const std::string key = rule.name + "." + std::to_string(i);
                    add_message(v.messages, key, "The " + attribute(key) + " field must be a string.");
                    valid = false;
                }
                if (valid) v.record[rule.name] = *value;
                break;
            }
        }
    }
    return v;
}

}  // namespace example
