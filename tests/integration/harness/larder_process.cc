#include "harness/larder_process.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/harness_error.h"
#include "harness/ports.h"
#include "harness/rss_sampler.h"

namespace larder::test {
namespace {

// The first line of text that starts (at column 0) with "key:".
std::optional<std::string> topLevelLine(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      return std::string(line);
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::string larderBinary() {
  if (const char* env = std::getenv("LARDER_BINARY"); env && *env) return env;
  return LARDER_BINARY;
}

bool larderIsSanitized() {
  const char* env = std::getenv("LARDER_SANITIZED");
  return env != nullptr && std::string_view(env) == "1";
}

LarderConfig buildLarderConfig(std::string_view fragment) {
  LarderConfig config;
  if (auto listen = topLevelLine(fragment, "listen")) {
    std::smatch match;
    if (!std::regex_search(*listen, match, std::regex(R"(:(\d+)\s*(#.*)?$)"))) {
      throw HarnessError("cannot find the port in the fragment's '" + *listen + "'");
    }
    config.port = static_cast<uint16_t>(std::stoi(match[1]));
  } else {
    config.port = freePort();
    config.text += fmt::format("listen: 127.0.0.1:{}\n", config.port);
  }
  if (!topLevelLine(fragment, "admin")) config.text += "admin: { listen: off }\n";
  config.text += fragment;
  if (!config.text.empty() && config.text.back() != '\n') config.text += '\n';
  return config;
}

std::string proxyConfig(uint16_t upstream_port, std::string_view extra, std::string_view response_timeout,
                        std::string_view connect_timeout) {
  std::string text = fmt::format(
      "workers: 1\n"
      "upstream:\n"
      "  servers: [127.0.0.1:{}]\n"
      "  connect_timeout: {}\n"
      "  response_timeout: {}\n"
      "log: {{ level: info }}\n",
      upstream_port, connect_timeout, response_timeout);
  text += extra;
  return text;
}

LarderProcess::LarderProcess(std::string_view config_fragment, LarderOptions options) {
  LarderConfig config = buildLarderConfig(config_fragment);
  port_ = config.port;
  config_text_ = std::move(config.text);
  config_path_ = dir_.writeFile("larder.yaml", config_text_);
  std::vector<std::string> argv = {options.binary.empty() ? larderBinary() : options.binary, "-c",
                                   config_path_.string()};
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  process_ = std::make_unique<Process>(argv, options.env);
  waitListening(options.start_timeout);
}

LarderProcess::~LarderProcess() {
  if (process_) stopAndCheck();
}

void LarderProcess::stopAndCheck() {
  // Only a process that exits by itself runs LeakSanitizer's exit check, and
  // a sanitized build is slow to drain: it gets SIGTERM and a while first.
  if (process_->isRunning() && isSanitized(process_->pid()) && process_->signal(SIGTERM) &&
      !process_->waitExit(20s)) {
    MESSAGE("larder did not exit within 20s of SIGTERM: killed, no leak check");
  }
  process_->kill();
  checkSanitizerReports(stderrText(), "larder");
}

std::string findSanitizerReport(std::string_view stderr_text) {
  static constexpr std::string_view kMarkers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                                  "runtime error:", "WARNING: ThreadSanitizer"};
  size_t first = std::string_view::npos;
  for (std::string_view marker : kMarkers) first = std::min(first, stderr_text.find(marker));
  if (first == std::string_view::npos) return {};
  size_t begin = stderr_text.rfind('\n', first);
  begin = begin == std::string_view::npos ? 0 : begin + 1;
  return std::string(stderr_text.substr(begin, 6000));
}

void checkSanitizerReports(std::string_view stderr_text, std::string_view what) {
  std::string report = findSanitizerReport(stderr_text);
  if (!report.empty()) FAIL_CHECK(fmt::format("{} printed a sanitizer report:\n{}", what, report));
}

bool LarderProcess::terminate() { return process_->signal(SIGTERM); }

void LarderProcess::waitListening(Millis timeout) {
  Deadline deadline = deadlineIn(timeout);
  for (;;) {
    if (auto status = process_->waitExit(0ms)) {
      throw HarnessError(fmt::format("larder exited with status {} before listening on port {}.\nconfig:\n{}stderr:\n{}",
                                     *status, port_, config_text_, stderrText()));
    }
    if (acceptsConnections(port_, 200ms)) return;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  throw HarnessError(fmt::format("larder did not listen on port {} within {} ms.\nconfig:\n{}stderr:\n{}", port_,
                                 timeout.count(), config_text_, stderrText()));
}

CommandResult runLarder(std::vector<std::string> args, Millis timeout) {
  args.insert(args.begin(), larderBinary());
  Process process(args);
  CommandResult result;
  result.exit_code = process.waitExit(timeout);
  if (!result.exit_code) process.kill();
  result.stdout_text = process.stdoutText();
  result.stderr_text = process.stderrText();
  checkSanitizerReports(result.stderr_text, fmt::format("{}", fmt::join(args, " ")));
  return result;
}

CommandResult checkConfig(const std::filesystem::path& file, Millis timeout) {
  return runLarder({"--check-config", "-c", file.string()}, timeout);
}

}  // namespace larder::test
