enum _AlgorithmsPlaceholder {}
