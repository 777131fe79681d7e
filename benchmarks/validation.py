"""Benchmark: Croissant validation throughput (mlcroissant, offline, worker processes).

    python -m benchmarks.validation                     # 600 documents, 2 workers
    python -m benchmarks.validation --docs 2000 --workers 2

The documents are the emulator's Croissant 1.1 shapes (every task x format, several variants:
image / audio / bbox fields, several record sets, parquet / csv / json files) and the real
fixture documents, rendered for distinct dataset ids. The reference is the same validator run in
this process, one document after the other, on a sample: `speedup` is the ratio of the pool's
rate to it, measured in the same run. Target: `docs_per_s` >= 50 on 2 cores.

Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from benchmarks._common import emit, log, r, setup_logging
from hf_croissant_assets.curate.validation import ValidatorPool, validate_text, validator_version
from hf_croissant_assets_tests.hub_emulator import DEFAULT_FIXTURES_DIR
from hf_croissant_assets_tests.hub_emulator.croissant_documents import slot_values
from hf_croissant_assets_tests.hub_emulator.croissant_fixtures import load_fixture_templates
from hf_croissant_assets_tests.hub_emulator.croissant_generator import (
    VARIANTS,
    generated_template,
)
from hf_croissant_assets_tests.hub_emulator.vocabulary import FORMATS, TASKS

DOCS_PER_S_MIN = 50.0


def documents(n: int) -> list[str]:
    """`n` varied documents: generated shapes round-robin, one in 20 a real fixture."""
    fixtures = [pair[0] for pair in load_fixture_templates(DEFAULT_FIXTURES_DIR)]
    shapes = [
        (t, f, v) for v in range(VARIANTS) for t in range(len(TASKS)) for f in range(len(FORMATS))
    ]
    out = []
    for i in range(n):
        values = slot_values(f"org{i % 97}/dataset-{i}", f"{i:040x}", "mit", f"card {i}")
        if i % 20 == 19 and fixtures:
            tpl = fixtures[i % len(fixtures)]
        else:
            tpl = generated_template(*shapes[i % len(shapes)])
        out.append(tpl.render_padded(values, None))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.validation", description=__doc__)
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout-s", type=float, default=10.0)
    parser.add_argument("--reference-docs", type=int, default=100)
    args = parser.parse_args(argv)
    setup_logging()
    # the workers log nothing below ERROR; the in-process reference must not pay for logging either
    logging.getLogger("absl").setLevel(logging.ERROR)

    docs = documents(args.docs)
    log.info("%d documents, %d workers", len(docs), args.workers)

    t0 = time.perf_counter()
    for text in docs[: args.reference_docs]:
        validate_text(text, args.timeout_s)
    reference_wall = time.perf_counter() - t0
    reference_rate = min(args.reference_docs, len(docs)) / reference_wall

    with ValidatorPool(args.workers, args.timeout_s) as pool:
        t0 = time.perf_counter()
        pool.validate(docs[:4])  # start the workers (spawn + import) outside the measurement
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        verdicts = pool.validate(docs)
        wall = time.perf_counter() - t0
    rate = len(docs) / wall
    result = {
        "benchmark": "validation",
        "validator_version": validator_version(),
        "docs": len(docs),
        "workers": args.workers,
        "wall_s": r(wall),
        "docs_per_s": r(rate, 1),
        "pool_startup_s": r(startup),
        "reference_docs_per_s_one_process": r(reference_rate, 1),
        "speedup": r(rate / reference_rate, 2),
        "valid": sum(v.valid is True for v in verdicts),
        "invalid": sum(v.valid is False for v in verdicts),
        "timed_out": sum(v.valid is None for v in verdicts),
        "mean_doc_s": r(sum(v.seconds for v in verdicts) / len(verdicts), 4),
        "targets": {"docs_per_s_min": DOCS_PER_S_MIN},
        "target_met": rate >= DOCS_PER_S_MIN,
    }
    log.info("validation: %.1f docs/s on %d workers", rate, args.workers)
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
