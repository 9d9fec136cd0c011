// The TLS side of `upstream`: servers written as URLs (https:// turns TLS
// on for that server) and the `upstream.tls` mapping. Internal to config/:
// the loader calls these while it reads `upstream`.
//
// Validation happens here, at load, so that `larder --check-config` and a
// reload refuse what the workers could not use: ca_file must be a readable
// file of PEM certificates (parsed with OpenSSL, as the workers will),
// server_name a host name.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "base/result.h"
#include "config/config.h"
#include "config/node_reader.h"

namespace larder::config {

// An upstream server as written: host:port, http://host[:port] (port 80),
// or https://host[:port] (port 443; Address::tls set). `has_scheme` tells
// whether a scheme was written, which upstream.tls does not override.
struct UpstreamServer {
  Address address;
  bool has_scheme = false;
};
base::Result<UpstreamServer, std::string> parseUpstreamServer(std::string_view text);

// Reads the upstream.tls mapping at `path` into `out`; errors and warnings
// (verify: false) go to `reader`. Returns false on any error.
bool loadUpstreamTls(NodeReader& reader, const YAML::Node& node, const std::string& path,
                     UpstreamTlsConfig& out);

// The number of PEM certificates in `pem`, or an error naming what OpenSSL
// could not parse.
base::Result<size_t, std::string> countPemCertificates(const std::string& pem);

}  // namespace larder::config
