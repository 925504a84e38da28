#pragma once
// Library version, bumped on every release.
#define TETHER_VERSION_MAJOR 0
#define TETHER_VERSION_MINOR 1
#define TETHER_VERSION_PATCH 0
#define TETHER_VERSION_STRING "0.1.0"
