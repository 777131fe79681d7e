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
#
# jemalloc's own settings come from `JE_ARROW_MALLOC_CONF`, read when it first allocates: freed
# pages are handed back to the OS by jemalloc's background thread after ~100 ms (`dirty`), with
# MADV_DONTNEED (no `muzzy` stage: MADV_FREE pages still count in the process's RSS). Handing
# them back at once (decay 0) made the kernel fault every batch's buffers in afresh: measured on
# the 500k-dataset day, the Croissant tables spent 15 s of system CPU on it (curate 24 s -> 16 s,
# publish 5.7 s -> 2.9 s at 100 ms), for ~50 MB more peak.
#
# One arena (`narenas:1`) instead of jemalloc's 4 per CPU: each arena keeps its own freed pages
# until they decay, and publishing the day's records spreads its allocations over the main, the
# writer and Arrow's decoding threads. With 8 arenas the publish step's peak RSS varied from 493
# to 603 MB between identical runs on a kept 1M-dataset lake (Arrow's live data ~70 MB, jemalloc's
# resident pages ~230 MB); with one arena it stayed at 417-456 MB, and 417-444 MB at 500k, for
# more CPU (threads now share one arena's lock: ~0.5 s in that publish, ~1 s in the 500k
# listing). A value you set yourself is kept.
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"
ARROW_JEMALLOC_CONF_ENV = "JE_ARROW_MALLOC_CONF"
ARROW_JEMALLOC_CONF = "dirty_decay_ms:100,muzzy_decay_ms:0,narenas:1"
if _sys.platform.startswith("linux"):
    _os.environ.setdefault(ARROW_POOL_ENV, "jemalloc")
    _os.environ.setdefault(ARROW_JEMALLOC_CONF_ENV, ARROW_JEMALLOC_CONF)
