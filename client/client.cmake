# libkedroevents (shared and static, with a pkg-config file and one installed header), the
# kedro-events command line, and the example program built against the installed library.

# The library's sources, compiled once (position-independent) for both libraries.
# Errors, base64, RFC 3339 and small text helpers: part of the library, and linked by the
# server too (ke_event), so both print instants and base64 the same way.
add_library(kec_text OBJECT client/errors.c client/text.c client/time.c client/json_check.c
            client/json_parse.c client/json_out.c client/tokens.c client/files.c)
set_target_properties(kec_text PROPERTIES POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
target_include_directories(kec_text PUBLIC ${CMAKE_SOURCE_DIR}/client/include ${CMAKE_SOURCE_DIR}/client)
target_link_libraries(kec_text PUBLIC PkgConfig::CJSON Threads::Threads)
add_library(kec_text_static STATIC $<TARGET_OBJECTS:kec_text>)
target_include_directories(kec_text_static PUBLIC ${CMAKE_SOURCE_DIR}/client/include
                           ${CMAKE_SOURCE_DIR}/client)
target_link_libraries(kec_text_static PUBLIC PkgConfig::CJSON Threads::Threads)

# The metrics registry (client/kec_metrics.h) of kedro-eventd and kedro-event-shim: not part of
# the library's API.
add_library(kec_metrics STATIC client/metrics.c)
target_include_directories(kec_metrics PUBLIC ${CMAKE_SOURCE_DIR}/client)
target_link_libraries(kec_metrics PUBLIC Threads::Threads m)
# The daemons' stderr log (client/kec_log.h): text or JSON lines, linked by kedro-eventd (through
# ke_base) and kedro-event-shim; not part of libkedroevents.
add_library(kec_log STATIC client/log.c)
target_include_directories(kec_log PUBLIC ${CMAKE_SOURCE_DIR}/client)
target_link_libraries(kec_log PUBLIC kec_text_static PkgConfig::CJSON Threads::Threads)

set(KEC_SOURCES
  client/event.c
  client/event_json.c
  client/pipeline.c
  client/pipeline_json.c
  client/stats.c
  client/codec.c
  client/codec_rpc.c
  client/client.c
  client/calls.c
  client/stream.c
  client/watch.c
  client/codec_logs.c
  client/logs.c)
add_library(kec_objects OBJECT ${KEC_SOURCES})
set_target_properties(kec_objects PROPERTIES POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
target_include_directories(kec_objects PUBLIC ${CMAKE_SOURCE_DIR}/client/include
                           PRIVATE ${CMAKE_SOURCE_DIR}/client)
target_link_libraries(kec_objects PUBLIC ke_gen_nanopb PkgConfig::GRPC PkgConfig::CJSON
                      PkgConfig::UUID Threads::Threads)
set_target_properties(ke_gen_nanopb PROPERTIES POSITION_INDEPENDENT_CODE ON)

add_library(kedroevents SHARED $<TARGET_OBJECTS:kec_objects> $<TARGET_OBJECTS:kec_text>)
add_library(kedroevents_static STATIC $<TARGET_OBJECTS:kec_objects> $<TARGET_OBJECTS:kec_text>)
foreach(t kedroevents kedroevents_static)
  target_include_directories(${t} PUBLIC ${CMAKE_SOURCE_DIR}/client/include)
  target_link_libraries(${t} PRIVATE ke_gen_nanopb PkgConfig::GRPC PkgConfig::CJSON
                        PkgConfig::UUID Threads::Threads m)
endforeach()
set_target_properties(kedroevents PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION 0)
# Symbols of the static archives linked in (nanopb) stay inside the shared library.
target_link_options(kedroevents PRIVATE -Wl,--exclude-libs,ALL -Wl,--no-undefined)
set_target_properties(kedroevents_static PROPERTIES OUTPUT_NAME kedroevents)
# What links the static library (the CLI, the shim, the tests) also needs its dependencies.
target_link_libraries(kedroevents_static INTERFACE ke_gen_nanopb PkgConfig::GRPC PkgConfig::CJSON
                      PkgConfig::UUID Threads::Threads m)

include(GNUInstallDirs)
# The .pc file finds the prefix from its own place: as many ".." as the libdir is deep
# (lib/x86_64-linux-gnu/pkgconfig on Debian with the /usr prefix).
file(RELATIVE_PATH KEC_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${CMAKE_SOURCE_DIR}/client/kedroevents.pc.in
               ${CMAKE_BINARY_DIR}/kedroevents.pc @ONLY)
# libkedroevents.so.0 goes with the CLI (package kedro-events); the .so link, the archive, the
# header and the .pc file are the development files (libkedroevents-dev).
install(TARGETS kedroevents COMPONENT cli
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT dev)
install(TARGETS kedroevents_static COMPONENT dev ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES client/include/kedroevents.h COMPONENT dev
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_BINARY_DIR}/kedroevents.pc COMPONENT dev
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# kedro-events: the command line.
add_executable(kedro-events
  client/cli/main.c
  client/cli/common.c
  client/cli/output.c
  client/cli/send.c
  client/cli/read.c
  client/cli/actions.c
  client/cli/logs.c
  client/cli/stats.c
  client/cli/bench.c
  client/cli/bench_rate.c
  client/cli/bench_report.c
  client/cli/histogram.c)
# client/: the shared modules' headers (kec_tokens.h; internal.h for kec_json_parse)
target_include_directories(kedro-events PRIVATE ${CMAKE_SOURCE_DIR}/client/cli
                           ${CMAKE_SOURCE_DIR}/client)
target_link_libraries(kedro-events PRIVATE kedroevents_static m)
install(TARGETS kedro-events COMPONENT cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The example, built as a user would build it: against the library installed (component dev)
# into build/stage and found with pkg-config. tests/integration/test_example_c.py runs it.
set(KEC_STAGE ${CMAKE_BINARY_DIR}/stage)
set(KEC_EXAMPLE_CFLAGS "")
if(KE_SANITIZE OR KE_FUZZ)
  set(KEC_EXAMPLE_CFLAGS "-fsanitize=address,undefined")
endif()
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/send_event
  # a fresh stage each time: a build reconfigured with another prefix (libdir) must not leave a
  # second kedroevents.pc behind
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${KEC_STAGE}
  COMMAND ${CMAKE_COMMAND} --install ${CMAKE_BINARY_DIR} --component dev --prefix ${KEC_STAGE}
  COMMAND ${CMAKE_COMMAND} --install ${CMAKE_BINARY_DIR} --component cli --prefix ${KEC_STAGE}
  COMMAND env CC=${CMAKE_C_COMPILER} ${CMAKE_SOURCE_DIR}/client/examples/build.sh ${KEC_STAGE}
          ${CMAKE_BINARY_DIR}/send_event "${KEC_EXAMPLE_CFLAGS}"
  DEPENDS kedroevents kedroevents_static kedro-events ${CMAKE_SOURCE_DIR}/client/examples/send_event.c
          ${CMAKE_SOURCE_DIR}/client/examples/build.sh ${CMAKE_SOURCE_DIR}/client/include/kedroevents.h
          ${CMAKE_SOURCE_DIR}/client/kedroevents.pc.in
  COMMENT "Installing libkedroevents into ${KEC_STAGE}; building the example with pkg-config"
  VERBATIM)
add_custom_target(example_send_event ALL DEPENDS ${CMAKE_BINARY_DIR}/send_event)

# kedro-event-shim: POST /event/ (the CloudEvents HTTP binding) over gRPC, on libmicrohttpd.
# The binding reader is a library of its own so the unit test and the fuzzer link it alone.
add_library(kes_binding STATIC client/shim/binding.c)
target_include_directories(kes_binding PUBLIC ${CMAKE_SOURCE_DIR}/client/shim ${CMAKE_SOURCE_DIR}/client)
target_link_libraries(kes_binding PUBLIC kedroevents_static)
# The web console's files (client/shim/ui/, every file, subdirectories too) embedded as a C
# table: ui_embed.cmake runs again when one of them changes, and a file added or removed makes
# CMake glob again (CONFIGURE_DEPENDS). Nothing generated is committed.
file(GLOB_RECURSE KES_UI_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/client/shim/ui/*)
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/ui_assets.c
  COMMAND ${CMAKE_COMMAND} -DUI_DIR=${CMAKE_SOURCE_DIR}/client/shim/ui
          -DOUT=${CMAKE_CURRENT_BINARY_DIR}/ui_assets.c -P ${CMAKE_SOURCE_DIR}/client/shim/ui_embed.cmake
  DEPENDS ${KES_UI_FILES} ${CMAKE_SOURCE_DIR}/client/shim/ui_embed.cmake
  COMMENT "Embedding the web console (client/shim/ui/)"
  VERBATIM)
add_executable(kedro-event-shim
  client/shim/main.c
  client/shim/ui.c
  ${CMAKE_CURRENT_BINARY_DIR}/ui_assets.c
  client/shim/http.c
  client/shim/route.c
  client/shim/answers.c
  client/shim/pipelines.c
  client/shim/actions.c
  client/shim/stats.c
  client/shim/feed.c
  client/shim/logs.c
  client/shim/watch.c
  client/shim/edge.c
  client/shim/framing.c
  client/shim/ratelog.c
  client/shim/slow.c

  client/shim/tls.c
  client/shim/auth.c
  client/shim/shim_metrics.c)
target_include_directories(kedro-event-shim PRIVATE ${CMAKE_SOURCE_DIR}/client
                           ${CMAKE_SOURCE_DIR}/client/shim)
pkg_check_modules(GNUTLS REQUIRED IMPORTED_TARGET gnutls)
target_link_libraries(kedro-event-shim PRIVATE kes_binding kec_log kedroevents_static kec_metrics
                      PkgConfig::MHD PkgConfig::GNUTLS PkgConfig::CJSON PkgConfig::SYSTEMD m)
install(TARGETS kedro-event-shim COMPONENT shim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
