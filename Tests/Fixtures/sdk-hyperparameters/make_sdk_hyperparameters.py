#!/usr/bin/env python3
"""Writes the HyperParameters map the SageMaker Python SDK v2 sends to CreateTrainingJob.

Each `<case>.json` next to this script is that map, verbatim: exactly what SageMaker writes into
/opt/ml/input/config/hyperparameters.json. `manifest.json` records the SDK version and, per case,
the estimator, the arguments given and the channels. Tests/MLCommandLineTests/SDKHyperparametersTests.swift
trains on the linear-learner cases with `mlc train`.

No AWS account or network: the SDK runs against a Session whose SageMaker client is a mock, and
the script reads the keyword arguments of the mock's create_training_job call — the request the
SDK would have sent — instead of what `estimator.hyperparameters()` returns.

    AWS_DEFAULT_REGION=us-east-1 .venv/bin/python \
        Tests/Fixtures/sdk-hyperparameters/make_sdk_hyperparameters.py
"""
import json
import logging
import os
import sys
from pathlib import Path
from unittest import mock

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "fake")        # never used: nothing is sent
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fake")
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

import boto3  # noqa: E402
import sagemaker  # noqa: E402
from sagemaker.amazon.amazon_estimator import RecordSet  # noqa: E402
from sagemaker.inputs import TrainingInput  # noqa: E402
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner  # noqa: E402

HERE = Path(__file__).resolve().parent
REGION = os.environ["AWS_DEFAULT_REGION"]
ROLE = "arn:aws:iam::111122223333:role/SageMakerRole"
BUCKET = "fixture-bucket"
INSTANCE = "ml.m5.large"


def session():
    """A Session that never talks to AWS: the SageMaker client is a MagicMock that records calls."""
    boto_session = boto3.Session(region_name=REGION)
    client = mock.MagicMock(name="sagemaker_client")
    client.describe_training_job.return_value = {"TrainingJobStatus": "InProgress"}
    sess = sagemaker.Session(
        boto_session=boto_session,
        sagemaker_client=client,
        sagemaker_runtime_client=mock.MagicMock(name="runtime_client"),
        default_bucket=BUCKET,
        # An explicit SDK config: no user or admin config file can add defaults to the request,
        # and telemetry (an HTTP call) is off.
        sagemaker_config={"SchemaVersion": "1.0",
                          "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}},
    )
    # default_bucket() would call S3 and STS to create/check the bucket.
    sess._default_bucket = BUCKET
    return sess, client


def sent_hyperparameters(client):
    """The HyperParameters of the one CreateTrainingJob request the SDK made."""
    calls = client.create_training_job.call_args_list
    assert len(calls) == 1, calls
    request = calls[0].kwargs
    return request["HyperParameters"], request


def record_set(channel, feature_dim, num_records=200):
    return RecordSet(f"s3://{BUCKET}/{channel}/.amazon.manifest", num_records=num_records,
                     feature_dim=feature_dim, channel=channel)


CASES = {}


def case(name):
    def register(function):
        CASES[name] = function
        return function
    return register


# --- Linear learner (1P image; values are str() of typed Hyperparameter descriptors) ------------

@case("linear-learner-binary")
def linear_learner_binary():
    sess, client = session()
    args = dict(predictor_type="binary_classifier", epochs=3, optimizer="adam", learning_rate=0.05,
                wd=0.0001, l1=1e-06, use_bias=True, normalize_data=True, beta_1=0.9,
                early_stopping_patience=2, early_stopping_tolerance=0.001,
                binary_classifier_model_selection_criteria="accuracy",
                num_models=1)
    estimator = sagemaker.LinearLearner(role=ROLE, instance_count=1, instance_type=INSTANCE,
                                        sagemaker_session=sess, **args)
    records = [record_set("train", 4), record_set("validation", 4, 50)]
    estimator.fit(records, mini_batch_size=16, wait=False, logs=False)
    return "sagemaker.LinearLearner", dict(args, mini_batch_size=16), records, client


@case("main-job-breast-cancer")
def main_job_breast_cancer():
    # The README's main job: the bundled breast-cancer split (455 train, 114 validation rows of
    # 30 features) as RecordSets, trained as a notebook would. Also writes the request's channels
    # as SageMaker writes /opt/ml/input/config/inputdataconfig.json (next to this script, as
    # main-job-breast-cancer.inputdataconfig.json); scripts/local-training-tree.sh uses both.
    sess, client = session()
    args = dict(predictor_type="binary_classifier", epochs=40, early_stopping_patience=5)
    estimator = sagemaker.LinearLearner(role=ROLE, instance_count=1, instance_type=INSTANCE,
                                        sagemaker_session=sess, **args)
    records = [record_set("train", 30, 455), record_set("validation", 30, 114)]
    estimator.fit(records, mini_batch_size=32, wait=False, logs=False)
    _, request = sent_hyperparameters(client)
    mode = request["AlgorithmSpecification"]["TrainingInputMode"]
    channels = {}
    for c in request["InputDataConfig"]:
        entry = {"TrainingInputMode": c.get("InputMode", mode),
                 "S3DistributionType": c["DataSource"]["S3DataSource"].get("S3DistributionType", "FullyReplicated"),
                 "RecordWrapperType": c.get("RecordWrapperType", "None")}
        if "ContentType" in c:
            entry["ContentType"] = c["ContentType"]
        channels[c["ChannelName"]] = entry
    (HERE / "main-job-breast-cancer.inputdataconfig.json").write_text(json.dumps(channels, indent=2, sort_keys=True) + "\n")
    return "sagemaker.LinearLearner", dict(args, mini_batch_size=32), records, client


@case("linear-learner-binary-defaults")
def linear_learner_binary_defaults():
    # Only the required arguments: the SDK picks mini_batch_size = min(1000, num_records / instances).
    sess, client = session()
    args = dict(predictor_type="binary_classifier", epochs=2)
    estimator = sagemaker.LinearLearner(role=ROLE, instance_count=1, instance_type=INSTANCE,
                                        sagemaker_session=sess, **args)
    records = record_set("train", 4, 64)
    estimator.fit(records, wait=False, logs=False)
    return "sagemaker.LinearLearner", args, [records], client


@case("linear-learner-multiclass")
def linear_learner_multiclass():
    sess, client = session()
    args = dict(predictor_type="multiclass_classifier", num_classes=3, epochs=3, optimizer="sgd",
                learning_rate=0.1, momentum=0.5, wd=0.001, use_lr_scheduler=False,
                balance_multiclass_weights=True, normalize_data=True,
                early_stopping_patience=5)
    estimator = sagemaker.LinearLearner(role=ROLE, instance_count=1, instance_type=INSTANCE,
                                        sagemaker_session=sess, **args)
    records = [record_set("train", 5), record_set("validation", 5, 60), record_set("test", 5, 60)]
    estimator.fit(records, mini_batch_size=32, wait=False, logs=False)
    return "sagemaker.LinearLearner", dict(args, mini_batch_size=32), records, client


@case("linear-learner-regressor")
def linear_learner_regressor():
    sess, client = session()
    args = dict(predictor_type="regressor", epochs=3, optimizer="auto", learning_rate=0.01,
                normalize_data=True, normalize_label=True, unbias_label=True, use_bias=True,
                num_point_for_scaler=1000, early_stopping_tolerance=0.0001)
    estimator = sagemaker.LinearLearner(role=ROLE, instance_count=1, instance_type=INSTANCE,
                                        sagemaker_session=sess, **args)
    records = record_set("train", 3, 150)
    estimator.fit(records, mini_batch_size=25, wait=False, logs=False)
    return "sagemaker.LinearLearner", dict(args, mini_batch_size=25), [records], client


@case("linear-learner-tuning")
def linear_learner_tuning():
    # A tuning job: the SDK sends StaticHyperParameters to CreateHyperParameterTuningJob. Each
    # training job the tuning service starts gets them, plus the tuned values (strings) and
    # _tuning_objective_metric, which the service adds (the SDK deletes it again when it attaches
    # to such a job: tuner.py). Those two additions are ours, as the service documents them; the
    # tuned value's formatting is a guess.
    sess, client = session()
    args = dict(predictor_type="binary_classifier", epochs=3)
    estimator = sagemaker.LinearLearner(role=ROLE, instance_count=1, instance_type=INSTANCE,
                                        sagemaker_session=sess, **args)
    tuner = HyperparameterTuner(estimator, "validation:objective_loss",
                                {"learning_rate": ContinuousParameter(0.001, 0.1)},
                                objective_type="Minimize", max_jobs=2, max_parallel_jobs=1)
    records = [record_set("train", 4), record_set("validation", 4, 50)]
    tuner.fit(records, mini_batch_size=16, wait=False)
    calls = client.create_hyper_parameter_tuning_job.call_args_list
    assert len(calls) == 1, calls
    definition = calls[0].kwargs["TrainingJobDefinition"]
    hyperparameters = dict(definition["StaticHyperParameters"])
    hyperparameters["learning_rate"] = "0.0123"
    hyperparameters["_tuning_objective_metric"] = "validation:objective_loss"
    extra = {"added_as_the_tuning_service_does": {
                 "learning_rate": "0.0123 (a value from the tuned range 0.001-0.1)",
                 "_tuning_objective_metric": "validation:objective_loss (the tuner's objective)"},
             "ranges": calls[0].kwargs["HyperParameterTuningJobConfig"]["ParameterRanges"]}
    return "sagemaker.tuner.HyperparameterTuner(sagemaker.LinearLearner)", dict(args, mini_batch_size=16), records, (hyperparameters, extra)


# --- PCA and K-Means (1P; for later issues) ---------------------------------------------------

@case("pca")
def pca():
    sess, client = session()
    args = dict(num_components=2, algorithm_mode="regular", subtract_mean=True)
    estimator = sagemaker.PCA(role=ROLE, instance_count=1, instance_type=INSTANCE,
                              sagemaker_session=sess, **args)
    records = record_set("train", 5)
    estimator.fit(records, mini_batch_size=50, wait=False, logs=False)
    return "sagemaker.PCA", dict(args, mini_batch_size=50), [records], client


@case("kmeans")
def kmeans():
    sess, client = session()
    args = dict(k=3, init_method="kmeans++", max_iterations=10, tol=0.0001, epochs=2,
                center_factor=2, eval_metrics=["msd", "ssd"])
    estimator = sagemaker.KMeans(role=ROLE, instance_count=1, instance_type=INSTANCE,
                                 sagemaker_session=sess, **args)
    records = record_set("train", 5)
    estimator.fit(records, mini_batch_size=100, wait=False, logs=False)
    return "sagemaker.KMeans", dict(args, mini_batch_size=100), [records], client


# --- XGBoost ------------------------------------------------------------------------------------

XGBOOST_VERSION = "1.7-1"
XGBOOST_ARGS = dict(objective="binary:logistic", num_round=10, max_depth=3, eta=0.3,
                    subsample=0.8, eval_metric="auc", verbosity=1)


def csv_inputs():
    return {"train": TrainingInput(f"s3://{BUCKET}/train/", content_type="text/csv"),
            "validation": TrainingInput(f"s3://{BUCKET}/validation/", content_type="text/csv")}


@case("xgboost-builtin")
def xgboost_builtin():
    # The built-in algorithm: a generic Estimator on the XGBoost image, set_hyperparameters.
    sess, client = session()
    image = sagemaker.image_uris.retrieve("xgboost", REGION, XGBOOST_VERSION)
    estimator = sagemaker.estimator.Estimator(image_uri=image, role=ROLE, instance_count=1,
                                              instance_type=INSTANCE, sagemaker_session=sess,
                                              output_path=f"s3://{BUCKET}/output")
    estimator.set_hyperparameters(**XGBOOST_ARGS)
    estimator.fit(csv_inputs(), wait=False, logs=False)
    return f"sagemaker.estimator.Estimator(image_uri={image})", XGBOOST_ARGS, ["train", "validation"], client


@case("xgboost-framework")
def xgboost_framework():
    # sagemaker.xgboost.XGBoost always has an entry point (script mode): there is no
    # algorithm mode through this class. Its map is the user's values JSON-encoded plus the
    # sagemaker_* keys the script-mode toolkit reads.
    from sagemaker.xgboost import XGBoost
    sess, client = session()
    script = HERE / "_xgboost_entry_point.py"
    script.write_text("# placeholder entry point; never run\n")
    try:
        estimator = XGBoost(entry_point=str(script), framework_version=XGBOOST_VERSION,
                            role=ROLE, instance_count=1, instance_type=INSTANCE,
                            sagemaker_session=sess, output_path=f"s3://{BUCKET}/output",
                            code_location=f"s3://{BUCKET}/code",
                            hyperparameters=dict(XGBOOST_ARGS))
        # Uploading the script would call S3: stub the upload, keep everything else.
        with mock.patch("sagemaker.estimator.tar_and_upload_dir",
                        return_value=mock.Mock(s3_prefix=f"s3://{BUCKET}/code/sourcedir.tar.gz",
                                               script_name=script.name)):
            estimator.fit(csv_inputs(), wait=False, logs=False, job_name="xgboost-framework-fixture")
    finally:
        script.unlink(missing_ok=True)
    return "sagemaker.xgboost.XGBoost(entry_point=...)", XGBOOST_ARGS, ["train", "validation"], client


def main():
    for name in ("sagemaker", "botocore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    only = set(sys.argv[1:])
    manifest = {"sagemaker_version": sagemaker.__version__,
                "python": sys.version.split()[0],
                "region": REGION,
                "cases": {}}
    for name, make in CASES.items():
        if only and name not in only:
            continue
        estimator, args, channels, result = make()
        extra = {}
        if isinstance(result, tuple):
            hyperparameters, extra = result
        else:
            hyperparameters, request = sent_hyperparameters(result)
            channels = [c["ChannelName"] for c in request.get("InputDataConfig", [])]
        for key, value in hyperparameters.items():
            assert isinstance(key, str) and isinstance(value, str), (name, key, value)
        (HERE / f"{name}.json").write_text(json.dumps(hyperparameters, indent=2, sort_keys=True) + "\n")
        if channels and not isinstance(channels[0], str):
            channels = [r.channel for r in channels]
        manifest["cases"][name] = dict({"estimator": estimator,
                                        "arguments": {k: v for k, v in args.items()},
                                        "channels": channels}, **extra)
        print(f"{name}: {json.dumps(hyperparameters, sort_keys=True)}")
    if not only:
        (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
