// The `routes:` list of the YAML schema, for the loader. Internal to config/.
// A route is a read route when all its methods are GET/HEAD (it needs a ttl
// and may carry the read keys) and a write route otherwise (it may carry
// `invalidates`). Keys of the other kind are errors, never ignored.
#pragma once

#include <yaml-cpp/yaml.h>

#include <vector>

#include "config/config.h"
#include "config/node_reader.h"

namespace larder::config {

// Appends each valid route in order; errors go to `reader`.
void loadRoutes(NodeReader& reader, const YAML::Node& node, std::vector<Route>& routes);

}  // namespace larder::config
