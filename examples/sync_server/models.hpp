#pragma once
// The example server's models and their validation rules. Messages follow Laravel's
// wording because that is what Tether clients (and the dashboard's failure grouping)
// are used to seeing: {"title": ["The title field is required."]}.
#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace example {

enum class FieldKind {
    string,        ///< JSON string, optional max length (in characters, not bytes)
    boolean,       ///< true/false; Laravel also accepts 0/1 and "0"/"1" (stored as bool)
    date,          ///< ISO-8601 date "YYYY-MM-DD" or date-time "YYYY-MM-DDTHH:MM[:SS[.f]](Z|+HH:MM)"
    color,         ///< string "#RRGGBB"
    string_array,  ///< array of strings
};

struct FieldRule {
    std::string name;
    FieldKind kind = FieldKind::string;
    bool required = false;
    std::size_t max_length = 0;  ///< 0 = no limit (strings only)
};

struct ModelSpec {
    std::string name;
    std::vector<FieldRule> fields;
};

/// Outcome of validating one payload: Laravel-style messages per field, and the payload
/// reduced to the declared fields (unknown keys are dropped, like Laravel's validated()).
struct Validation {
    boost::json::object messages;
    boost::json::object record;
    bool ok() const noexcept { return messages.empty(); }
};

class ModelRegistry {
public:
    /// Task, Project and Note as described in README.md.
    static ModelRegistry standard();

    void add(ModelSpec spec);
    const ModelSpec* find(std::string_view name) const noexcept;
    /// "Note, Project, Task" — for error messages naming what was expected.
    std::string names() const;

private:
    std::vector<ModelSpec> models_;
};

/// Validate a create/update payload (a JSON object) against the model's rules.
Validation validate(const ModelSpec& model, const boost::json::object& payload);

/// Number of Unicode code points in UTF-8 text (what Laravel's max:N counts).
std::size_t utf8_length(std::string_view s) noexcept;
bool is_iso_date(std::string_view s) noexcept;

}  // namespace example
