// Checks across the whole `routes:` list, after each route loaded on its own.
// Internal to config/. Each runs in time linear in the number of routes (a
// few hash lookups per route), so --check-config stays fast on configs with
// hundreds of thousands of routes:
//  - error: a route with the same path text as an earlier one, and no method
//    that one lacks, can never match (first match wins): a copy-paste slip;
//  - warning: routes whose paths differ as written but match the same
//    requests once the matching rule (trailing_slash, case) and parameter
//    names are taken into account; the earlier one wins for the shared
//    methods;
//  - warning: a write route's `invalidates:` entry that names no namespace
//    of any read route (config/namespace_index.h): it invalidates nothing;
//  - error: two routes with the same name (issue 15: a metrics label).
#pragma once

#include <yaml-cpp/yaml.h>

#include <vector>

#include "config/config.h"
#include "config/node_reader.h"

namespace larder::config {

// `indexes[i]` is the position in the YAML list `node` of routes[i].
void checkRoutes(NodeReader& reader, const YAML::Node& node, const std::vector<Route>& routes,
                 const std::vector<size_t>& indexes);

}  // namespace larder::config
