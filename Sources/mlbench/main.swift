print("mlbench")
