"""Benchmarks against the Hub emulator on loopback (`python -m benchmarks.<name>`)."""

# the package first: it picks Arrow's allocator, which must happen before pyarrow is imported
import hf_croissant_assets  # noqa: F401
