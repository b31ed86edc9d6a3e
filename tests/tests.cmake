# Unit tests (cmocka, one per module), the gen/ staleness check, and the
# integration tests that start the real kedro-eventd.

set(KE_TEST_ENV
  "KE_EVENTD=$<TARGET_FILE:kedro-eventd>"
  "KE_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "KE_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "KE_CONFORMANCE_DIR=${KE_CONFORMANCE_DIR}"
  "KE_PYTHON=${KE_PYTHON}"
  "KE_CLI=$<TARGET_FILE:kedro-events>"
  "KE_SHIM=$<TARGET_FILE:kedro-event-shim>"
  "KE_SANITIZED=$<IF:$<OR:$<BOOL:${KE_SANITIZE}>,$<BOOL:${KE_FUZZ}>>,1,0>")

# ke_unit_test(NAME LIB...): builds tests/unit/test_NAME.c against the given libraries.
function(ke_unit_test name)
  add_executable(test_${name} ${CMAKE_SOURCE_DIR}/tests/unit/test_${name}.c)
  target_link_libraries(test_${name} PRIVATE ${ARGN} PkgConfig::CMOCKA)
  add_test(NAME unit_${name} COMMAND test_${name})
  set_tests_properties(unit_${name} PROPERTIES ENVIRONMENT "${KE_TEST_ENV}" SKIP_RETURN_CODE 77)
endfunction()

ke_unit_test(errors ke_base)
ke_unit_test(text ke_base)
# Bearer tokens (client/tokens.c), shared by kedro-eventd, kedro-event-shim and the library.
ke_unit_test(tokens kec_text_static)
# The metrics registry (client/metrics.c) of both daemons: exposition format, bounds, threads.
ke_unit_test(metrics kec_metrics)
ke_unit_test(event ke_event)
ke_unit_test(config ke_config)
ke_unit_test(dotenv ke_config)
ke_unit_test(router ke_config)
ke_unit_test(reflection ke_server)
ke_unit_test(store ke_server)
# The store under a failing disk (a fault-injecting SQLite VFS at every write it makes).
ke_unit_test(store_faults ke_server)
set_tests_properties(unit_store_faults PROPERTIES TIMEOUT 600)
# The store's size cap (--max-store-bytes).
ke_unit_test(store_cap ke_server)
# The store's side of forwarding to kedro-graphql (take, apply, list of forwarded runs).
ke_unit_test(store_remote ke_server)
ke_unit_test(store_changes ke_server)
# CancelPipeline's writer request (server/store_ops.c), racing with claims.
ke_unit_test(store_ops ke_server)
# Retention's store requests (--retain): what a sweep removes, chains, keys, the batch cap.
ke_unit_test(store_prune ke_server)
# The read side's duplicate check (server/store_lookup.c): committed keys only, many threads.
ke_unit_test(store_lookup ke_server)
# GetStats's in-memory ring of events accepted as new (server/stats.c), with an injected clock.
ke_unit_test(stats ke_server)
# GetStats's store read (server/store_stats.c): ended runs per bucket, counts, the index used.
ke_unit_test(store_stats ke_server)
# The log reader of StreamLogs (server/logs.c): tail, follow through the change feed.
ke_unit_test(logs ke_server)
ke_unit_test(dispatch ke_server)
# The mapping of pipeline records to kedro.events.v1 messages (the test includes service.c).
ke_unit_test(service ke_server)
ke_unit_test(forward ke_server)
# The kedro-graphql forwarder's GraphQL requests and its reading of canned answers.
ke_unit_test(graphql ke_graphql)
ke_unit_test(runfile ke_server)
# The client library's codec against the server's protobuf-c code and validation.
ke_unit_test(client_codec kedroevents_static ke_event)
target_include_directories(test_client_codec PRIVATE ${CMAKE_SOURCE_DIR}/client)
# The client library's event builder and RFC 3339 time; its CloudEvents JSON format reader and
# writer, checked against the conformance vectors and, for what it accepts, the server's rules.
ke_unit_test(client_event kedroevents_static)
# The library's call contracts (callbacks, cancel on free, deadlines, reconnecting) against
# a kedro-eventd the test starts itself.
ke_unit_test(client_calls kedroevents_static)
set_tests_properties(unit_client_calls PROPERTIES TIMEOUT 120)
ke_unit_test(client_json kedroevents_static ke_event)
target_include_directories(test_client_json PRIVATE ${CMAKE_SOURCE_DIR}/client)
# The pipeline dicts (client/pipeline_json.c): kedro-graphql's keys, a forwarded run's values.
ke_unit_test(client_pipeline_json kedroevents_static)
target_include_directories(test_client_pipeline_json PRIVATE ${CMAKE_SOURCE_DIR}/client)
# The one JSON reader (client/json_parse.c) against cJSON_Parse, alone and under threads.
ke_unit_test(json_parse kedroevents_static)
target_include_directories(test_json_parse PRIVATE ${CMAKE_SOURCE_DIR}/client)
# kedro-event-shim's CloudEvents HTTP binding reader (the test includes binding.c).
ke_unit_test(shim_binding kedroevents_static)
target_include_directories(test_shim_binding PRIVATE ${CMAKE_SOURCE_DIR}/client/shim
                           ${CMAKE_SOURCE_DIR}/client)
# kedro-event-shim's strict framing and slow-client deadlines (the test includes both files).
ke_unit_test(shim_framing Threads::Threads)
target_include_directories(test_shim_framing PRIVATE ${CMAKE_SOURCE_DIR}/client/shim)

add_test(NAME gen_is_fresh COMMAND ${CMAKE_SOURCE_DIR}/tests/gen_fresh.sh)

# ke_py_test(NAME): runs tests/integration/test_NAME.py with Debian's Python.
function(ke_py_test name)
  add_test(NAME integration_${name}
           COMMAND ${KE_PYTHON} ${CMAKE_SOURCE_DIR}/tests/integration/test_${name}.py)
  set_tests_properties(integration_${name} PROPERTIES
    ENVIRONMENT "${KE_TEST_ENV}" SKIP_RETURN_CODE 77 TIMEOUT 300)
endfunction()

file(GLOB KE_PY_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/test_*.py)
foreach(f ${KE_PY_TESTS})
  get_filename_component(n ${f} NAME_WE)
  string(REGEX REPLACE "^test_" "" n ${n})
  ke_py_test(${n})
endforeach()
# The Debian packages in a fresh bookworm root (debootstrap: root and the mirror; minutes).
set_tests_properties(integration_packages PROPERTIES TIMEOUT 1200 RUN_SERIAL TRUE)

add_test(NAME format COMMAND ${CMAKE_SOURCE_DIR}/tests/format.sh)

# Fuzz targets (KE_FUZZ=ON, clang): each runs briefly as a test from an empty
# corpus; run one longer by hand, e.g. `build-fuzz/fuzz_event -max_total_time=300`.
if(KE_FUZZ)
  # ke_fuzz_target(NAME LIB...): tests/fuzz/fuzz_NAME.c linked with LIB..., run 30 s as a test.
  add_custom_target(fuzzers)
  function(ke_fuzz_target name)
    add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
    target_link_libraries(fuzz_${name} PRIVATE ${ARGN})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    add_test(NAME fuzz_${name} COMMAND fuzz_${name} -max_total_time=30 -rss_limit_mb=2048
                                                   -print_final_stats=1)
    set_tests_properties(fuzz_${name} PROPERTIES TIMEOUT 180)
    add_dependencies(fuzzers fuzz_${name})
  endfunction()
  foreach(f event config reflection wire)
    ke_fuzz_target(${f} ke_server)
  endforeach()
  # The client library's decoders and JSON reader, and kedro-event-shim's HTTP binding reader.
  ke_fuzz_target(client_json kedroevents_static)
  target_include_directories(fuzz_client_json PRIVATE ${CMAKE_SOURCE_DIR}/client)
  # The strict JSON checker against cJSON (client/json_check.c).
  ke_fuzz_target(json_check kedroevents_static)
  target_include_directories(fuzz_json_check PRIVATE ${CMAKE_SOURCE_DIR}/client)
  ke_fuzz_target(client_decode kedroevents_static)
  target_include_directories(fuzz_client_decode PRIVATE ${CMAKE_SOURCE_DIR}/client)
  ke_fuzz_target(shim_binding kes_binding kedroevents_static)
  # The kedro-graphql forwarder's reading of kedro-graphql's answers (server/graphql.c).
  ke_fuzz_target(graphql_answer ke_graphql)
endif()

# Benchmarks (built, never run as tests): tests/bench/durable.sh and compare.sh drive them.
add_executable(bench_store ${CMAKE_SOURCE_DIR}/tests/bench/bench_store.c)
target_link_libraries(bench_store PRIVATE ke_server)
# The reference server of compare.sh: grpc core answering every call empty, OK.
add_executable(noop_server ${CMAKE_SOURCE_DIR}/tests/bench/noop_server.c)
target_link_libraries(noop_server PRIVATE PkgConfig::GRPC Threads::Threads)
# The disk's fdatasync latency after small appends (compare.sh's latency reference).
add_executable(fsync_probe ${CMAKE_SOURCE_DIR}/tests/bench/fsync_probe.c)
# compare.sh --smoke: every line of its table gets a figure (no speed asserted; about 30 s).
add_test(NAME bench_compare_smoke COMMAND ${CMAKE_SOURCE_DIR}/tests/bench/compare_smoke.sh)
set_tests_properties(bench_compare_smoke PROPERTIES ENVIRONMENT "${KE_TEST_ENV}"
                     SKIP_RETURN_CODE 77 TIMEOUT 180)
