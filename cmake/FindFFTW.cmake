# FindFFTW: FFTW 3 in double and single precision.
#
# Imported targets: FFTW::Double (libfftw3), FFTW::Float (libfftw3f).
# Result variables: FFTW_FOUND, FFTW_INCLUDE_DIR, FFTW_DOUBLE_LIBRARY, FFTW_FLOAT_LIBRARY.
# Hints: FFTW_ROOT (CMake's <Package>_ROOT), and pkg-config's fftw3 / fftw3f where available.

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_FFTW3 QUIET fftw3)
  pkg_check_modules(PC_FFTW3F QUIET fftw3f)
endif()

find_path(FFTW_INCLUDE_DIR fftw3.h HINTS ${PC_FFTW3_INCLUDE_DIRS} ${PC_FFTW3F_INCLUDE_DIRS})
find_library(FFTW_DOUBLE_LIBRARY NAMES fftw3 HINTS ${PC_FFTW3_LIBRARY_DIRS})
find_library(FFTW_FLOAT_LIBRARY NAMES fftw3f HINTS ${PC_FFTW3F_LIBRARY_DIRS})
# Optional: FFTW's OpenMP libraries (threaded plans), as targets FFTW::DoubleOpenMP and
# FFTW::FloatOpenMP when found.
find_library(FFTW_DOUBLE_OPENMP_LIBRARY NAMES fftw3_omp HINTS ${PC_FFTW3_LIBRARY_DIRS})
find_library(FFTW_FLOAT_OPENMP_LIBRARY NAMES fftw3f_omp HINTS ${PC_FFTW3F_LIBRARY_DIRS})

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(FFTW
  REQUIRED_VARS FFTW_INCLUDE_DIR FFTW_DOUBLE_LIBRARY FFTW_FLOAT_LIBRARY)

if(FFTW_FOUND)
  if(NOT TARGET FFTW::Double)
    add_library(FFTW::Double UNKNOWN IMPORTED)
    set_target_properties(FFTW::Double PROPERTIES
      IMPORTED_LOCATION "${FFTW_DOUBLE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${FFTW_INCLUDE_DIR}")
  endif()
  if(NOT TARGET FFTW::Float)
    add_library(FFTW::Float UNKNOWN IMPORTED)
    set_target_properties(FFTW::Float PROPERTIES
      IMPORTED_LOCATION "${FFTW_FLOAT_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${FFTW_INCLUDE_DIR}")
  endif()
  if(FFTW_DOUBLE_OPENMP_LIBRARY AND FFTW_FLOAT_OPENMP_LIBRARY AND NOT TARGET FFTW::DoubleOpenMP)
    add_library(FFTW::DoubleOpenMP UNKNOWN IMPORTED)
    set_target_properties(FFTW::DoubleOpenMP PROPERTIES
      IMPORTED_LOCATION "${FFTW_DOUBLE_OPENMP_LIBRARY}"
      INTERFACE_LINK_LIBRARIES FFTW::Double)
    add_library(FFTW::FloatOpenMP UNKNOWN IMPORTED)
    set_target_properties(FFTW::FloatOpenMP PROPERTIES
      IMPORTED_LOCATION "${FFTW_FLOAT_OPENMP_LIBRARY}"
      INTERFACE_LINK_LIBRARIES FFTW::Float)
  endif()
endif()
mark_as_advanced(FFTW_INCLUDE_DIR FFTW_DOUBLE_LIBRARY FFTW_FLOAT_LIBRARY
                 FFTW_DOUBLE_OPENMP_LIBRARY FFTW_FLOAT_OPENMP_LIBRARY)
