"""Deterministic synthetic data for the demo and the benchmarks."""

from greenstream.synth.network import SYNTHETIC_PARAMETERS, generate_network_day, write_dataset

__all__ = ["SYNTHETIC_PARAMETERS", "generate_network_day", "write_dataset"]
