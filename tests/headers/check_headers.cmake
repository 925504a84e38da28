# Compiles each public header alone with -std=c++17 and fails when it does not compile
# or when anything it includes (transitively, per `-H`) comes from Boost, SQLite,
# SQLiteCpp, libpq/libpqxx or fmt.
file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR} ${INCLUDE_DIR}/tether/*.hpp)
file(MAKE_DIRECTORY ${WORK_DIR})
set(failures 0)
foreach(h IN LISTS headers)
  string(MAKE_C_IDENTIFIER ${h} stem)
  set(tu ${WORK_DIR}/${stem}.cpp)
  file(WRITE ${tu} "#include \"${h}\"\n#include \"${h}\"\n")
  execute_process(
    COMMAND ${CXX} -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -H -I${INCLUDE_DIR} ${tu}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(SEND_ERROR "${h} does not compile on its own as C++17:\n${err}")
    math(EXPR failures "${failures}+1")
    continue()
  endif()
  string(REGEX MATCHALL "[^\n]*(boost/|sqlite3\\.h|SQLiteCpp|libpq|pqxx|fmt/)[^\n]*" bad "${err}")
  if(bad)
    message(SEND_ERROR "${h} includes third-party headers:\n${bad}")
    math(EXPR failures "${failures}+1")
  endif()
endforeach()
list(LENGTH headers n)
if(failures)
  message(FATAL_ERROR "${failures} of ${n} headers failed")
endif()
message(STATUS "${n} headers compile on their own as C++17 without third-party includes")
