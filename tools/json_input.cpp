#include "json_input.hpp"

#include "cli.hpp"
#include "detail/json.hpp"

namespace tether::cli {

boost::json::value parse_json_input(std::string_view text, const std::string& name) {
    ParseFailure failure;
    auto value = detail::try_parse(text, &failure);
    if (!value) {
        std::string reason = failure.message;
        if (reason.find("depth") != std::string::npos)
            reason += " (nesting deeper than " + std::to_string(detail::max_json_depth) + " levels is refused)";
        fail(exit_input, name + ": invalid JSON at line " + std::to_string(failure.line) + ", column " +
                             std::to_string(failure.column) + " (byte " + std::to_string(failure.offset) +
                             "): " + reason);
    }
    return std::move(*value);
}

std::string json_text(const boost::json::value& value) { return detail::to_text(value); }

}  // namespace tether::cli
