# CTest driver for "consumer: find_package(tether) from an installed tree" (tests/CMakeLists.txt):
#
#   1. cmake --install BUILD_DIR --prefix WORK_DIR/prefix
#   2. check the installed package: config files present, no source or build paths and no
#      internal targets (tether_warnings) in it
#   3. configure and build tests/consumer with -DCMAKE_PREFIX_PATH=WORK_DIR/prefix
#   4. run it: it records a push into a SQLite file and reads it back (exit 0 = all checks)
#
# WORK_DIR is emptied first and removed after a pass (kept after a failure, for a look).
#
#   cmake -DBUILD_DIR=… -DSOURCE_DIR=…/tests/consumer -DWORK_DIR=… -DGENERATOR=Ninja
#         [-DMAKE_PROGRAM=…] [-DCXX=…] [-DBUILD_TYPE=RelWithDebInfo] -P run.cmake
cmake_minimum_required(VERSION 3.20)
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: -D${var}=… is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE RelWithDebInfo)
endif()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(step name)
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(TIMESTAMP t1 "%s")
  math(EXPR secs "${t1} - ${t0}")
  if(NOT rc EQUAL 0)
    message("${out}\n${err}")
    message(FATAL_ERROR "consumer: ${name} failed (${rc}); files kept in ${WORK_DIR}")
  endif()
  message(STATUS "consumer: ${name} (${secs} s)")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

# 1. Install.
step("cmake --install ${BUILD_DIR} --prefix ${prefix}"
  ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# 2. The installed package.
file(GLOB config_dir LIST_DIRECTORIES true ${prefix}/lib*/cmake/tether)
if(NOT config_dir)
  message(FATAL_ERROR "consumer: no lib*/cmake/tether under ${prefix}")
endif()
foreach(f tetherConfig.cmake tetherConfigVersion.cmake tetherTargets.cmake)
  if(NOT EXISTS ${config_dir}/${f})
    message(FATAL_ERROR "consumer: ${config_dir}/${f} was not installed")
  endif()
endforeach()
foreach(h tether/observer.hpp tether/open_storage.hpp tether/sqlite_storage.hpp)
  if(NOT EXISTS ${prefix}/include/${h})
    message(FATAL_ERROR "consumer: ${prefix}/include/${h} was not installed")
  endif()
endforeach()
file(GLOB package_files ${config_dir}/*.cmake)
get_filename_component(source_root ${SOURCE_DIR}/../.. ABSOLUTE)
foreach(f IN LISTS package_files)
  file(READ ${f} text)
  foreach(bad "tether_warnings" "${source_root}/" "${BUILD_DIR}/")
    string(FIND "${text}" "${bad}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "consumer: ${f} mentions ${bad}: the installed package must not depend on "
                          "the source or build tree or on internal targets")
    endif()
  endforeach()
endforeach()
message(STATUS "consumer: package in ${config_dir}: no source/build paths, no internal targets")

# 3. Configure and build the consumer against the prefix only.
set(configure_args -S ${SOURCE_DIR} -B ${consumer_build} -G ${GENERATOR}
  -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_PREFIX_PATH=${prefix}
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(MAKE_PROGRAM)
  list(APPEND configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER=${CXX})
endif()
step("configure tests/consumer with CMAKE_PREFIX_PATH=${prefix}" ${CMAKE_COMMAND} ${configure_args})
string(REGEX MATCH "tether [^\n]* from [^\n]*" found "${step_output}")
message(STATUS "consumer: found ${found}")
string(FIND "${found}" "${prefix}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "consumer: find_package(tether) did not take the installed package in ${prefix}")
endif()
step("build tests/consumer" ${CMAKE_COMMAND} --build ${consumer_build})

# 4. Run it.
step("run tether_consumer" ${consumer_build}/tether_consumer ${WORK_DIR}/consumer.db)
message("${step_output}")

file(REMOVE_RECURSE ${WORK_DIR})
