"""hf_croissant_assets: a daily snapshot of every Hugging Face Hub dataset (listing + Croissant).

Two layers: plain code without Dagster (`hub`, `ingest`, `curate`, `lake`, `warehouse`, `share`,
`report`, `schema`, `settings`) and the Dagster definitions built on it (`defs`, `definitions`).
Analysts start with ``from hf_croissant_assets import lake``.
"""

import os as _os
import sys as _sys

# Arrow's C++ code (the parquet reader and writer, the compute kernels) allocates from the
# process-wide default pool, which Arrow picks from this variable once, when pyarrow is first
# imported; pyarrow's `set_memory_pool` changes only what Python-side calls use. So it is set here,
# before any module of the package imports pyarrow, unless the caller chose a pool
# (`lake.store.use_returning_memory_pool` explains the choice). Linux only: that is where
# pyarrow's wheels are known to have jemalloc (elsewhere Arrow would warn and keep its default).
if _sys.platform.startswith("linux"):
    _os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
