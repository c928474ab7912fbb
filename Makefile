# The two commands of the README. Both go through scripts/setup.sh, which installs what is
# missing (apt packages, the Python environment for peers and fixtures) and is idempotent.

.PHONY: run test test-long fuzz fuzz-long setup build bench-cnn

setup:
	scripts/setup.sh --no-build

build: setup
	swift build -c release

# The main job: the linear learner trains on the bundled real data sets (scikit-learn's breast
# cancer and digits, exported by scripts/export_datasets.py) and prints SageMaker's metric lines,
# then runs as a SageMaker training job (`mlc train`) from a local /opt/ml tree, serves the
# trained model (`mlc serve`, a few curl requests, SIGTERM), trains PCA and k-means as SageMaker
# jobs on the digits, trains k-means again as two MPI processes (`mpirun -np 2 mlc train`) and
# compares the model bytes, scores the digits with the k-means model (`mlc predict`), trains XGBoost
# as a SageMaker job on the breast-cancer CSV (per-round lines, early stopping on the tuning
# metric) and scores with it, trains the image classifier (a ResNet-20) as a SageMaker job on
# the bundled synthetic shapes (PNG/JPEG files + .lst), serves it (image requests with curl) and
# scores the validation stars with `mlc predict`, then `mlbench linear` measures the linear learner against
# scikit-learn on 1M × 100 rows, `mlbench gbdt` the trees against XGBoost and LightGBM on
# 1M × 28, and `mlbench cnn` trains the CNN of docs/neural-networks.md (against PyTorch when
# `make bench-cnn` or `scripts/setup.sh --torch` has installed it).
run: build
	.build/release/mlc fit --algorithm linear-learner \
	    --train data/breast-cancer/train.csv --validation data/breast-cancer/validation.csv \
	    -p predictor_type=binary_classifier -p mini_batch_size=32 -p epochs=40 --model-dir out/breast-cancer
	.build/release/mlc fit --algorithm linear-learner \
	    --train data/digits/train.csv --validation data/digits/validation.csv \
	    -p predictor_type=multiclass_classifier -p num_classes=10 -p mini_batch_size=32 -p epochs=40 \
	    -p wd=0.001 -p early_stopping_patience=5 --model-dir out/digits
	scripts/local-training-tree.sh out/opt-ml
	.build/release/mlc validate --algorithm linear-learner --root out/opt-ml
	.build/release/mlc train --algorithm linear-learner --root out/opt-ml
	scripts/serve-demo.sh out/opt-ml 8080
	scripts/unsupervised-training-tree.sh pca out/opt-ml-pca
	.build/release/mlc train --algorithm pca --root out/opt-ml-pca
	scripts/unsupervised-training-tree.sh kmeans out/opt-ml-kmeans
	.build/release/mlc train --algorithm kmeans --root out/opt-ml-kmeans
	scripts/unsupervised-training-tree.sh kmeans out/opt-ml-kmeans-mpi
	mpirun --allow-run-as-root --oversubscribe -np 2 .build/release/mlc train --algorithm kmeans --root out/opt-ml-kmeans-mpi --workers 1 --no-progress
	cmp out/opt-ml-kmeans/model/model.safetensors out/opt-ml-kmeans-mpi/model/model.safetensors && echo "mpirun -np 2: the same k-means model, byte for byte"
	.build/release/mlc predict --model out/opt-ml-kmeans/model --input data/digits/validation.csv \
	    --content-type "text/csv;label_size=1" --accept text/csv --output out/kmeans-predictions
	head -5 out/kmeans-predictions/validation.csv.out
	scripts/xgboost-training-tree.sh out/opt-ml-xgboost
	.build/release/mlc train --algorithm xgboost --root out/opt-ml-xgboost
	.build/release/mlc predict --model out/opt-ml-xgboost/model --input data/breast-cancer/validation.csv \
	    --content-type "text/csv;label_size=1" --output out/xgboost-predictions
	head -5 out/xgboost-predictions/validation.csv.out
	scripts/image-training-tree.sh out/opt-ml-images 10
	.build/release/mlc train --algorithm image-classification --root out/opt-ml-images
	scripts/serve-image-demo.sh out/opt-ml-images 8081
	.build/release/mlc predict --model out/opt-ml-images/model --input data/shapes/validation/star --output out/image-predictions
	for f in $$(ls out/image-predictions | head -3); do printf '%s: ' "$$f"; cat "out/image-predictions/$$f"; done
	.build/release/mlbench linear --peers
	.build/release/mlbench gbdt --peers --repeat 3
	.build/release/mlbench cnn $(if $(shell .venv/bin/python -c 'import torch' 2>/dev/null && echo y),--peers,)

# The CNN benchmark against PyTorch: installs PyTorch's CPU build first (scripts/setup.sh --torch).
bench-cnn: build
	scripts/setup.sh --torch --no-build
	.build/release/mlbench cnn --peers --repeat 3

# Tests run in release mode: numeric code is 10–100× slower in debug. Then a short fuzz run:
# every parser of untrusted input under libFuzzer + AddressSanitizer for FUZZ_SECONDS each
# (scripts/fuzz.sh; its own build in .build-fuzz; docs/reliability.md "Fuzzing").
FUZZ_SECONDS ?= 15
test: setup
	swift test -c release
	scripts/fuzz.sh --seconds $(FUZZ_SECONDS)

# The short fuzz run of `make test` alone.
fuzz: setup
	scripts/fuzz.sh --seconds $(FUZZ_SECONDS)

# The fuzz targets for FUZZ_LONG_SECONDS each (17 targets: about 2 h 50 min at the default);
# corpora grow in .build-fuzz/corpus from one run to the next.
FUZZ_LONG_SECONDS ?= 600
fuzz-long: setup
	scripts/fuzz.sh --seconds $(FUZZ_LONG_SECONDS)

# Longer suites (docs/reliability.md): after the main tests, the long fuzz run, then 20 kill -9
# and 5 SIGTERM trials per algorithm (scripts/fault-kill.sh; about an hour on 2 cores, most of it
# the image classifier at a minute a run) and a 5-minute soak of `mlc serve` under valid traffic
# and abuse (`mlbench soak`). The main tests run the short versions (FaultProcessTests,
# ServerSoakTests).
test-long: test fuzz-long
	scripts/fault-kill.sh --trials 20 --term-trials 5
	MLBENCH_SOAK_SECONDS=300 .build/release/mlbench soak
