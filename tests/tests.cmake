# Unit tests (cmocka, one per module), the gen/ staleness check, and the
# integration tests that start the real kedro-eventd.

set(KE_TEST_ENV
  "KE_EVENTD=$<TARGET_FILE:kedro-eventd>"
  "KE_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "KE_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "KE_CONFORMANCE_DIR=${KE_CONFORMANCE_DIR}"
  "KE_PYTHON=${KE_PYTHON}")

# ke_unit_test(NAME LIB...): builds tests/unit/test_NAME.c against the given libraries.
function(ke_unit_test name)
  add_executable(test_${name} ${CMAKE_SOURCE_DIR}/tests/unit/test_${name}.c)
  target_link_libraries(test_${name} PRIVATE ${ARGN} PkgConfig::CMOCKA)
  add_test(NAME unit_${name} COMMAND test_${name})
  set_tests_properties(unit_${name} PROPERTIES ENVIRONMENT "${KE_TEST_ENV}" SKIP_RETURN_CODE 77)
endfunction()

ke_unit_test(errors ke_base)
ke_unit_test(text ke_base)
ke_unit_test(event ke_event)
ke_unit_test(config ke_config)
ke_unit_test(dotenv ke_config)
ke_unit_test(router ke_config)
ke_unit_test(reflection ke_server)
ke_unit_test(store ke_server)
ke_unit_test(dispatch ke_server)
ke_unit_test(forward ke_server)
ke_unit_test(runfile ke_server)

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

add_test(NAME format COMMAND ${CMAKE_SOURCE_DIR}/tests/format.sh)

# Fuzz targets (KE_FUZZ=ON, clang): each runs briefly as a test from an empty
# corpus; run one longer by hand, e.g. `build-fuzz/fuzz_event -max_total_time=300`.
if(KE_FUZZ)
  foreach(f event config reflection)
    add_executable(fuzz_${f} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${f}.c)
    target_link_libraries(fuzz_${f} PRIVATE ke_server)
    target_link_options(fuzz_${f} PRIVATE -fsanitize=fuzzer)
    add_test(NAME fuzz_${f} COMMAND fuzz_${f} -max_total_time=30 -rss_limit_mb=2048
                                               -print_final_stats=1)
    set_tests_properties(fuzz_${f} PROPERTIES TIMEOUT 180)
  endforeach()
endif()

# Benchmarks (built, never run as tests): tests/bench/durable.sh drives them.
add_executable(bench_store ${CMAKE_SOURCE_DIR}/tests/bench/bench_store.c)
target_link_libraries(bench_store PRIVATE ke_server)
