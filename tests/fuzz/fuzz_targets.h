// The fuzz targets' one entry point each: feed one input to a reader of untrusted files. Expected
// refusals (hqsweep::Error) are caught; anything else (a crash, a sanitizer report, another
// exception type, which would reach users as "unexpected error" without the file's name) is a
// finding. Built as libFuzzer programs by scripts/fuzz.sh, and as replay programs run by ctest
// over tests/fuzz/corpus/<target>/ (seeds and every input a fuzzer ever found).
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
