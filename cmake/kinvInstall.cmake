# Installs kinv as a CMake package: find_package(kinv) gives kinv::kinv, finding Kokkos, Kokkos
# Kernels and MPI again as they were found for this build (recorded in kinvSettings.cmake).
include(CMakePackageConfigHelpers)

set(KINV_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/kinv" CACHE STRING
    "Where kinvConfig.cmake is installed")

install(TARGETS kinv EXPORT kinvTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/kinv DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/include/kinv/config.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kinv)
install(EXPORT kinvTargets NAMESPACE kinv:: DESTINATION ${KINV_INSTALL_CMAKEDIR})

configure_package_config_file(cmake/kinvConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/kinvConfig.cmake
  INSTALL_DESTINATION ${KINV_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/kinvConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
configure_file(cmake/kinvSettings.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/kinvSettings.cmake @ONLY)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/kinvConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/kinvConfigVersion.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/kinvSettings.cmake
  cmake/kinvKokkos.cmake
  cmake/FindFFTW.cmake
  DESTINATION ${KINV_INSTALL_CMAKEDIR})
