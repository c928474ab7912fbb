# The two commands of the README. Both go through scripts/setup.sh, which installs what is
# missing (apt packages, the Python environment for peers and fixtures) and is idempotent.

.PHONY: run test test-long setup build

setup:
	scripts/setup.sh --no-build

build: setup
	swift build -c release

# The main job: today's best demonstration of the product on data it makes itself.
run: build
	.build/release/mlbench gemm --peers
	.build/release/mlbench csv --peers

# Tests run in release mode: numeric code is 10–100× slower in debug.
test: setup
	swift test -c release

# Longer suites (none yet beyond the main tests; later issues add fuzzing and soak runs here).
test-long: test
