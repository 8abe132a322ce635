# dynrec_set_warnings(<target>): strict warnings for our own code only.
function(dynrec_set_warnings target)
  set(flags -Wall -Wextra -Wpedantic -Wshadow)
  if(DYNREC_WERROR)
    list(APPEND flags -Werror)
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${flags}>
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic $<$<BOOL:${DYNREC_WERROR}>:-Werror>>)
endfunction()
