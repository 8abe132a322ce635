# CUDA detection. DYNREC_CUDA=AUTO builds the CUDA kernels when a CUDA
# compiler works with the chosen host compiler; ON fails loudly otherwise;
# OFF never looks. Sets DYNREC_WITH_CUDA.
#
# Architectures: DYNREC_CUDA_ARCHITECTURES, default "80;90" (A100, H100),
# plus "90a" (Hopper wgmma/TMA features) when nvcc >= 12 supports it.
# nvcc 11.8 rejects g++ 12 as host compiler: pass
# -DCMAKE_CUDA_HOST_COMPILER=clang++-14 on Debian 12.
include(CheckLanguage)

set(DYNREC_WITH_CUDA OFF)
# Sanitizer builds stay host-only unless CUDA is asked for explicitly:
# ASan/UBSan do not see device code, and nvcc's host-compiler link
# directories can pull in another GCC's libasan (a runtime mismatch).
set(_dynrec_cuda_mode "${DYNREC_CUDA}")
if(DYNREC_SANITIZE AND DYNREC_CUDA STREQUAL "AUTO")
  message(STATUS "DynRec: DYNREC_SANITIZE=ON, so CUDA is not auto-detected (set DYNREC_CUDA=ON to force it)")
  set(_dynrec_cuda_mode "OFF")
endif()
if(NOT _dynrec_cuda_mode STREQUAL "OFF")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(DYNREC_WITH_CUDA ON)
  elseif(DYNREC_CUDA STREQUAL "ON")
    message(FATAL_ERROR "DYNREC_CUDA=ON but no working CUDA compiler was found "
                        "(set CUDACXX or CMAKE_CUDA_COMPILER, and CMAKE_CUDA_HOST_COMPILER if nvcc rejects the default host compiler)")
  else()
    message(STATUS "DynRec: no working CUDA compiler, building CPU only (DYNREC_CUDA=AUTO)")
  endif()
endif()

if(DYNREC_WITH_CUDA)
  if(NOT DEFINED DYNREC_CUDA_ARCHITECTURES)
    set(_arches 80 90)
    if(CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.0)
      list(APPEND _arches 90a)
    endif()
    set(DYNREC_CUDA_ARCHITECTURES "${_arches}" CACHE STRING "CUDA architectures for the DynRec kernels")
  endif()
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  message(STATUS "DynRec: CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${DYNREC_CUDA_ARCHITECTURES}")
endif()
