#include "tether/errors.hpp"
#include "tether/sqlite_storage.hpp"

namespace tether {

std::shared_ptr<Storage> open_storage(const StorageConfig& config) {
    const std::string& url = config.url;
    if (url == "memory") return make_memory_storage();
    std::string path = url;
    if (url.rfind("sqlite:", 0) == 0) {
        path = url.substr(7);
        if (path.rfind("//", 0) == 0) path = path.substr(2);  // sqlite:///abs/path or sqlite://rel
    } else if (url.find("://") != std::string::npos) {
        throw ConfigError("storage.url", "\"memory\", \"sqlite:PATH\" or a file path",
                          "'" + url.substr(0, url.find("://")) + "' storage is not built into this program");
    }
    if (path.empty()) throw ConfigError("storage.url", "a non-empty SQLite file path");
    SqliteOptions options;
    options.path = path;
    options.busy_timeout = config.busy_timeout;
    return open_sqlite_storage(options);
}

}  // namespace tether
