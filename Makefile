# The two commands of the README: `make run` and `make test`.
# Both install missing Debian packages first (.ci/install-deps).
BUILD_DIR ?= build
DEBUG_DIR ?= build-debug
JOBS ?= $(shell nproc)
CONFIG ?= conf/larder.yaml

.PHONY: all deps run test test-debug test-asan test-tsan test-tsan-quick fuzz-smoke deb clean

all: $(BUILD_DIR)/larder

deps:
	@.ci/install-deps build

$(BUILD_DIR)/larder: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: $(BUILD_DIR)/larder
	$(BUILD_DIR)/larder -c $(CONFIG)

test:
	@.ci/install-deps test
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j $(JOBS)
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer
# (LeakSanitizer runs when larder exits: the harness fails a test on any
# sanitizer report in larder's stderr): the unit tests built sanitized, and
# the release tree's integration tests (built there if need be, compiled once
# for both runs) against the sanitized larder. Not the .deb test, which runs
# dpkg, nor the layering and dashboard checks, which compile nothing.
test-asan:
	@.ci/install-deps test
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j $(JOBS)
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLARDER_SANITIZE=ON -DLARDER_INTEGRATION_TESTS=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L unit
	cd $(BUILD_DIR) && LARDER_BINARY=$(abspath build-asan/larder) LARDER_SANITIZED=1 ctest --output-on-failure -j $(JOBS) -L integration

# The same suite under ThreadSanitizer, in its own build dir (a data race in
# a unit test fails it through TSan's exit code, in larder through the
# harness's scan of its stderr). Not the .deb test, which runs dpkg.
test-tsan:
	@.ci/install-deps test
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DLARDER_TSAN=ON
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -LE packaging

# A ThreadSanitizer run sized for CI (.ci/run runs it when CI_TSAN=1): the
# unit tests of the modules where threads meet (not config and http, pure
# single-threaded parsing: a quarter of the compile and, for config's
# 200k-route test, most of the run), and the integration tests of several
# workers on one fill, invalidations and the backlog, and the shutdown and
# reload posts to workers. Only their targets are built. The whole suite
# under TSan is `make test-tsan`.
TSAN_UNITS ?= base net cache store proxy upstream admin
TSAN_INTEGRATION ?= cache_stampede cache_fill cache_fleet_fill cache_invalidation proxy_lifecycle ops_reload
empty :=
space := $(empty) $(empty)
test-tsan-quick:
	@.ci/install-deps test
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DLARDER_TSAN=ON
	cmake --build build-tsan -j $(JOBS) --target larder $(addprefix unit_,$(TSAN_UNITS)) \
	  $(addprefix it_,$(TSAN_INTEGRATION))
	cd build-tsan && ctest --output-on-failure -j $(JOBS) \
	  -R '^(unit\.($(subst $(space),|,$(TSAN_UNITS)))|integration\.($(subst $(space),|,$(TSAN_INTEGRATION))))$$'

# Every libFuzzer target for FUZZ_SECONDS from its seed corpus (needs clang).
FUZZ_SECONDS ?= 20
fuzz-smoke:
	@.ci/install-deps fuzz
	JOBS=$(JOBS) tests/fuzz/run_smoke.sh $(FUZZ_SECONDS)

# The Debian package (packaging/cpack.cmake): $(BUILD_DIR)/larder_<version>_<arch>.deb
deb: $(BUILD_DIR)/larder
	cd $(BUILD_DIR) && cpack -G DEB

clean:
	rm -rf $(BUILD_DIR) $(DEBUG_DIR) build-asan build-tsan build-fuzz
