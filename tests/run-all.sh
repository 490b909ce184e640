#!/usr/bin/env bash
# Set up, build, and run every test: the plain build, the same suite under
# AddressSanitizer + UBSan, and a short libFuzzer run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

echo "== build and test (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
(cd build && ctest -j"$jobs")

echo "== build and test under AddressSanitizer + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLIBSTORE_SANITIZE=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 ctest -j"$jobs")

echo "== fuzz (clang libFuzzer, ${LIBSTORE_FUZZ_SECONDS:-20} s per target)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DLIBSTORE_FUZZ=ON -DLIBSTORE_SANITIZE=ON \
    -DLIBSTORE_TESTS=ON -DLIBSTORE_FUZZ_SECONDS="${LIBSTORE_FUZZ_SECONDS:-20}"
cmake --build build-fuzz -j"$jobs" --target fuzzers
# Each fuzzer is single-threaded with its own corpus directory: run them side by side.
(cd build-fuzz && ctest -j"$jobs" -R '^fuzz_')
