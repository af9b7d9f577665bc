-- Reference sets: the per-item material of an audited dataset (ids, URIs, labels, splits, hashes,
-- duplicate descriptor parts) so that later audits compare new items with it without reading its
-- images again. A set belongs either to a succeeded job (``job_id``; removed with the job) or is a
-- named collection (``name``; kept until deleted).
CREATE TABLE reference_sets (
    id             bigserial PRIMARY KEY,
    name           text UNIQUE,
    job_id         uuid UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
    model          text NOT NULL,
    preprocessing  text NOT NULL,
    source         jsonb NOT NULL,
    items          integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((name IS NULL) <> (job_id IS NULL))
);

-- One row per loaded item; ``descriptor``: little-endian float32 stacked parts (dct6 | dct12 | grid).
CREATE TABLE reference_items (
    set_id      bigint NOT NULL REFERENCES reference_sets (id) ON DELETE CASCADE,
    row         integer NOT NULL,
    item_id     text NOT NULL,
    uri         text NOT NULL,
    label       text,
    split       text,
    sha256      text,
    pixel_hash  text,
    descriptor  bytea NOT NULL,
    PRIMARY KEY (set_id, row)
);
