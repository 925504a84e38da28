#pragma once
// Everything in tether::core.
#include "tether/clock.hpp"
#include "tether/config.hpp"
#include "tether/differ.hpp"
#include "tether/errors.hpp"
#include "tether/exchange.hpp"
#include "tether/ids.hpp"
#include "tether/observer.hpp"
#include "tether/recorder.hpp"
#include "tether/records.hpp"
#include "tether/redactor.hpp"
#include "tether/storage.hpp"
#include "tether/version.hpp"
