# Run by ctest (tests/demo/CMakeLists.txt): cmake -DDEMO=... -DWORKDIR=... -P run_demo.cmake
if(NOT DEMO OR NOT WORKDIR)
  message(FATAL_ERROR "usage: cmake -DDEMO=path/to/demo -DWORKDIR=dir -P run_demo.cmake")
endif()
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})

foreach(run 1 2)
  execute_process(COMMAND ${DEMO}
                  WORKING_DIRECTORY ${WORKDIR}
                  RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  message("---- demo run ${run}: exit ${rc}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "demo run ${run} exited with ${rc}")
  endif()
  if(NOT EXISTS ${WORKDIR}/demo-store/store.conf)
    message(FATAL_ERROR "demo run ${run} did not create ./demo-store/store.conf in its working directory")
  endif()
  string(REGEX MATCH "single-instance storage saved ([0-9]+) bytes" saved "${out}")
  if(NOT saved)
    message(FATAL_ERROR "demo run ${run}: the output does not report what single-instance storage saved")
  endif()
  if(CMAKE_MATCH_1 EQUAL 0)
    message(FATAL_ERROR "demo run ${run}: single-instance storage saved nothing")
  endif()
  if(NOT out MATCHES "== mailstore check ==\n  0 error")
    message(FATAL_ERROR "demo run ${run}: the store check did not report 0 errors")
  endif()
  set(out_${run} "${out}")
endforeach()

# Deterministic: the two runs print the same, apart from UIDVALIDITY values
# (creation times) and unique ids in file paths.
foreach(run 1 2)
  string(REGEX REPLACE "UIDVALIDITY [0-9]+" "UIDVALIDITY x" norm_${run} "${out_${run}}")
  string(REGEX REPLACE "/uuid/[^ ]*/" "/uuid/x/" norm_${run} "${norm_${run}}")
endforeach()
if(NOT norm_1 STREQUAL norm_2)
  message(FATAL_ERROR "demo output differs between two runs beyond UIDVALIDITY and unique ids")
endif()
file(REMOVE_RECURSE ${WORKDIR})
