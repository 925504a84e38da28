# TETHER_BUILD_FUZZERS: instrument everything built in this directory for libFuzzer, ASan and
# UBSan. Included by the top-level CMakeLists.txt before any target exists, so the library
# sources are instrumented too (-fsanitize=fuzzer-no-link); fuzz/CMakeLists.txt links the
# fuzz executables with -fsanitize=fuzzer. Use a build directory of its own (scripts/fuzz
# uses build-fuzz): these flags are not for production binaries.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR
    "TETHER_BUILD_FUZZERS needs clang (libFuzzer is part of clang's runtime); this build uses "
    "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER}. Configure a separate build directory with "
    "-DCMAKE_CXX_COMPILER=clang++ (scripts/fuzz does: build-fuzz).")
endif()

include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer,address,undefined")
check_cxx_source_compiles([[
  #include <cstddef>
  #include <cstdint>
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
]] TETHER_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
if(NOT TETHER_HAVE_LIBFUZZER)
  message(FATAL_ERROR
    "clang cannot link a libFuzzer target with -fsanitize=fuzzer,address,undefined: its runtime "
    "is missing (Debian 12: apt-get install libclang-rt-14-dev; scripts/install-deps installs it).")
endif()

add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer -gline-tables-only)
# Other executables of this build (tests, tools, when switched on) link the sanitizer
# runtimes, which also provide the coverage callbacks; fuzz/CMakeLists.txt adds libFuzzer.
add_link_options(-fsanitize=address,undefined)
