# dynrec_add_abi_fuzz(<test name> <library target> [extra abi_fuzz.py args...]):
# seeded random calls of every export of the library (tests/native/abi_fuzz.py,
# through ctypes); each must return a status with a message, never crash. In
# sanitizer builds the python process gets g++'s ASan runtime (and libstdc++,
# or ASan's __cxa_throw interceptor aborts) preloaded, so an out-of-bounds
# access in validation or a kernel is reported; without g++'s libasan the
# sanitizer variant is not added.
function(dynrec_add_abi_fuzz name target)
  find_package(Python3 COMPONENTS Interpreter)
  if(NOT Python3_Interpreter_FOUND)
    return()
  endif()
  set(command ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/native/abi_fuzz.py $<TARGET_FILE:${target}> ${ARGN})
  if(NOT DYNREC_SANITIZE)
    add_test(NAME ${name} COMMAND ${command})
    set_tests_properties(${name} PROPERTIES TIMEOUT 600)
    return()
  endif()
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so OUTPUT_VARIABLE asan_runtime
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libstdc++.so OUTPUT_VARIABLE stdcxx_runtime
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(IS_ABSOLUTE "${asan_runtime}" AND EXISTS "${asan_runtime}" AND IS_ABSOLUTE "${stdcxx_runtime}")
    add_test(NAME ${name} COMMAND ${command})
    set_tests_properties(${name} PROPERTIES TIMEOUT 900 ENVIRONMENT
      "LD_PRELOAD=${asan_runtime} ${stdcxx_runtime};ASAN_OPTIONS=detect_leaks=0;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
  endif()
endfunction()
