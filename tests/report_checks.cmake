# report_checks.cmake -- CTest for `smaxcheck report` (reports/, tests/test_report.py).
# reports/CMakeLists.txt schedules this file for the end of the top-level
# CMakeLists.txt (after enable_testing()); tests/CMakeLists.txt may include it
# as well: the guard makes the second inclusion a no-op.
include_guard(GLOBAL)

set(SMAX_REPORT_PY /usr/bin/python3)
set(SMAX_REPORT_BIN ${CMAKE_BINARY_DIR}/smaxcheck)
set(SMAX_REPORT_WORK ${CMAKE_BINARY_DIR}/report-tests)
# structure also measures the example plugins (examples/CMakeLists.txt) with
# `smaxcheck compare`; without them it says so and checks the rest
set(SMAX_REPORT_PLUGINS ${CMAKE_BINARY_DIR}/examples/plugins)
foreach(mode structure hostile badinput render)
  add_test(NAME report_${mode}
           COMMAND ${SMAX_REPORT_PY} ${CMAKE_SOURCE_DIR}/tests/test_report.py ${mode}
                   --smaxcheck ${SMAX_REPORT_BIN} --work ${SMAX_REPORT_WORK}/${mode}
                   --plugins ${SMAX_REPORT_PLUGINS})
endforeach()
# without chromium (scripts/install-deps.sh installs it) the render test skips
set_tests_properties(report_render PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
