#include "config/node_reader.h"

#include <algorithm>

#include "config/units.h"

namespace larder::config {

namespace {

std::string_view describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

void NodeReader::error(const YAML::Node& at, const std::string& path, std::string_view message) {
  YAML::Mark mark = at.Mark();
  if (at.IsNull()) {
    // Filed by position, so that an error costs the same however many empty
    // values the file has (the loader stays linear).
    auto found = null_marks_.find(mark.pos);
    if (found != null_marks_.end()) {
      for (const auto& [value, key_mark] : found->second) {
        if (value.is(at)) mark = key_mark;
      }
    }
  }
  error(mark, path.empty() ? std::string(message) : path + ": " + std::string(message));
}

void NodeReader::setNullValueMark(const YAML::Node& value, const YAML::Mark& key_mark) {
  null_marks_[value.Mark().pos].emplace_back(value, key_mark);
}

void NodeReader::error(const YAML::Mark& at, std::string message) {
  // yaml-cpp marks are 0-based, and -1 when the node has no position.
  errors_.push_back({file_, at.line >= 0 ? at.line + 1 : 0, at.column >= 0 ? at.column + 1 : 0,
                     std::move(message)});
}

void NodeReader::warning(const YAML::Node& at, const std::string& path, std::string_view message) {
  const YAML::Mark mark = at.Mark();
  warnings_.push_back({file_, mark.line >= 0 ? mark.line + 1 : 0,
                       mark.column >= 0 ? mark.column + 1 : 0,
                       path.empty() ? std::string(message) : path + ": " + std::string(message)});
}

std::vector<ConfigError> NodeReader::takeWarnings() {
  std::stable_sort(warnings_.begin(), warnings_.end(), [](const ConfigError& a, const ConfigError& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  return std::move(warnings_);
}

std::vector<ConfigError> NodeReader::takeErrors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  return std::move(errors_);
}

bool NodeReader::expectScalar(const YAML::Node& node, const std::string& path,
                              std::string_view what) {
  if (node.IsScalar()) return true;
  error(node, path, "expected " + std::string(what) + ", got " + std::string(describe(node)));
  return false;
}

bool NodeReader::readString(const YAML::Node& node, const std::string& path, std::string& out) {
  if (!expectScalar(node, path, "a string")) return false;
  out = node.Scalar();
  return true;
}

bool NodeReader::readNonEmptyString(const YAML::Node& node, const std::string& path,
                                    std::string& out) {
  std::string value;
  if (!readString(node, path, value)) return false;
  if (value.empty()) {
    error(node, path, "must not be empty");
    return false;
  }
  out = std::move(value);
  return true;
}

bool NodeReader::readBool(const YAML::Node& node, const std::string& path, bool& out) {
  if (!expectScalar(node, path, "true or false")) return false;
  // YAML 1.2 core schema spellings only; "yes"/"on" are strings there.
  const std::string& text = node.Scalar();
  if (text == "true" || text == "True" || text == "TRUE") {
    out = true;
  } else if (text == "false" || text == "False" || text == "FALSE") {
    out = false;
  } else {
    error(node, path, "expected true or false, got " + quote(text));
    return false;
  }
  return true;
}

bool NodeReader::readUnsigned(const YAML::Node& node, const std::string& path, uint64_t min,
                              uint64_t max, unsigned& out) {
  if (!expectScalar(node, path, "a number")) return false;
  uint64_t value = 0;
  if (!parseUnsigned(node.Scalar(), value)) {
    error(node, path, "expected a whole number, got " + quote(node.Scalar()));
    return false;
  }
  if (value < min || value > max) {
    error(node, path,
          "must be from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
              node.Scalar());
    return false;
  }
  out = static_cast<unsigned>(value);
  return true;
}

bool NodeReader::readDuration(const YAML::Node& node, const std::string& path, Duration& out) {
  if (!expectScalar(node, path, "a duration")) return false;
  auto parsed = parseDuration(node.Scalar());
  if (!parsed) {
    error(node, path, "invalid duration " + quote(node.Scalar()) + ": " + parsed.error());
    return false;
  }
  out = *parsed;
  return true;
}

bool NodeReader::readPositiveDuration(const YAML::Node& node, const std::string& path,
                                      Duration& out) {
  Duration value{};
  if (!readDuration(node, path, value)) return false;
  if (value <= Duration::zero()) {
    error(node, path, "must be greater than 0");
    return false;
  }
  out = value;
  return true;
}

bool NodeReader::readSize(const YAML::Node& node, const std::string& path, uint64_t& out) {
  if (!expectScalar(node, path, "a size")) return false;
  auto parsed = parseSize(node.Scalar());
  if (!parsed) {
    error(node, path, "invalid size " + quote(node.Scalar()) + ": " + parsed.error());
    return false;
  }
  out = *parsed;
  return true;
}

bool NodeReader::readAddress(const YAML::Node& node, const std::string& path, Address& out) {
  if (!expectScalar(node, path, "an address")) return false;
  auto parsed = parseAddress(node.Scalar());
  if (!parsed) {
    error(node, path, "invalid address " + quote(node.Scalar()) + ": " + parsed.error());
    return false;
  }
  out = std::move(*parsed);
  return true;
}

bool NodeReader::readStringList(const YAML::Node& node, const std::string& path,
                                std::vector<std::pair<std::string, YAML::Node>>& items) {
  if (!node.IsSequence()) {
    error(node, path, "expected a list, got " + std::string(describe(node)));
    return false;
  }
  bool ok = true;
  size_t index = 0;
  for (const YAML::Node& item : node) {
    const std::string item_path = path + "[" + std::to_string(index++) + "]";
    std::string value;
    if (!readNonEmptyString(item, item_path, value)) {
      ok = false;
      continue;
    }
    items.emplace_back(std::move(value), item);
  }
  return ok;
}

MapReader::MapReader(NodeReader& reader, const YAML::Node& node, std::string path)
    : reader_(reader), node_(node), path_(std::move(path)) {
  if (node.IsNull() || !node.IsDefined()) return;
  if (!node.IsMap()) {
    reader_.error(node, path_, "expected a mapping, got " + std::string(describe(node)));
    return;
  }
  is_map_ = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      reader_.error(key, path_, "keys must be strings, got " + std::string(describe(key)));
      continue;
    }
    // yaml-cpp keeps both entries of a duplicated key; the YAML spec forbids them.
    const bool duplicate = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& entry) {
      return entry.key == key.Scalar();
    });
    if (duplicate) {
      reader_.error(key, pathOf(key.Scalar()), "duplicate key");
      continue;
    }
    if (it->second.IsNull()) reader_.setNullValueMark(it->second, key.Mark());
    entries_.push_back({key.Scalar(), key, it->second, false});
  }
}

std::optional<YAML::Node> MapReader::take(std::string_view key) {
  known_.emplace_back(key);
  for (Entry& entry : entries_) {
    if (entry.key == key) {
      entry.taken = true;
      return entry.value;
    }
  }
  return std::nullopt;
}

bool MapReader::has(std::string_view key) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& entry) { return entry.key == key; });
}

std::string MapReader::pathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void MapReader::finish() {
  if (finished_) return;
  finished_ = true;
  for (const Entry& entry : entries_) {
    if (entry.taken) continue;
    std::string message = "unknown key " + pathOf(entry.key);
    const std::string* closest = nullptr;
    size_t best = 3;  // suggest only near misses: a typo, not another option
    for (const std::string& known : known_) {
      const size_t distance = editDistance(entry.key, known);
      if (distance < best) {
        best = distance;
        closest = &known;
      }
    }
    if (closest != nullptr) message += " (did you mean " + *closest + "?)";
    reader_.error(entry.key_node.Mark(), std::move(message));
  }
}

}  // namespace larder::config
