"""Croissant 1.1 documents in the shape the Hub generates them today.

Modelled on the Hub's output (the `squad_v2.json` fixture, and the Hub's feature-to-field
mapping): `conformsTo` http://mlcommons.org/croissant/1.1 and the Hub's `@context` inline; a
`distribution` of a `repo` FileObject plus one FileSet per config (the parquet conversion, or
the repo's own csv / json / jsonl files), or one FileObject per config with `contentSize` and
`sha256`; per config a `<config>_splits` record set (`dataType` cr:Split with inline `data`) and
a record set whose fields carry a `dataType` and a `source` (`fileSet` / `fileObject`,
`extract.column`, `transform.jsonPath`; `isArray` / `arrayShape` for lists, `subField` for
structs; images and audio as sc:ImageObject / sc:AudioObject read from `bytes`).

A document's structure is a pure function of a shape `(task, format, variant)`: the task and
format are the ones the dataset's listing tags show, the variant (one of `VARIANTS`) comes from
the dataset's hash. Each shape is serialised once (`generated_template`, cached) with slots for
what differs between datasets (see `DOCUMENT_SLOTS`), so serving a document is a string join.
"""

from __future__ import annotations

import functools
import json
import random
from typing import Any

from hf_croissant_assets_tests.hub_emulator.templates import Template
from hf_croissant_assets_tests.hub_emulator.vocabulary import FORMATS, LANGUAGES, SIZES, TASKS

CROISSANT_1_1 = "http://mlcommons.org/croissant/1.1"

#: Distinct documents per (task, format): 10 tasks x 7 formats x 16 = 1120 shapes.
VARIANTS = 16

#: The `@context` the Hub inlines in its Croissant 1.1 documents.
CONTEXT_1_1: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "prov": "http://www.w3.org/ns/prov#",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

#: Slots of a generated template, all inserted raw (JSON-escaped where they stand):
#: ID, NAME, SHA: the dataset id, its last segment, the revision (in the description);
#: DESC: the card text (JSON-escaped, truncated like the Hub does); PAD: size padding;
#: CREATOR, LICENSE_PROP, LICENSE_KW: whole `,"creator":{...}` / `,"license":"..."` members
#: and a `,"<license>"` keyword, or "" when the dataset has no namespace / no usable license.
DOCUMENT_SLOTS = ("ID", "NAME", "SHA", "DESC", "PAD", "CREATOR", "LICENSE_PROP", "LICENSE_KW")

_REPO_MARK = "https://github.com/mlcommons/croissant/issues/80"  # the Hub's sha256 of `repo`
_PARQUET_TREE = "https://huggingface.co/datasets/@@ID@@/tree/refs%2Fconvert%2Fparquet"
_MAIN_TREE = "https://huggingface.co/datasets/@@ID@@/tree/main"
_RESOLVE = "https://huggingface.co/datasets/@@ID@@/resolve"

_ENCODINGS = {
    "parquet": "application/x-parquet",
    "csv": "text/csv",
    "json": "application/json",
    "jsonl": "application/jsonlines",
}
_LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "zh": "Chinese",
    "es": "Spanish",
    "ja": "Japanese",
    "ru": "Russian",
    "ar": "Arabic",
    "hi": "Hindi",
    "pt": "Portuguese",
}
_MODALITY_KEYWORDS = {
    "text": "Text",
    "image": "Image",
    "audio": "Audio",
    "timeseries": "Time-series",
    "tabular": "Tabular",
}
_SIZE_KEYWORDS = dict(
    zip(
        SIZES,
        ("< 1K", "1K - 10K", "10K - 100K", "100K - 1M", "1M - 10M", "10M - 100M"),
        strict=True,
    )
)
_CONFIG_SETS = (
    ("en", "fr", "de"),
    ("small", "medium", "large"),
    ("2023-10", "2024-03", "2024-09"),
    ("raw", "cleaned", "dedup"),
    ("ParaphraseRC", "SelfRC", "mixed"),
)
_SPLIT_SETS = (
    ("train",),
    ("train", "test"),
    ("train", "validation"),
    ("train", "validation", "test"),
)

# Column specs: (name, kind, ...) with kind
#   "value", dataType            a scalar column
#   "image" / "audio"            a struct {bytes, path}, read from `bytes`
#   "list", dataType, shape      an array column (arrayShape "-1", "6", "-1,4", ...)
#   "struct", [specs], is_list   sub-fields read with jsonPath; a list of structs if is_list
Spec = tuple[Any, ...]


def _columns(task: str, rng: random.Random) -> list[Spec]:
    """The columns of one config of a dataset of `task`."""
    text = "sc:Text"
    if task == "text-classification":
        cols: list[Spec] = [("text", "value", text), ("label", "value", "sc:Integer")]
        if rng.random() < 0.5:
            cols.insert(0, ("idx", "value", "cr:Int32"))
        return cols
    if task == "question-answering":
        return [
            ("id", "value", text),
            ("title", "value", text),
            ("context", "value", text),
            ("question", "value", text),
            (
                "answers",
                "struct",
                [("text", "list", text, "-1"), ("answer_start", "list", "cr:Int32", "-1")],
                False,
            ),
        ]
    if task == "text-generation":
        pick = rng.randrange(3)
        if pick == 0:
            return [("text", "value", text)]
        if pick == 1:
            return [
                ("prompt_id", "value", text),
                ("messages", "struct", [("role", "value", text), ("content", "value", text)], True),
            ]
        return [("prompt", "value", text), ("chosen", "value", text), ("rejected", "value", text)]
    if task == "translation":
        a, b = rng.choice((("en", "fr"), ("de", "en"), ("en", "zh"), ("es", "pt")))
        return [("translation", "struct", [(a, "value", text), (b, "value", text)], False)]
    if task == "summarization":
        return [("id", "value", text), ("document", "value", text), ("summary", "value", text)]
    if task == "image-classification":
        return [("image", "image"), ("label", "value", "sc:Integer")]
    if task == "object-detection":
        return [
            ("image_id", "value", "cr:Int64"),
            ("image", "image"),
            ("width", "value", "cr:Int32"),
            ("height", "value", "cr:Int32"),
            (
                "objects",
                "struct",
                [
                    ("id", "list", "cr:Int64", "-1"),
                    ("area", "list", "cr:Float32", "-1"),
                    ("bbox", "list", "cr:Float32", "-1,4"),
                    ("category", "list", "sc:Integer", "-1"),
                ],
                False,
            ),
        ]
    if task == "automatic-speech-recognition":
        cols = [("audio", "audio"), (rng.choice(("sentence", "text")), "value", text)]
        if rng.random() < 0.6:
            cols += [("speaker_id", "value", text), ("duration", "value", "cr:Float32")]
        return cols
    if task == "robotics":
        dim = rng.choice(("6", "7", "14"))
        return [
            ("observation.state", "list", "cr:Float32", dim),
            ("action", "list", "cr:Float32", dim),
            ("timestamp", "value", "cr:Float32"),
            ("frame_index", "value", "cr:Int64"),
            ("episode_index", "value", "cr:Int64"),
            ("index", "value", "cr:Int64"),
            ("task_index", "value", "cr:Int64"),
        ]
    pool: list[Spec] = [
        ("id", "value", "cr:UInt32"),
        ("age", "value", "cr:Int64"),
        ("income", "value", "cr:Float64"),
        ("score", "value", "cr:Float32"),
        ("ratio", "value", "cr:Float16"),
        ("count", "value", "cr:Int16"),
        ("flags", "value", "cr:UInt8"),
        ("is_active", "value", "sc:Boolean"),
        ("signup_date", "value", "sc:Date"),
        ("city", "value", text),
        ("category", "value", text),
    ]
    return [*rng.sample(pool, rng.randrange(3, len(pool))), ("target", "value", "sc:Integer")]


def _flat_for_csv(spec: Spec) -> Spec:
    """CSV cells are text or numbers: images, audio, lists and structs become a text column."""
    if spec[1] == "value":
        return spec
    name = {"image": "file_name", "audio": "file_name"}.get(spec[1], spec[0])
    return (name, "value", "sc:Text")


def _source(ref: dict[str, Any], column: str, json_path: list[str]) -> dict[str, Any]:
    source: dict[str, Any] = {**ref, "extract": {"column": column}}
    if len(json_path) == 1:
        source["transform"] = {"jsonPath": json_path[0]}
    elif json_path:
        source["transform"] = [{"jsonPath": p} for p in json_path]
    return source


def _field(
    ref: dict[str, Any], field_id: str, column: str, spec: Spec, json_path: list[str]
) -> dict[str, Any]:
    """A cr:Field like the Hub's for one column spec (`ref`: {"fileSet": ...} / {"fileObject": ...})."""
    kind = spec[1]
    if kind == "value":
        return {
            "@type": "cr:Field",
            "@id": field_id,
            "dataType": spec[2],
            "source": _source(ref, column, json_path),
        }
    if kind in ("image", "audio"):
        return {
            "@type": "cr:Field",
            "@id": field_id,
            "dataType": "sc:ImageObject" if kind == "image" else "sc:AudioObject",
            "source": _source(ref, column, [*json_path, "bytes"]),
        }
    if kind == "list":
        f = _field(ref, field_id, column, (spec[0], "value", spec[2]), json_path)
        f["isArray"] = True
        f["arrayShape"] = spec[3]
        return f
    sub = [
        _field(ref, f"{field_id}/{s[0]}", column, s, [*json_path, s[0]]) for s in spec[2]
    ]  # struct
    f = {"@type": "cr:Field", "@id": field_id, "subField": sub}
    if spec[3]:
        f["isArray"] = True
        f["arrayShape"] = "-1"
    return f


def content_size(n: int) -> str:
    """A byte count the way Croissant documents spell it: "123 B", "45.6 kB", "1.2 MB"."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def _document(task_index: int, format_index: int, variant: int) -> dict[str, Any]:
    """The document of one shape, with `@@SLOT@@` sentinels (see `DOCUMENT_SLOTS`)."""
    rng = random.Random((task_index * 64 + format_index) * 64 + variant)
    task, modality = TASKS[task_index]
    fmt = FORMATS[format_index]
    if fmt == "csv":
        ext = "csv"
    elif fmt == "json":
        ext = rng.choice(("json", "jsonl"))
    else:  # the Hub's parquet conversion
        ext = "parquet"
    encoding = _ENCODINGS[ext]
    one_file = rng.random() < 0.4  # a small dataset: one file per config, with its size
    n_configs = rng.choices((1, 2, 3), (6, 3, 1))[0]
    if n_configs == 1:
        configs = [rng.choice(("default", "default", "default", "plain_text", "main"))]
    else:
        configs = list(rng.choice(_CONFIG_SETS)[:n_configs])

    distribution: list[dict[str, Any]] = []
    record_sets: list[dict[str, Any]] = []
    if not one_file:
        distribution.append(
            {
                "@type": "cr:FileObject",
                "@id": "repo",
                "name": "repo",
                "description": "The Hugging Face git repository.",
                "contentUrl": _PARQUET_TREE if ext == "parquet" else _MAIN_TREE,
                "encodingFormat": "git+https",
                "sha256": _REPO_MARK,
            }
        )
    for config in configs:
        splits = ("train",) if one_file else rng.choice(_SPLIT_SETS)
        if one_file:
            file_id = f"{ext}-file-for-config-{config}"
            if ext == "parquet":
                url = f"{_RESOLVE}/refs%2Fconvert%2Fparquet/{config}/train/0000.parquet"
            else:
                url = f"{_RESOLVE}/main/data/{config}.{ext}"
            distribution.append(
                {
                    "@type": "cr:FileObject",
                    "@id": file_id,
                    "name": file_id,
                    "contentUrl": url,
                    "encodingFormat": encoding,
                    "contentSize": content_size(int(10 ** rng.uniform(2, 9.5))),
                    "sha256": f"{rng.getrandbits(256):064x}",
                }
            )
            ref: dict[str, Any] = {"fileObject": {"@id": file_id}}
        else:
            file_id = f"{ext}-files-for-config-{config}"
            if ext == "parquet":
                includes = f"{config}/*/*.parquet"
                regex = f"{config}/(?:partial-)?({'|'.join(splits)})/.+parquet$"
            else:
                includes = f"data/{config}/*.{ext}"
                regex = f"data/{config}/({'|'.join(splits)})-[^/]+\\.{ext}$"
            distribution.append(
                {
                    "@type": "cr:FileSet",
                    "@id": file_id,
                    "containedIn": {"@id": "repo"},
                    "encodingFormat": encoding,
                    "includes": includes,
                }
            )
            ref = {"fileSet": {"@id": file_id}}
            key = f"{config}_splits/split_name"
            record_sets.append(
                {
                    "@type": "cr:RecordSet",
                    "dataType": "cr:Split",
                    "key": {"@id": key},
                    "@id": f"{config}_splits",
                    "name": f"{config}_splits",
                    "description": f"Splits for the {config} config.",
                    "field": [{"@type": "cr:Field", "@id": key, "dataType": "sc:Text"}],
                    "data": [{key: s} for s in splits],
                }
            )
        columns = _columns(task, rng)
        if ext == "csv":
            columns = [_flat_for_csv(c) for c in columns]
        fields = []
        if not one_file:
            fields.append(
                {
                    "@type": "cr:Field",
                    "@id": f"{config}/split",
                    "dataType": "sc:Text",
                    "source": {
                        **ref,
                        "extract": {"fileProperty": "fullpath"},
                        "transform": {"regex": regex},
                    },
                    "references": {"field": {"@id": f"{config}_splits/split_name"}},
                }
            )
        fields += [_field(ref, f"{config}/{c[0]}", c[0], c, []) for c in columns]
        n = len(splits)
        info = f"- {n} split{'s' if n > 1 else ''}: {', '.join(splits)}"
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": config,
                "description": f"@@ID@@ - '{config}' subset\n\nAdditional information:\n{info}",
                "field": fields,
            }
        )

    language = rng.choice(LANGUAGES)
    keywords = [task, _LANGUAGE_NAMES[language], "@@LICENSE_KW@@"]
    keywords += [_SIZE_KEYWORDS[rng.choice(SIZES)], fmt, _MODALITY_KEYWORDS[modality]]
    keywords += rng.sample(("Datasets", "pandas", "Polars", "Dask"), rng.randrange(1, 4))
    keywords += ["Croissant", "🇺🇸 Region: US"]
    doc: dict[str, Any] = {
        "@context": CONTEXT_1_1,
        "@type": "sc:Dataset",
        "distribution": distribution,
        "recordSet": record_sets,
        "conformsTo": CROISSANT_1_1,
        "name": "@@NAME@@",
        "description": "@@DESC@@@@PAD@@\n\nRevision: @@SHA@@",
        "alternateName": ["@@ID@@"],
        "creator": "@@CREATOR@@",
    }
    if rng.random() < 0.3:
        doc["citeAs"] = "@misc{hf_dataset,\n  title={@@ID@@},\n  year={2024}\n}"
    doc["keywords"] = keywords
    doc["license"] = "@@LICENSE_PROP@@"
    doc["url"] = "https://huggingface.co/datasets/@@ID@@"
    return doc


@functools.cache
def generated_template(task_index: int, format_index: int, variant: int) -> Template:
    """The serialised document of a shape (compact JSON, like the Hub's answer); built on first
    use, at most `len(TASKS) * len(FORMATS) * VARIANTS` of them."""
    text = json.dumps(
        _document(task_index, format_index, variant % VARIANTS),
        ensure_ascii=False,
        separators=(",", ":"),
    )
    # optional members and items become slots that hold the whole member (or nothing)
    for member, slot in (
        (',"creator":"@@CREATOR@@"', "@@CREATOR@@"),
        (',"license":"@@LICENSE_PROP@@"', "@@LICENSE_PROP@@"),
        (',"@@LICENSE_KW@@"', "@@LICENSE_KW@@"),
    ):
        assert text.count(member) == 1, member
        text = text.replace(member, slot)
    return Template(text, CROISSANT_1_1)
