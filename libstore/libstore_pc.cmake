# Writes libstore.pc for one install (cmake -P script; the install step of
# CMakeLists.txt includes it, and tests/install/run_install_test.sh runs it
# with other libdirs).
#
# The prefix is the one of this install: CMAKE_INSTALL_PREFIX as the install
# script sees it, which is the --prefix of `cmake --install` when given, else
# the prefix configured. Configuring the file at configure time (as before)
# wrote the configured prefix into an install made elsewhere; a prefix
# relative to the .pc file (${pcfiledir}/../..) is wrong when the libdir is
# more than one level deep (multiarch: lib/x86_64-linux-gnu). So libdir and
# includedir stay as configured (relative ones below the prefix, absolute
# ones as they are) and only the prefix is taken at install time.
#
# In: LS_PC_IN, LS_PC_OUT (paths), LS_PC_LIBDIR, LS_PC_INCLUDEDIR (as
# GNUInstallDirs has them), LS_PC_VERSION, CMAKE_INSTALL_PREFIX.
foreach(v LS_PC_IN LS_PC_OUT LS_PC_LIBDIR LS_PC_INCLUDEDIR LS_PC_VERSION CMAKE_INSTALL_PREFIX)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "libstore_pc.cmake: ${v} is not set")
  endif()
endforeach()

set(LS_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
# "/usr/local/" and "/usr/local" name one prefix; keep "/" as it is
string(REGEX REPLACE "(.)/+$" "\\1" LS_PC_PREFIX "${LS_PC_PREFIX}")
foreach(d LIBDIR INCLUDEDIR)
  if(NOT IS_ABSOLUTE "${LS_PC_${d}}")
    set(LS_PC_${d} "\${prefix}/${LS_PC_${d}}")
  endif()
endforeach()
configure_file("${LS_PC_IN}" "${LS_PC_OUT}" @ONLY)
