# `cmake --install <build> --prefix P` installs what a consumer needs to use tether with
# find_package(tether) (docs/getting-started.md, tested by tests/consumer):
#
#   P/include/tether/**                        public headers (tether/beast/ with tether::beast)
#   P/lib/libtether_{core,sqlite,beast,postgres}.a   the libraries that were built
#   P/lib/cmake/tether/tetherConfig.cmake      + tetherConfigVersion.cmake, tetherTargets*.cmake
#   P/bin/tether                               the command-line tool (tools/, when built)
#
# Targets are exported as tether::core, tether::sqlite, tether::beast and tether::postgres;
# tetherConfig.cmake finds what they link (Threads, Boost, SQLiteCpp, libpqxx), including the
# private dependencies a static library passes on as $<LINK_ONLY:…>. Internal helpers such as
# tether_warnings are linked as $<BUILD_INTERFACE:…> and never reach the export.
include(CMakePackageConfigHelpers)

set(TETHER_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/tether
    CACHE STRING "Where tetherConfig.cmake is installed, relative to the prefix")

set(_tether_export_targets tether_core)
set(TETHER_INSTALLED_COMPONENTS core)
foreach(_component sqlite beast postgres)
  if(TARGET tether_${_component})
    list(APPEND _tether_export_targets tether_${_component})
    list(APPEND TETHER_INSTALLED_COMPONENTS ${_component})
  endif()
endforeach()

install(TARGETS ${_tether_export_targets}
  EXPORT tetherTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})  # include dirs: each target's $<INSTALL_INTERFACE:…>

# Headers: a backend's header only with its library.
set(_tether_header_excludes)
if(NOT TARGET tether_sqlite)
  list(APPEND _tether_header_excludes PATTERN sqlite_storage.hpp EXCLUDE)
endif()
if(NOT TARGET tether_postgres)
  list(APPEND _tether_header_excludes PATTERN postgres_storage.hpp EXCLUDE)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tether
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN *.hpp ${_tether_header_excludes})
if(TARGET tether_beast)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/adapters/beast/include/tether
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
    FILES_MATCHING PATTERN *.hpp)
endif()

install(EXPORT tetherTargets
  NAMESPACE tether::
  FILE tetherTargets.cmake
  DESTINATION ${TETHER_INSTALL_CMAKEDIR})

# The versions of the dependencies this build used, for tetherConfig.cmake.
set(TETHER_BOOST_VERSION_RANGE "1.81...<1.82")
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/tetherConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tetherConfig.cmake
  INSTALL_DESTINATION ${TETHER_INSTALL_CMAKEDIR}
  NO_SET_AND_CHECK_MACRO)
# 0.x: a minor release may break the API, so 0.1 accepts 0.1.y only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tetherConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tetherConfig.cmake ${PROJECT_BINARY_DIR}/tetherConfigVersion.cmake
  DESTINATION ${TETHER_INSTALL_CMAKEDIR})
