# The project stands on its own: no tracked file may point to a document that
# a clone of the repository does not have (the product specification once
# lived in a directory beside it). The contract is docs/contract.md; cite its
# sections ("docs/contract.md §2.3").
#
#   cmake -DSOURCE_DIR=<the source tree> -P tests/self_contained.cmake
#
# Fails, listing file:line, on a mention of that specification. The words are
# assembled here so that this file does not match itself.
cmake_minimum_required(VERSION 3.16)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=DIR -P self_contained.cmake")
endif()
set(w "SPEC")
set(pattern "shared/${w}|${w}\\.md|${w} §|\\.\\./shared")

# The tracked files; without git (a source tarball) every file of the tree but
# build directories.
execute_process(COMMAND git -C "${SOURCE_DIR}" ls-files
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc ERROR_QUIET)
if(rc EQUAL 0 AND listing)
  string(REPLACE "\n" ";" files "${listing}")
  list(REMOVE_ITEM files "")
else()
  file(GLOB_RECURSE files RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/*")
  list(FILTER files EXCLUDE REGEX "^(\\.git|build[^/]*)/")
endif()

set(found "")
foreach(f IN LISTS files)
  if(NOT EXISTS "${SOURCE_DIR}/${f}" OR IS_DIRECTORY "${SOURCE_DIR}/${f}")
    continue()
  endif()
  file(STRINGS "${SOURCE_DIR}/${f}" hits REGEX "${pattern}")
  foreach(h IN LISTS hits)
    string(APPEND found "  ${f}: ${h}\n")
  endforeach()
endforeach()
if(found)
  message(FATAL_ERROR "these lines cite a specification outside the repository; "
                      "cite docs/contract.md instead:\n${found}")
endif()
list(LENGTH files n)
message(STATUS "self_contained: ${n} files, none cites a document outside the repository")
