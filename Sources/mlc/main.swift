import MLCommandLine

// `mlc <command> …`: everything but the entry point lives in MLCommandLine (docs/cli.md).
MLC.main()
