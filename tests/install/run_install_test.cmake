# Installs the kinv build in BUILD_DIR into a fresh prefix, builds the consumer project against
# it (find_package(kinv)) and runs it on 2 MPI ranks. Invoked by CTest with -D arguments:
#   BUILD_DIR, SOURCE_DIR, WORK_DIR, GENERATOR, CXX_COMPILER, KOKKOS_ARGS, MPIEXEC, NP_FLAG.
foreach(v BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR MPIEXEC NP_FLAG)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_install_test.cmake: ${v} is not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
message(STATUS "installing kinv into ${prefix}")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
message(STATUS "configuring the consumer project against the installed package")
separate_arguments(kokkos_args UNIX_COMMAND "${KOKKOS_ARGS}")
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_BUILD_TYPE=Release ${kokkos_args}
    # kinv's own compile and link flags (the sanitizers of the `sanitize` preset).
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
message(STATUS "running the contract snippet on 2 ranks")
run(${MPIEXEC} ${NP_FLAG} 2 "${WORK_DIR}/build/contract")
