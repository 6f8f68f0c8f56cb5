"""TorchGeo dataset classes and data module over the benchmark's scenes (imports torch)."""
