"""pytest-benchmark configuration: ours and the baseline share a group per case."""
