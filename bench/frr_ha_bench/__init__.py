"""The frr-ha benchmark (bench/run.py): one module per part of a run."""
