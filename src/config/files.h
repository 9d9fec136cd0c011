// Files the configuration names (secrets, CA bundles), read at load and
// reload with the same checks: a regular file, no larger than the caller's
// bound, so a path pointing at a device or a huge file fails the load with
// a reason instead of blocking or exhausting memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace larder::config {

// Reads `path` whole into `out`. On failure, `error` says why; `what`
// names the file's role in the "too large for a ..." message.
bool readRegularFile(const std::string& path, uint64_t max_size, std::string_view what, std::string& out,
                     std::string& error);

// A secret such as a password or token (at most 64 KiB): trailing newlines
// stripped (editors add one; no secret ends in one); empty is an error.
bool readSecretFile(const std::string& path, std::string& out, std::string& error);

}  // namespace larder::config
