# Finds Kokkos and Kokkos Kernels and makes `Kokkos::kokkos` and `Kokkos::kokkoskernels`
# usable whichever way they were installed:
#  - a normal Kokkos 4.x/5.x install provides both targets as they are;
#  - Debian's Trilinos build of Kokkos 3.4 provides a broken `Kokkos::kokkos` (its include
#    directory points at <prefix>/include instead of <prefix>/include/trilinos, and its link
#    list holds the junk item -DKOKKOS_DEPENDENCE), no `Kokkos::kokkoskernels`, and forces
#    CMAKE_CXX_EXTENSIONS=OFF in the cache. This file repairs all three.
# It is used by kinv's own build and installed next to kinvConfig.cmake for consumers.

macro(kinv_find_kokkos)
  # QUIET: find_package quietly. DEPENDENCY (from kinvConfig.cmake): find_dependency, so that a
  # missing Kokkos makes find_package(kinv) report kinv as not found, with the reason.
  set(_kinv_quiet)
  set(_kinv_dep FALSE)
  if("${ARGV0}" STREQUAL "QUIET")
    set(_kinv_quiet QUIET)
  elseif("${ARGV0}" STREQUAL "DEPENDENCY")
    set(_kinv_dep TRUE)
  endif()

  # Trilinos' KokkosConfig forces CMAKE_CXX_EXTENSIONS=OFF into the cache: keep the caller's.
  if(DEFINED CMAKE_CXX_EXTENSIONS)
    set(_kinv_saved_ext "${CMAKE_CXX_EXTENSIONS}")
  else()
    set(_kinv_saved_ext "__undefined__")
  endif()

  if(NOT TARGET Kokkos::kokkos)
    # With extensions already off (as a normal variable), Trilinos' config neither warns nor
    # writes the cache; the caller's value is restored below.
    set(CMAKE_CXX_EXTENSIONS OFF)
    if(_kinv_dep)
      find_dependency(Kokkos)
    else()
      find_package(Kokkos REQUIRED ${_kinv_quiet})
    endif()
  endif()

  if(TARGET trilinos_kokkoscore)
    # Trilinos-built Kokkos: rebuild the usage requirements from the real targets.
    set(_kinv_kokkos_inc "${Kokkos_INCLUDE_DIRS}")
    if(NOT _kinv_kokkos_inc)
      message(FATAL_ERROR "kinv: Trilinos Kokkos found but Kokkos_INCLUDE_DIRS is empty")
    endif()
    get_filename_component(_kinv_kokkos_inc "${_kinv_kokkos_inc}" ABSOLUTE)
    set_target_properties(Kokkos::kokkos PROPERTIES
      INTERFACE_LINK_LIBRARIES "trilinos_kokkosalgorithms;trilinos_kokkoscontainers;trilinos_kokkoscore"
      INTERFACE_INCLUDE_DIRECTORIES "${_kinv_kokkos_inc}")
    if(NOT TARGET Kokkos::kokkoskernels)
      if(NOT TARGET trilinos_kokkoskernels)
        if(_kinv_dep)
          find_dependency(KokkosKernels HINTS "${Kokkos_DIR}/../KokkosKernels")
        else()
          find_package(KokkosKernels REQUIRED ${_kinv_quiet}
                       HINTS "${Kokkos_DIR}/../KokkosKernels")
        endif()
      endif()
      add_library(Kokkos::kokkoskernels INTERFACE IMPORTED)
      set_target_properties(Kokkos::kokkoskernels PROPERTIES
        INTERFACE_LINK_LIBRARIES "trilinos_kokkoskernels;Kokkos::kokkos"
        INTERFACE_INCLUDE_DIRECTORIES "${_kinv_kokkos_inc}")
    endif()
    set(KINV_KOKKOS_FLAVOR "trilinos")
  else()
    if(NOT TARGET Kokkos::kokkoskernels)
      # Kokkos Kernels is often installed in Kokkos' prefix: look there after the usual places.
      if(_kinv_dep)
        find_dependency(KokkosKernels HINTS "${Kokkos_DIR}/../KokkosKernels"
                        "${Kokkos_DIR}/../../../lib64/cmake/KokkosKernels")
      else()
        find_package(KokkosKernels REQUIRED ${_kinv_quiet}
                     HINTS "${Kokkos_DIR}/../KokkosKernels"
                           "${Kokkos_DIR}/../../../lib64/cmake/KokkosKernels")
      endif()
    endif()
    set(KINV_KOKKOS_FLAVOR "standalone")
  endif()

  if(_kinv_saved_ext STREQUAL "__undefined__")
    unset(CMAKE_CXX_EXTENSIONS)
  else()
    set(CMAKE_CXX_EXTENSIONS "${_kinv_saved_ext}")
  endif()
  unset(_kinv_saved_ext)
  unset(_kinv_quiet)
  unset(_kinv_dep)
endmacro()
