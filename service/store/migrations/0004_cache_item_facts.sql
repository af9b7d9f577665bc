-- What a report derives per image besides its vectors, so a cached image needs no decode: the
-- decode facts (size, mode, hashes, quality statistics; ``ImageFacts`` as JSON) and the review
-- page's thumbnail (JPEG bytes, filled once a review run made it).
ALTER TABLE embedding_cache ADD COLUMN facts jsonb, ADD COLUMN thumbnail bytea;

-- Near-duplicate calibration: the descriptors of the planted copies of one image. Copy ``s`` of a
-- chunk's sample takes the ``s``-th draw of the request's seed (the crop offset), so the key is
-- (image, seed, position): an unchanged or appended-to dataset finds the same copies.
CREATE TABLE calibration_cache (
    sha256         text NOT NULL,
    model          text NOT NULL,
    preprocessing  text NOT NULL,
    recipe         text NOT NULL,
    descriptors    bytea NOT NULL,
    used_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sha256, model, preprocessing, recipe)
);
CREATE INDEX calibration_cache_used ON calibration_cache (used_at);
