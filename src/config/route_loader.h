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

// Appends each valid route in order; errors go to `reader`. Each route's
// pattern matches by `matching` (reads or writes, by the route's kind) unless
// the route sets trailing_slash: or case: itself.
void loadRoutes(NodeReader& reader, const YAML::Node& node, const RouteMatchingConfig& matching,
                std::vector<Route>& routes);
// The `route_matching:` section: { reads: RULE, writes: RULE }.
void loadRouteMatching(NodeReader& reader, const YAML::Node& node, RouteMatchingConfig& out);
// A RULE's keys in `m`, on top of `out`: trailing_slash: ignore|strict,
// case: insensitive|sensitive.
bool loadPathMatching(NodeReader& reader, MapReader& m, PathMatching& out);

}  // namespace larder::config
