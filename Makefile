# The two commands of the README: `make run` and `make test`.
# Both install missing Debian packages first (.ci/install-deps).
BUILD_DIR ?= build
DEBUG_DIR ?= build-debug
JOBS ?= $(shell nproc)
CONFIG ?= conf/larder.yaml

.PHONY: all deps run test test-debug deb clean

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

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	@.ci/install-deps test
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLARDER_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# The Debian package (packaging/cpack.cmake): $(BUILD_DIR)/larder_<version>_<arch>.deb
deb: $(BUILD_DIR)/larder
	cd $(BUILD_DIR) && cpack -G DEB

clean:
	rm -rf $(BUILD_DIR) $(DEBUG_DIR) build-asan
