#include "tether/errors.hpp"
#include "tether/sqlite_storage.hpp"

namespace tether {

SqliteOptions sqlite_options_from_url(const std::string& url, std::chrono::milliseconds busy_timeout) {
    std::string path = url;
    if (url.rfind("sqlite:", 0) == 0) {
        path = url.substr(7);
        if (path.rfind("//", 0) == 0) path = path.substr(2);  // sqlite:///abs/path or sqlite://rel
    } else if (url.find("://") != std::string::npos) {
        throw ConfigError("storage.url", "\"sqlite:PATH\" or a file path",
                          "'" + url.substr(0, url.find("://")) + "' is not a SQLite URL");
    }
    if (path.empty()) throw ConfigError("storage.url", "a non-empty SQLite file path");
    SqliteOptions options;
    options.path = path;
    options.busy_timeout = busy_timeout;
    return options;
}

}  // namespace tether
