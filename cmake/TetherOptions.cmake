# Compiler settings shared by every tether target.
add_library(tether_warnings INTERFACE)
target_compile_options(tether_warnings INTERFACE -Wall -Wextra -Wpedantic)

if(TETHER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Implementation is C++20; public headers are C++17 (checked by tests/headers).
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
