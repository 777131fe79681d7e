"""The words of the synthetic Hub: authors, dataset names, licenses, tasks, card sentences.

Index arithmetic in `universe` and `croissant_generator` picks from these tuples, so their order
and length are part of the deterministic output: append, never reorder.
"""

from __future__ import annotations

AUTHOR_PREFIXES = (
    "ai-lab",
    "nlp-group",
    "open-data",
    "vision-team",
    "speech-lab",
    "robotics-org",
    "bio-ml",
    "edu-research",
    "civic-data",
    "lerobot-user",
    "finance-ai",
    "med-nlp",
    "geo-ml",
    "legal-ai",
    "climate-data",
    "music-ml",
)  # x 256 numbers = 4096 authors
STEMS = (
    "squad-v2",
    "imdb-reviews",
    "common_voice",
    "wiki.en",
    "coco-captions",
    "apple_storage",
    "pick-place",
    "math-qa",
    "code-instruct",
    "chat-sft",
    "dpo-pairs",
    "reddit_tldr",
    "news-summ",
    "legal-cases",
    "pubmed-abstracts",
    "arxiv.cs",
    "tiny-stories",
    "alpaca-clean",
    "openwebtext",
    "mnist-variant",
    "cifar10-c",
    "speech_commands",
    "librispeech-subset",
    "multi-nli",
    "xnli.fr",
    "tabular-bench",
    "satellite-tiles",
    "medical_qa",
    "github-code",
    "poems",
    "recipes",
    "lerobot-so100",
)
LEGACY_STEMS = (
    "squad",
    "glue",
    "imdb",
    "wikitext",
    "cnndailymail",
    "xsum",
    "conll",
    "mnist",
    "cifar",
    "emotion",
    "amazonpolarity",
    "yelp",
    "trec",
    "boolq",
    "piqa",
    "hellaswag",
)
LICENSES = (
    "mit",
    "apache-2.0",
    "cc-by-4.0",
    "cc-by-sa-4.0",
    "other",
    "unknown",
    "openrail",
    "cc0-1.0",
)
TASKS = (
    ("text-classification", "text"),
    ("question-answering", "text"),
    ("text-generation", "text"),
    ("translation", "text"),
    ("summarization", "text"),
    ("image-classification", "image"),
    ("object-detection", "image"),
    ("automatic-speech-recognition", "audio"),
    ("robotics", "timeseries"),
    ("tabular-classification", "tabular"),
)
LANGUAGES = ("en", "en", "en", "fr", "de", "zh", "es", "ja", "ru", "ar", "hi", "pt")
SIZES = (
    "n<1K",
    "1K<n<10K",
    "10K<n<100K",
    "100K<n<1M",
    "1M<n<10M",
    "10M<n<100M",
)
FORMATS = ("parquet", "json", "csv", "imagefolder", "webdataset", "text", "audiofolder")
SENTENCES = (
    "It contains curated examples collected from public sources.",
    "Each record has an input and a label; see the dataset card for details.",
    "The data was collected in 2024 and cleaned for duplicates.",
    "Splits: train, validation and test.",
    "Please cite the accompanying paper if you use this dataset.",
    "This dataset was created using LeRobot.",
    "Machine-translated from the English original, then reviewed by volunteers.",
    "Synthetic data generated with a large language model.",
)
HOSTILE = (
    "Template: {{7*7}} ${7*7} <%= 7*7 %> #{7*7} {{ config.items() }}",
    "<script>alert(1)</script><img src=x onerror=alert(2)> <b>bold</b>",
    "${jndi:ldap://127.0.0.1:1389/x} ${jndi:x}",
    "'; DROP TABLE hf_datasets; -- \" OR 1=1 --",
    "filecache::s3://bucket/key simplecache::http://127.0.0.1:1/payload zip://*::file:///etc/passwd",
    "Unicode: 🤗🚀 数据集 データセット مجموعة البيانات é (e\u0301) zero\u200bwidth RTL\u202eoverride",
    "Line one\nLine two\r\nTabbed\tvalue\n\nLine\u2028separator and\u2029paragraph",
    'Quotes " and \\ backslashes C:\\temp\\x.csv and \\u0041 literal and \\n literal',
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝟙𝟚𝟛 and astral 🧪 plus NBSP\u00a0here",
    "%s %d %n {0} {name} $1 \\1 ../../etc/passwd",
)


def _long_description(k: int) -> str:
    words = ("lorem", "ipsum", "dolor", "sit", "amet", "données", "🤗", "<tag>", "{{x}}", "data")
    parts = []
    n = 0
    j = k
    while n < 20_000:
        w = words[j % len(words)]
        j = (j * 7 + 3) % 1009
        parts.append(w)
        n += len(w) + 1
    return f"Very long card #{k}.\n" + " ".join(parts)


LONG_DESCRIPTIONS = tuple(_long_description(k) for k in range(3))
