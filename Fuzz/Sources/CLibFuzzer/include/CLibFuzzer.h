// libFuzzer's driver entry point (compiler-rt FuzzerInterface.h), for harnesses that keep their
// own `main`: SwiftPM renames an executable's main and aliases `main` to it, so libFuzzer's
// own `main` cannot be used; ours calls this instead.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
