# `cmake --install <build> [--prefix P]`: what a native program needs to use the
# C API — the library, its one header, a CMake package (find_package(DynRec),
# target DynRec::dynrec) and a pkg-config file (dynrec.pc) — plus the
# self-test runner. Included from native/CMakeLists.txt once the targets exist.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

target_include_directories(dynrec PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# The installed runner finds the installed library wherever the prefix is moved.
set_target_properties(dynrec_selftest PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")

install(TARGETS dynrec EXPORT DynRecTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS dynrec_selftest RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/native/include/dynrec DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(_dynrec_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/DynRec)
install(EXPORT DynRecTargets NAMESPACE DynRec:: DESTINATION ${_dynrec_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/DynRecConfig.cmake.in
  ${CMAKE_BINARY_DIR}/DynRecConfig.cmake INSTALL_DESTINATION ${_dynrec_cmake_dir})
# 0.x: a new minor version may change the ABI (the header's exports), so only
# the same major.minor satisfies a request.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/DynRecConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/DynRecConfig.cmake ${CMAKE_BINARY_DIR}/DynRecConfigVersion.cmake
  DESTINATION ${_dynrec_cmake_dir})

# Relocatable: the prefix is found from the .pc file's own place (libdir/pkgconfig),
# so `cmake --install --prefix P` works for any P.
set(DYNREC_PC_TO_PREFIX "..")
string(REPLACE "/" ";" _dynrec_libdir_parts "${CMAKE_INSTALL_LIBDIR}")
foreach(_part IN LISTS _dynrec_libdir_parts)
  string(APPEND DYNREC_PC_TO_PREFIX "/..")
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/dynrec.pc.in ${CMAKE_BINARY_DIR}/dynrec.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/dynrec.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
