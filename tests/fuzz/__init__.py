"""Fuzzing of every decoder that takes wire bytes (issue 13): see tests/fuzz/README section
"### Fuzzing" in the project README and ``python -m tests.fuzz --help``."""
