enum _MLBenchKitPlaceholder {}
