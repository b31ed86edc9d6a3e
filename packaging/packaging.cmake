# Installing the daemons as a Debian system would have them (`cmake --install`) and the Debian
# packages CPack builds from the same rules (`cpack` in the build directory, or
# `cmake --build build --target package`):
#   kedro-eventd        kedro-eventd, kedro-eventd-supervisor, its unit, /etc/default/kedro-eventd
#   kedro-event-shim    kedro-event-shim, its unit, /etc/default/kedro-event-shim
#   kedro-events        the kedro-events CLI and libkedroevents.so.0
#   libkedroevents-dev  kedroevents.h, libkedroevents.so (link), libkedroevents.a, kedroevents.pc
# Configure with -DCMAKE_INSTALL_PREFIX=/usr for packages (the units and /etc paths follow the
# prefix; /usr/local is cmake's default).
include(GNUInstallDirs)

# Where units go: systemd's own answer (pkg-config systemd), else Debian's /lib/systemd/system.
pkg_get_variable(KE_PC_UNIT_DIR systemd systemdsystemunitdir)
if(NOT KE_PC_UNIT_DIR)
  set(KE_PC_UNIT_DIR /lib/systemd/system)
endif()
set(KE_SYSTEMD_UNIT_DIR "${KE_PC_UNIT_DIR}" CACHE PATH "Where the systemd units are installed")
set(KE_DOCDIR "${CMAKE_INSTALL_DATAROOTDIR}/doc/kedro-events")
set(KE_DOCDIR_FULL "${CMAKE_INSTALL_PREFIX}/${KE_DOCDIR}")
# /etc for /usr (GNUInstallDirs), <prefix>/etc otherwise.
set(KE_DEFAULTS_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/default")

# ---- the daemons. kedro-eventd runs the kedro-eventd-supervisor beside its own executable
# (server/forward_local.c): both go to bin/, so an installed tree works as the build tree does.
install(TARGETS kedro-eventd kedro-eventd-supervisor COMPONENT eventd
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(unit kedro-eventd kedro-event-shim)
  configure_file(${CMAKE_SOURCE_DIR}/packaging/systemd/${unit}.service.in
                 ${CMAKE_BINARY_DIR}/packaging/${unit}.service @ONLY)
endforeach()
install(FILES ${CMAKE_BINARY_DIR}/packaging/kedro-eventd.service COMPONENT eventd
        DESTINATION ${KE_SYSTEMD_UNIT_DIR})
install(FILES ${CMAKE_BINARY_DIR}/packaging/kedro-event-shim.service COMPONENT shim
        DESTINATION ${KE_SYSTEMD_UNIT_DIR})
install(FILES packaging/default/kedro-eventd COMPONENT eventd DESTINATION ${KE_DEFAULTS_DIR})
install(FILES packaging/default/kedro-event-shim COMPONENT shim DESTINATION ${KE_DEFAULTS_DIR})
install(FILES docs/operating.md docs/architecture.md docs/kedro-graphql.md COMPONENT eventd
        DESTINATION ${KE_DOCDIR})
install(FILES docs/shim.md COMPONENT shim DESTINATION ${KE_DOCDIR})
install(FILES README.md docs/client.md COMPONENT cli DESTINATION ${KE_DOCDIR})

# ---- Debian packages
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kedro-events)
set(CPACK_PACKAGE_VENDOR "kedro-events")
set(CPACK_PACKAGE_CONTACT "kedro-events maintainers <kedro-events@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL eventd shim cli dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)         # Depends from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)   # libkedroevents.so.0's shlibs and ldconfig
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(KE_DEB_VERSION "${PROJECT_VERSION}")

set(CPACK_DEBIAN_EVENTD_PACKAGE_NAME kedro-eventd)
set(CPACK_COMPONENT_EVENTD_DESCRIPTION
    "kedro-events server: CloudEvents that start Kedro pipelines (gRPC)\n kedro-eventd serves kedro.events.v1.EventService: every CloudEvent whose source and\n type match the event configuration starts a run of that Kedro pipeline. A systemd\n unit (Type=notify) runs it as the kedro-events user with its data in\n /var/lib/kedro-events.")
set(CPACK_DEBIAN_EVENTD_PACKAGE_DEPENDS "passwd, procps, init-system-helpers (>= 1.52)")
set(CPACK_DEBIAN_SHIM_PACKAGE_NAME kedro-event-shim)
set(CPACK_COMPONENT_SHIM_DESCRIPTION
    "kedro-events HTTP shim: kedro-graphql's POST /event/ in front of kedro-eventd\n kedro-event-shim serves the CloudEvents HTTP binding and forwards each event to\n kedro-eventd over gRPC. A systemd unit (Type=notify) runs it.")
set(CPACK_DEBIAN_SHIM_PACKAGE_DEPENDS "passwd, procps, init-system-helpers (>= 1.52)")
set(CPACK_DEBIAN_SHIM_PACKAGE_RECOMMENDS "kedro-eventd")
set(CPACK_DEBIAN_CLI_PACKAGE_NAME kedro-events)
set(CPACK_COMPONENT_CLI_DESCRIPTION
    "kedro-events command line and client library\n kedro-events sends CloudEvents to kedro-eventd and reads its pipelines;\n libkedroevents is the C library it is built on.")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libkedroevents-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "kedro-events client library: development files\n The header, pkg-config file and static library of libkedroevents.")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "kedro-events (= ${KE_DEB_VERSION}), libgrpc-dev, libcjson-dev, uuid-dev, libnanopb-dev")

# Maintainer scripts (enable and start the unit when systemd runs; stop and mask on removal)
# and the /etc/default file as a conffile, per daemon package.
foreach(pair "eventd;kedro-eventd;kedro-eventd" "shim;kedro-event-shim;kedro-event-shim")
  list(GET pair 0 comp)
  list(GET pair 1 PKG)
  list(GET pair 2 name)
  set(UNIT ${name}.service)
  set(dir ${CMAKE_BINARY_DIR}/packaging/${PKG})
  foreach(script postinst prerm postrm)
    configure_file(${CMAKE_SOURCE_DIR}/packaging/debian/${script}.in ${dir}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                    WORLD_READ WORLD_EXECUTE)
  endforeach()
  file(WRITE ${dir}/conffiles "${KE_DEFAULTS_DIR}/${name}\n")
  string(TOUPPER ${comp} COMP)
  set(CPACK_DEBIAN_${COMP}_PACKAGE_CONTROL_EXTRA
      "${dir}/postinst;${dir}/prerm;${dir}/postrm;${dir}/conffiles")
endforeach()

include(CPack)
