-- hf_croissant_assets: the lake's tables and example queries (Athena dialect).
--
-- The DDL below is what the project generates from hf_croissant_assets/schema.py (the single
-- source of truth; a test checks these columns against it). Replace YOUR-BUCKET/lake with your
-- HF_CROISSANT_LAKE. Partition projection on `date`: no MSCK REPAIR TABLE, ever; a new day is
-- queryable as soon as its parquet file exists.
-- Types widened from the seed job: downloads_all_time and used_storage are bigint (int overflows).
-- `date` is a reserved word: backticks in DDL, double quotes in queries.
--
-- Each `-- name:` section is one statement. The example queries also run on the embedded DuckDB
-- (translated with sqlglot; see hf_croissant_assets/warehouse/queries.py).

-- name: create_hf_datasets
CREATE EXTERNAL TABLE IF NOT EXISTS `hf_croissant`.`hf_datasets` (
  `request_time` string COMMENT 'ISO-8601 UTC time the listing page was fetched',
  `dataset` string COMMENT 'dataset id, e.g. rajpurkar/squad_v2',
  `author` string,
  `created_at` timestamp,
  `last_modified` timestamp,
  `private` boolean,
  `disabled` boolean,
  `gated` string COMMENT 'false, auto or manual',
  `downloads` int COMMENT 'downloads over the last 30 days',
  `downloads_all_time` bigint COMMENT 'bigint: all-time counts exceed 32 bits',
  `tags` array<string>,
  `license` string COMMENT 'from the license: tag',
  `trending_score` double,
  `likes` int,
  `sha` string COMMENT 'git sha of the repo head',
  `used_storage` bigint COMMENT 'bytes',
  `description` string,
  `paperswithcode_id` string,
  `license_spdx` string COMMENT 'SPDX id of the license: tag (null when it has none); the raw tag is license'
)
PARTITIONED BY (`date` date)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/lake/hf_datasets/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'hf_croissant_assets.schema_version'='1',
  'projection.enabled'='true',
  'projection.date.type'='date',
  'projection.date.format'='yyyy-MM-dd',
  'projection.date.range'='2026-01-01,NOW',
  'projection.date.interval'='1',
  'projection.date.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/lake/hf_datasets/date=${date}/'
);

-- name: create_hf_croissant
CREATE EXTERNAL TABLE IF NOT EXISTS `hf_croissant`.`hf_croissant` (
  `dataset` string,
  `request_time` string COMMENT 'ISO-8601 UTC time the document was fetched; may be an earlier day',
  `status` int COMMENT 'HTTP status, null if never fetched',
  `reason` string COMMENT 'error body or message for a non-200 or malformed answer',
  `croissant` string COMMENT 'the raw JSON-LD text, untouched',
  `sha` string COMMENT 'repo sha when the document was fetched',
  `last_modified` timestamp COMMENT 'repo lastModified when the document was fetched',
  `conforms_to` string COMMENT 'first dct:conformsTo value',
  `name` string,
  `description` string,
  `license_url` string,
  `url` string,
  `keywords` array<string>,
  `creator_name` string,
  `date_published` string,
  `version` string,
  `cite_as` string,
  `record_set_count` int,
  `record_set_names` array<string>,
  `file_object_count` int,
  `file_set_count` int,
  `field_count` int,
  `encoding_formats` array<string>,
  `parse_error` string COMMENT 'why the document could not be (fully) parsed',
  `license_spdx` string COMMENT 'SPDX id of the license URL (null when not recognised); the raw URL is license_url'
)
PARTITIONED BY (`date` date)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/lake/hf_croissant/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'hf_croissant_assets.schema_version'='1',
  'projection.enabled'='true',
  'projection.date.type'='date',
  'projection.date.format'='yyyy-MM-dd',
  'projection.date.range'='2026-01-01,NOW',
  'projection.date.interval'='1',
  'projection.date.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/lake/hf_croissant/date=${date}/'
);

-- name: create_hf_dataset_changes
CREATE EXTERNAL TABLE IF NOT EXISTS `hf_croissant`.`hf_dataset_changes` (
  `dataset` string COMMENT 'dataset id',
  `change` string COMMENT 'event kind: created, deleted, updated, license_changed, gated_changed, disabled_changed, croissant_appeared, croissant_disappeared, croissant_changed, croissant_status_changed, downloads_jump',
  `before` string COMMENT 'value on previous_date (null if absent)',
  `after` string COMMENT 'value on the day (null if absent)',
  `previous_date` date COMMENT 'the newest earlier snapshot compared with'
)
PARTITIONED BY (`date` date)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/lake/hf_dataset_changes/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'hf_croissant_assets.schema_version'='1',
  'projection.enabled'='true',
  'projection.date.type'='date',
  'projection.date.format'='yyyy-MM-dd',
  'projection.date.range'='2026-01-01,NOW',
  'projection.date.interval'='1',
  'projection.date.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/lake/hf_dataset_changes/date=${date}/'
);

-- name: create_hf_croissant_fields
CREATE EXTERNAL TABLE IF NOT EXISTS `hf_croissant`.`hf_croissant_fields` (
  `dataset` string,
  `record_set` string COMMENT 'the record sets name, else its @id, else #index',
  `field_path` string COMMENT 'field names from the record set down, joined by /; unique within a record set',
  `field_name` string COMMENT 'name, else the last segment of @id, else #index',
  `field_id` string COMMENT 'the fields @id as declared',
  `depth` int COMMENT '0 for a record sets field, 1 for its subField, ...',
  `data_types` array<string> COMMENT 'dataType values as declared',
  `description` string COMMENT 'capped',
  `source_file` string COMMENT '@id of the FileObject / FileSet it extracts from',
  `source_extract` string COMMENT 'column, jsonPath or fileProperty',
  `source_column` string COMMENT 'the extract value (column name, path, property)',
  `is_array` boolean COMMENT 'isArray (or the older repeated) is true',
  `references` string COMMENT '@id of the referenced field, when declared',
  `reason` string COMMENT 'what was capped or unusable while exploding the document'
)
PARTITIONED BY (`date` date)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/lake/hf_croissant_fields/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'hf_croissant_assets.schema_version'='1',
  'projection.enabled'='true',
  'projection.date.type'='date',
  'projection.date.format'='yyyy-MM-dd',
  'projection.date.range'='2026-01-01,NOW',
  'projection.date.interval'='1',
  'projection.date.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/lake/hf_croissant_fields/date=${date}/'
);

-- name: create_hf_croissant_files
CREATE EXTERNAL TABLE IF NOT EXISTS `hf_croissant`.`hf_croissant_files` (
  `dataset` string,
  `file_id` string COMMENT '@id, else name, else #index; unique within a dataset',
  `kind` string COMMENT 'FileObject, FileSet or the declared @type',
  `name` string,
  `content_url` string,
  `encoding_format` string COMMENT 'first encodingFormat value',
  `content_size` string COMMENT 'contentSize as declared (123 B, 1.2 MB, 42)',
  `content_size_bytes` bigint COMMENT 'contentSize parsed to bytes (kB = 1000)',
  `includes` array<string> COMMENT 'FileSet glob(s)',
  `contained_in` array<string> COMMENT '@id(s) of the containing file(s)',
  `sha256` string,
  `md5` string,
  `reason` string COMMENT 'what was capped or unusable (e.g. an unparsable size)'
)
PARTITIONED BY (`date` date)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/lake/hf_croissant_files/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'hf_croissant_assets.schema_version'='1',
  'projection.enabled'='true',
  'projection.date.type'='date',
  'projection.date.format'='yyyy-MM-dd',
  'projection.date.range'='2026-01-01,NOW',
  'projection.date.interval'='1',
  'projection.date.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/lake/hf_croissant_files/date=${date}/'
);

-- name: create_croissant_validation
CREATE EXTERNAL TABLE IF NOT EXISTS `hf_croissant`.`croissant_validation` (
  `dataset` string,
  `document_sha256` string COMMENT 'sha256 of the validated document text',
  `valid` boolean COMMENT 'null when not validated (see reason)',
  `errors` array<string> COMMENT 'validator errors, capped',
  `warnings` array<string> COMMENT 'validator warnings, capped',
  `error_count` int COMMENT 'errors before capping',
  `warning_count` int COMMENT 'warnings before capping',
  `validator_version` string COMMENT 'mlcroissant version that produced the verdict',
  `validated_at` string COMMENT 'ISO-8601 UTC time of validation; may be an earlier day',
  `seconds` double COMMENT 'time the validator took on the document',
  `reason` string COMMENT 'timeout, remote @context, not validated yet, ...'
)
PARTITIONED BY (`date` date)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/lake/croissant_validation/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'hf_croissant_assets.schema_version'='1',
  'projection.enabled'='true',
  'projection.date.type'='date',
  'projection.date.format'='yyyy-MM-dd',
  'projection.date.range'='2026-01-01,NOW',
  'projection.date.interval'='1',
  'projection.date.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/lake/croissant_validation/date=${date}/'
);

-- name: licenses_latest
-- Which licenses do datasets declare (license: tag), on the newest snapshot?
SELECT coalesce(license, '(none)') AS license, count(*) AS datasets
FROM hf_datasets
WHERE "date" = (SELECT max("date") FROM hf_datasets)
GROUP BY 1
ORDER BY datasets DESC, license
LIMIT 20;

-- name: gated_share_latest
-- Share of gated datasets (auto / manual) on the newest snapshot.
SELECT gated, count(*) AS datasets,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS pct
FROM hf_datasets
WHERE "date" = (SELECT max("date") FROM hf_datasets)
GROUP BY gated
ORDER BY datasets DESC, gated;

-- name: growth_per_day
-- Datasets listed per daily snapshot.
SELECT "date", count(*) AS datasets
FROM hf_datasets
GROUP BY "date"
ORDER BY "date";

-- name: mit_and_gated_latest
-- Which datasets are MIT-licensed and gated?
SELECT dataset, gated, downloads
FROM hf_datasets
WHERE "date" = (SELECT max("date") FROM hf_datasets)
  AND license = 'mit' AND gated <> 'false'
ORDER BY downloads DESC, dataset;

-- name: downloads_trend
-- How did downloads of the most downloaded dataset move over the snapshots?
SELECT "date", dataset, downloads, downloads_all_time
FROM hf_datasets
WHERE dataset = (
  SELECT dataset FROM hf_datasets
  WHERE "date" = (SELECT max("date") FROM hf_datasets)
  ORDER BY downloads DESC, dataset
  LIMIT 1
)
ORDER BY "date";

-- name: croissant_availability_latest
-- Croissant availability by HTTP status (200 ok, 400 no parquet conversion, 401 gated,
-- 404 gone, null = not fetched yet) on the newest snapshot.
SELECT status, count(*) AS datasets
FROM hf_croissant
WHERE "date" = (SELECT max("date") FROM hf_croissant)
GROUP BY status
ORDER BY datasets DESC, status;

-- name: no_croissant_latest
-- Which datasets have no Croissant document, and why?
SELECT dataset, status, reason
FROM hf_croissant
WHERE "date" = (SELECT max("date") FROM hf_croissant)
  AND (status IS NULL OR status <> 200)
ORDER BY dataset;

-- name: croissant_vs_tag_license_latest
-- Licenses declared in Croissant vs. the license: tag of the listing, on the newest snapshot.
SELECT d.license AS tag_license, c.license_url AS croissant_license, count(*) AS datasets
FROM hf_croissant c
JOIN hf_datasets d ON d.dataset = c.dataset AND d."date" = c."date"
WHERE c."date" = (SELECT max("date") FROM hf_croissant) AND c.status = 200
GROUP BY 1, 2
ORDER BY datasets DESC, tag_license, croissant_license;

-- name: changed_latest
-- Datasets changed since the previous snapshot (their repo sha moved) or new in the newest one.
WITH days AS (
  SELECT max("date") AS latest,
         max("date") FILTER (WHERE "date" < (SELECT max("date") FROM hf_datasets)) AS previous
  FROM hf_datasets
)
SELECT t.dataset, CASE WHEN p.dataset IS NULL THEN 'new' ELSE 'changed' END AS change
FROM hf_datasets t
CROSS JOIN days
LEFT JOIN hf_datasets p ON p.dataset = t.dataset AND p."date" = days.previous
WHERE t."date" = days.latest AND (p.dataset IS NULL OR p.sha <> t.sha)
ORDER BY change, t.dataset;

-- name: changes_by_kind_latest
-- What changed on the Hub on the newest day (vs. the newest earlier snapshot), by kind.
SELECT change, count(*) AS events
FROM hf_dataset_changes
WHERE "date" = (SELECT max("date") FROM hf_dataset_changes)
GROUP BY 1
ORDER BY events DESC, change;

-- name: license_changes_latest
-- Which license changes happened on the newest day (before -> after), most frequent first.
SELECT coalesce(before, '(none)') AS license_before, coalesce(after, '(none)') AS license_after,
       count(*) AS datasets
FROM hf_dataset_changes
WHERE "date" = (SELECT max("date") FROM hf_dataset_changes) AND change = 'license_changed'
GROUP BY 1, 2
ORDER BY datasets DESC, license_before, license_after;

-- The Croissant in depth: fields, files, validity, licenses ----------------------------------

-- name: field_data_types_latest
-- Which data types do Croissant fields declare, how often, in how many datasets (newest day)?
SELECT data_type, count(*) AS fields, count(DISTINCT dataset) AS datasets
FROM hf_croissant_fields
CROSS JOIN UNNEST(data_types) AS t(data_type)
WHERE "date" = (SELECT max("date") FROM hf_croissant_fields)
GROUP BY data_type
ORDER BY fields DESC, data_type;

-- name: media_fields_latest
-- Which datasets have an image, audio or bounding-box field (newest day)? Bounding boxes are
-- the cr:BoundingBox type or, as the Hub writes them, a field named bbox / bounding_box(es).
SELECT dataset,
       sum(CASE WHEN lower(data_type) LIKE '%imageobject' THEN 1 ELSE 0 END) AS image_fields,
       sum(CASE WHEN lower(data_type) LIKE '%audioobject' THEN 1 ELSE 0 END) AS audio_fields,
       sum(CASE WHEN lower(data_type) LIKE '%boundingbox'
                  OR lower(field_name) IN ('bbox', 'bboxes', 'bounding_box', 'bounding_boxes')
                THEN 1 ELSE 0 END) AS bbox_fields
FROM hf_croissant_fields
CROSS JOIN UNNEST(CASE WHEN cardinality(data_types) = 0 THEN ARRAY[''] ELSE data_types END)
  AS t(data_type)
WHERE "date" = (SELECT max("date") FROM hf_croissant_fields)
GROUP BY dataset
HAVING sum(CASE WHEN lower(data_type) LIKE '%imageobject' OR lower(data_type) LIKE '%audioobject'
                  OR lower(data_type) LIKE '%boundingbox'
                  OR lower(field_name) IN ('bbox', 'bboxes', 'bounding_box', 'bounding_boxes')
                THEN 1 ELSE 0 END) > 0
ORDER BY dataset;

-- name: declared_bytes_by_format_latest
-- How many bytes does the Hub declare per file format (contentSize, parsed), newest day?
SELECT coalesce(encoding_format, '(none)') AS encoding_format,
       count(*) AS files,
       count(content_size_bytes) AS files_with_size,
       coalesce(sum(content_size_bytes), 0) AS declared_bytes,
       count(DISTINCT dataset) AS datasets
FROM hf_croissant_files
WHERE "date" = (SELECT max("date") FROM hf_croissant_files)
GROUP BY 1
ORDER BY declared_bytes DESC, encoding_format;

-- name: declared_bytes_per_dataset_latest
-- Declared bytes per dataset and format (files that state a contentSize), newest day.
SELECT dataset, encoding_format, count(*) AS files, sum(content_size_bytes) AS declared_bytes
FROM hf_croissant_files
WHERE "date" = (SELECT max("date") FROM hf_croissant_files)
  AND content_size_bytes IS NOT NULL
GROUP BY dataset, encoding_format
ORDER BY declared_bytes DESC, dataset, encoding_format;

-- name: validity_latest
-- How many Croissant documents does the MLCommons reference validator accept (newest day)?
-- valid is null for a document not validated (timeout, over the run's budget: see reason).
SELECT CASE WHEN valid THEN 'valid' WHEN NOT valid THEN 'invalid' ELSE 'not validated' END
         AS verdict,
       count(*) AS documents
FROM croissant_validation
WHERE "date" = (SELECT max("date") FROM croissant_validation)
GROUP BY 1
ORDER BY documents DESC, verdict;

-- name: top_validation_errors_latest
-- The most common validation errors (the node name that leads a message replaced by "…", so
-- one kind of error groups across datasets; the attribute and type names stay), newest day.
-- Swap errors for warnings for the warnings.
SELECT regexp_replace(error, '^"[^"]*"', '"…"') AS error, count(DISTINCT dataset) AS documents
FROM croissant_validation
CROSS JOIN UNNEST(errors) AS t(error)
WHERE "date" = (SELECT max("date") FROM croissant_validation)
GROUP BY 1
ORDER BY documents DESC, error
LIMIT 20;

-- name: license_agreement_latest
-- Does the license: tag agree with the Croissant license (both as SPDX ids), newest day?
SELECT CASE
         WHEN d.license_spdx IS NULL AND c.license_spdx IS NULL THEN 'neither is SPDX'
         WHEN d.license_spdx = c.license_spdx THEN 'agree'
         WHEN d.license_spdx IS NULL THEN 'Croissant only'
         WHEN c.license_spdx IS NULL THEN 'tag only'
         ELSE 'disagree'
       END AS agreement,
       count(*) AS datasets
FROM hf_datasets d
JOIN hf_croissant c ON c.dataset = d.dataset AND c."date" = d."date"
WHERE d."date" = (SELECT max("date") FROM hf_datasets) AND c.status = 200
GROUP BY 1
ORDER BY datasets DESC, agreement;

-- name: license_disagreements_latest
-- Which datasets declare different licenses in their tag and their Croissant (raw values
-- kept next to the SPDX ids), newest day?
SELECT d.dataset, d.license AS tag, d.license_spdx AS tag_spdx,
       c.license_url AS croissant_license, c.license_spdx AS croissant_spdx
FROM hf_datasets d
JOIN hf_croissant c ON c.dataset = d.dataset AND c."date" = d."date"
WHERE d."date" = (SELECT max("date") FROM hf_datasets) AND c.status = 200
  AND d.license_spdx IS NOT NULL AND c.license_spdx IS NOT NULL
  AND d.license_spdx <> c.license_spdx
ORDER BY d.dataset;
