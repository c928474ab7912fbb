// SwiftPM needs a source file in a C target; everything is static inline in the header.
#include "CIntrinsics.h"
