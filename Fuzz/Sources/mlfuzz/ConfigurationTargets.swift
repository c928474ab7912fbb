import Foundation
import MLAlgorithms
import MLContainer

private let sdkFixtures = "Tests/Fixtures/sdk-hyperparameters/"

/// The three configuration files of `/opt/ml/input/config`.
let configurationTargets: [FuzzTarget] = [
    FuzzTarget(
        name: "hyperparameters",
        summary: "hyperparameters.json, then the string map through every algorithm's hyperparameter parser",
        maxLength: 4096,
        run: { input in
            guard let strings = try? ContainerConfiguration.hyperparameters(Data(input), path: "hyperparameters.json") else { return }
            _ = try? LinearLearnerHyperparameters(strings: strings)
            _ = try? PCAHyperparameters(strings: strings)
            _ = try? KMeansHyperparameters(strings: strings)
            _ = try? XGBoostHyperparameters(strings: strings)
            _ = try? ImageClassificationHyperparameters(strings: strings)
        },
        seeds: {
            let names = ["kmeans", "linear-learner-binary-defaults", "linear-learner-binary", "linear-learner-multiclass",
                         "linear-learner-regressor", "linear-learner-tuning", "main-job-breast-cancer", "pca", "xgboost-builtin",
                         "xgboost-framework"]
            return try names.map { ($0, try fixture(sdkFixtures + $0 + ".json")) } + [
                ("image-classification", bytes(#"{"num_classes": "3", "num_training_samples": "24", "num_layers": "20", "image_shape": "3,10,10", "epochs": "2", "top_k": "2", "augmentation_type": "crop_color_transform", "lr_scheduler_step": "1,2"}"#)),
                ("numbers-and-booleans", bytes(#"{"feature_dim": 10, "k": 3, "normalize_data": true, "eta": 0.3}"#)),
            ]
        }
    ),
    FuzzTarget(
        name: "inputdataconfig",
        summary: "inputdataconfig.json: channel names, content types (MIME parsing), input modes, distribution, record wrapper",
        maxLength: 4096,
        run: { input in
            _ = try? ContainerConfiguration.channels(Data(input), path: "inputdataconfig.json")
        },
        seeds: {
            [
                ("sdk-main-job", try fixture(sdkFixtures + "main-job-breast-cancer.inputdataconfig.json")),
                ("csv-pipe", bytes(#"{"train": {"ContentType": "text/csv; label_size=1", "TrainingInputMode": "Pipe", "S3DistributionType": "ShardedByS3Key", "RecordWrapperType": "None"}, "validation": {"ContentType": "csv"}}"#)),
                ("images", bytes(#"{"train": {"ContentType": "application/x-image"}, "train_lst": {"ContentType": "application/x-image"}, "model": {"ContentType": "application/x-sagemaker-model", "TrainingInputMode": "File"}}"#)),
                ("recordio", bytes(#"{"train": {"ContentType": "application/x-recordio-protobuf", "RecordWrapperType": "RecordIO", "TrainingInputMode": "FastFile"}}"#)),
            ]
        }
    ),
    FuzzTarget(
        name: "resourceconfig",
        summary: "resourceconfig.json: current_host, hosts, network_interface_name",
        maxLength: 2048,
        run: { input in
            _ = try? ContainerConfiguration.resources(Data(input), path: "resourceconfig.json")
            _ = try? ContainerConfiguration.checkpointPath(Data(input), path: "checkpointconfig.json")
        },
        seeds: {
            [
                ("one-host", bytes(#"{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}"#)),
                ("two-hosts", bytes(#"{"current_host": "algo-2", "hosts": ["algo-1", "algo-2"], "current_group_name": "homogeneousCluster", "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": "ml.c5.xlarge", "hosts": ["algo-2", "algo-1"]}]}"#)),
                ("checkpoint", bytes(#"{"LocalPath": "/opt/ml/checkpoints", "S3Uri": "s3://bucket/prefix"}"#)),
            ]
        }
    ),
]
