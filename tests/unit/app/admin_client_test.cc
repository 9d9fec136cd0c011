#include "app/admin_client.h"

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace larder::app {
namespace {

// argv as the commands get it: "larder", the command, then the options.
struct Args {
  explicit Args(std::initializer_list<const char*> items) {
    for (const char* item : items) storage.emplace_back(item);
    for (auto& item : storage) pointers.push_back(item.data());
  }
  int argc() const { return static_cast<int>(pointers.size()); }
  char** argv() { return pointers.data(); }
  std::vector<std::string> storage;
  std::vector<char*> pointers;
};

}  // namespace

TEST_CASE("admin options: each flag takes its value and moves past it") {
  Args args{"larder", "purge", "--admin", "127.0.0.1:9", "--token-file", "/t", "-c", "/c.yaml", "all"};
  AdminOptions options;
  std::string problem;
  int i = 2;
  CHECK(takeAdminOption(args.argc(), args.argv(), i, options, problem));
  CHECK(i == 3);
  CHECK(takeAdminOption(args.argc(), args.argv(), ++i, options, problem));
  CHECK(takeAdminOption(args.argc(), args.argv(), ++i, options, problem));
  CHECK(problem.empty());
  CHECK(options.admin == "127.0.0.1:9");
  CHECK(options.token_file == "/t");
  CHECK(options.config_path == "/c.yaml");
  CHECK_FALSE(takeAdminOption(args.argc(), args.argv(), ++i, options, problem));  // "all" is not one
}

TEST_CASE("admin options: a flag without its value is a problem, not a crash") {
  for (const char* flag : {"--admin", "--token-file", "-c", "--config"}) {
    Args args{"larder", "explain", flag};
    AdminOptions options;
    std::string problem;
    int i = 2;
    CHECK(takeAdminOption(args.argc(), args.argv(), i, options, problem));
    CHECK_FALSE(problem.empty());
    CHECK(i == 2);
  }
}

TEST_CASE("a JSON answer's string field, unescaped; absent or unterminated gives nothing") {
  CHECK(jsonStringField(R"({"ok":true,"warning":"say \"hi\" \\ there"})", "warning") == R"(say "hi" \ there)");
  CHECK(jsonStringField(R"({"error":"no url"})", "error") == "no url");
  CHECK(jsonStringField(R"({"error":""})", "error") == "");
  CHECK_FALSE(jsonStringField(R"({"ok":true})", "warning"));
  CHECK_FALSE(jsonStringField(R"({"error":"cut short)", "error"));
  CHECK_FALSE(jsonStringField("", "error"));
  CHECK_FALSE(jsonStringField(R"({"error":"trailing \)", "error"));
}

}  // namespace larder::app
