# Unit tests (cmocka, one per module), the gen/ staleness check, and the
# integration tests that start the real kedro-eventd.

set(KE_TEST_ENV
  "KE_EVENTD=$<TARGET_FILE:kedro-eventd>"
  "KE_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "KE_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "KE_CONFORMANCE_DIR=${KE_CONFORMANCE_DIR}"
  "KE_PYTHON=${KE_PYTHON}")

# ke_unit_test(NAME): builds tests/unit/test_NAME.c against the server library.
function(ke_unit_test name)
  add_executable(test_${name} ${CMAKE_SOURCE_DIR}/tests/unit/test_${name}.c)
  target_link_libraries(test_${name} PRIVATE ke_server PkgConfig::CMOCKA)
  add_test(NAME unit_${name} COMMAND test_${name})
  set_tests_properties(unit_${name} PROPERTIES ENVIRONMENT "${KE_TEST_ENV}" SKIP_RETURN_CODE 77)
endfunction()

foreach(t errors config router event store dispatch)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/unit/test_${t}.c)
    ke_unit_test(${t})
  endif()
endforeach()

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
