# dynrec_enable_sanitizers(<target>): ASan + UBSan when DYNREC_SANITIZE is ON.
# UBSan is made fatal (-fno-sanitize-recover) so CTest sees every report.
function(dynrec_enable_sanitizers target)
  if(NOT DYNREC_SANITIZE)
    return()
  endif()
  set(san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX,C>:${san}>)
  target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  target_compile_definitions(${target} PRIVATE DYNREC_SANITIZE=1)
endfunction()
