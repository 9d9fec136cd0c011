// Typed, error-collecting reads of yaml-cpp nodes for the loader. Internal to
// config/: nothing outside the loader sees yaml-cpp.
//
// Every read that fails records a ConfigError at the node's mark, naming the
// key path ("routes[2].ttl"), and returns false so the loader can go on and
// report the next problem too. Nothing here throws: only scalar nodes are
// converted, and only with the non-throwing Scalar().
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/loader.h"

namespace larder::config {

class NodeReader {
 public:
  explicit NodeReader(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Node& at, const std::string& path, std::string_view message);
  void error(const YAML::Mark& at, std::string message);
  bool hasErrors() const { return !errors_.empty(); }
  // Sorted by position, so the report reads top to bottom like the file.
  std::vector<ConfigError> takeErrors();
  // Valid but suspicious: reported, never a reason to refuse the file.
  void warning(const YAML::Node& at, const std::string& path, std::string_view message);
  // Sorted like takeErrors().
  std::vector<ConfigError> takeWarnings();

  bool readString(const YAML::Node& node, const std::string& path, std::string& out);
  bool readNonEmptyString(const YAML::Node& node, const std::string& path, std::string& out);
  bool readBool(const YAML::Node& node, const std::string& path, bool& out);
  bool readUnsigned(const YAML::Node& node, const std::string& path, uint64_t min, uint64_t max,
                    unsigned& out);
  bool readDuration(const YAML::Node& node, const std::string& path, Duration& out);
  // Same, and the value must be above zero.
  bool readPositiveDuration(const YAML::Node& node, const std::string& path, Duration& out);
  bool readSize(const YAML::Node& node, const std::string& path, uint64_t& out);
  bool readAddress(const YAML::Node& node, const std::string& path, Address& out);
  // A list of scalars; `items` gets each one with its node, for per-item checks.
  bool readStringList(const YAML::Node& node, const std::string& path,
                      std::vector<std::pair<std::string, YAML::Node>>& items);
  // True when the node is a scalar; records "expected WHAT, got a list" otherwise.
  bool expectScalar(const YAML::Node& node, const std::string& path, std::string_view what);
  // An empty value ("key:") has its mark where the next line starts; errors
  // about it point at its key instead.
  void setNullValueMark(const YAML::Node& value, const YAML::Mark& key_mark);

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
  std::vector<ConfigError> warnings_;
  // Empty values by their own mark's position: (value, its key's mark).
  std::unordered_map<int, std::vector<std::pair<YAML::Node, YAML::Mark>>> null_marks_;
};

// One YAML mapping of the schema. take() hands out known keys; finish()
// reports every key nobody took as unknown, so no option is silently ignored.
class MapReader {
 public:
  // Records an error and reads as empty when `node` is not a mapping. A
  // missing or null node reads as an empty mapping (all defaults).
  MapReader(NodeReader& reader, const YAML::Node& node, std::string path);
  ~MapReader() { finish(); }
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  bool isMap() const { return is_map_; }
  std::optional<YAML::Node> take(std::string_view key);
  bool has(std::string_view key) const;
  std::string pathOf(std::string_view key) const;
  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }
  void finish();

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
    bool taken = false;
  };
  NodeReader& reader_;
  YAML::Node node_;
  std::string path_;
  std::vector<Entry> entries_;
  std::vector<std::string> known_;
  bool is_map_ = false;
  bool finished_ = false;
};

}  // namespace larder::config
