# The Debian package: `make deb` (or `cpack -G DEB` in a build directory).
# Installs /usr/bin/larder, /etc/larder/larder.yaml (a conffile), the systemd
# unit, the man page, the docs and the Grafana dashboard (/usr/share/larder/
# grafana/); maintainer scripts in packaging/debian/ create the larder system
# user and tell systemd, when it runs, about the unit.

option(LARDER_INSTALL_SYSTEM_FILES
       "Install /etc/larder and /lib/systemd/system files at their absolute paths (packaging)" ON)

# `cpack` installs what is already built instead of rebuilding every target
# (the tests included) first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

set(LARDER_PACKAGE_DIR ${CMAKE_SOURCE_DIR}/packaging)

# The man page, compressed as Debian policy wants it.
set(LARDER_MAN_GZ ${CMAKE_BINARY_DIR}/packaging/larder.1.gz)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/packaging)
add_custom_command(
  OUTPUT ${LARDER_MAN_GZ}
  COMMAND gzip -9nc ${LARDER_PACKAGE_DIR}/larder.1 > ${LARDER_MAN_GZ}
  DEPENDS ${LARDER_PACKAGE_DIR}/larder.1
  COMMENT "Compressing the man page")
add_custom_target(larder_man ALL DEPENDS ${LARDER_MAN_GZ})

install(FILES ${LARDER_MAN_GZ} DESTINATION share/man/man1)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/conf/larder.yaml
              ${LARDER_PACKAGE_DIR}/debian/copyright
        DESTINATION share/doc/larder)
# The Grafana dashboard (issue 15): imported by hand or provisioned from here.
install(FILES ${LARDER_PACKAGE_DIR}/grafana/larder-dashboard.json DESTINATION share/larder/grafana)
if(LARDER_INSTALL_SYSTEM_FILES)
  install(FILES ${CMAKE_SOURCE_DIR}/conf/larder.yaml DESTINATION /etc/larder
          PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  install(FILES ${CMAKE_SOURCE_DIR}/systemd/larder.service DESTINATION /lib/systemd/system)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME larder)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "larder")
set(CPACK_PACKAGE_CONTACT "larder maintainers <larder@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "caching reverse proxy for HTTP APIs, with a shared Redis cache")
set(CPACK_PACKAGE_DESCRIPTION
    "larder stands in front of an HTTP API, answers repeated reads from a shared \
Redis cache (or its in-memory store), forwards the rest, and invalidates \
cached reads when writes succeed. The rules live in one YAML file.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_FILE_NAME "larder_${PROJECT_VERSION}_${CMAKE_SYSTEM_PROCESSOR}")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION web)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/larder/larder")
# dpkg-shlibdeps derives the library packages (libuv1, libhiredis0.14,
# libyaml-cpp0.7, libfmt9, libdeflate0, libzstd1, libtcmalloc-minimal4, libstdc++6, libc6) from the binary.
find_program(LARDER_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(LARDER_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libuv1 (>= 1.44), libhiredis0.14, libyaml-cpp0.7, libfmt9, libssl3, libdeflate0, libzstd1, libtcmalloc-minimal4, libstdc++6, libc6")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "redis-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${LARDER_PACKAGE_DIR}/debian/conffiles
    ${LARDER_PACKAGE_DIR}/debian/postinst
    ${LARDER_PACKAGE_DIR}/debian/prerm
    ${LARDER_PACKAGE_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
