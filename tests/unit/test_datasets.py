"""Dataset references: the schema, inline items, manifests (JSONL/CSV/JSON) and resolve_dataset."""

from __future__ import annotations

import msgspec
import pytest

from service.datasets import DatasetRef, Item, normalize_split, resolve_dataset
from service.datasets.manifest import guess_manifest_format, parse_manifest
from service.errors import InvalidDataset, PayloadTooLarge
from service.fetch.fetcher import Fetcher
from service.settings import Settings


def decode_ref(body: dict) -> DatasetRef:
    return msgspec.convert(body, DatasetRef)


def parse(data: bytes | str, fmt: str, **options) -> list[Item]:
    raw = data.encode() if isinstance(data, str) else data
    options = {"base_uri": None, "max_items": 100, "max_uri_length": 200, **options}
    return parse_manifest(raw, fmt=fmt, **options)


# --- the schema ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"items": [{"uri": "https://h/a.jpg"}], "manifest_uri": "https://h/m.jsonl"},
        {"manifest_uri": "https://h/m", "archive_uri": "https://h/a.zip"},
        {"archive_uri": "https://h/a.zip", "manifest_format": "csv"},
    ],
)
def test_exactly_one_form(body):
    with pytest.raises(msgspec.ValidationError, match="exactly one|only with"):
        decode_ref(body)


def test_schema_errors_name_the_field():
    with pytest.raises(msgspec.ValidationError, match=r"\$\.items\[1\]\.label"):
        decode_ref({"items": [{"uri": "a"}, {"uri": "b", "label": 3}]})
    with pytest.raises(msgspec.ValidationError, match=r"missing required field `uri`.*items\[0\]"):
        decode_ref({"items": [{"label": "cat"}]})


def test_schema_has_descriptions_for_openapi():
    schema = msgspec.json.schema(DatasetRef)
    props = schema["$defs"]["DatasetRef"]["properties"]
    assert all(props[name].get("description") for name in ("items", "manifest_uri", "archive_uri"))


# --- inline items --------------------------------------------------------------------------


async def resolve(body: dict, **settings):
    settings_obj = Settings(**settings)
    async with Fetcher(settings_obj) as fetcher:
        return await resolve_dataset(decode_ref(body), fetcher=fetcher, settings=settings_obj)


async def test_inline_items_are_normalised():
    body = {
        "items": [
            {"uri": "https://h/a.jpg", "label": " cat ", "split": "Training", "extra": True},
            {"uri": "https://h/b.jpg", "id": 7, "split": "validation", "label": ""},
            {
                "uri": "https://h/c.jpg",
                "split": "holdout",
                "annotations": ["cat", {"annotator": "ann-2", "label": "dog"}],
            },
        ]
    }
    resolved = await resolve(body)
    assert resolved.source == "items" and resolved.local_files == {}
    assert resolved.items == [
        Item(id="0", uri="https://h/a.jpg", label="cat", split="train"),
        Item(id="7", uri="https://h/b.jpg", label=None, split="val"),
        Item(
            id="2",
            uri="https://h/c.jpg",
            split="holdout",
            annotations=((None, "cat"), ("ann-2", "dog")),
        ),
    ]


async def test_duplicate_ids_name_both_places():
    body = {"items": [{"uri": "a", "id": "x"}, {"uri": "b"}, {"uri": "c", "id": "x"}]}
    with pytest.raises(InvalidDataset, match=r"duplicate id 'x' at items\[0\] and items\[2\]") as e:
        await resolve(body)
    assert e.value.field == "dataset.items"
    # A generated id colliding with an explicit one says so.
    with pytest.raises(InvalidDataset, match="generated from the position"):
        await resolve({"items": [{"uri": "a", "id": "1"}, {"uri": "b"}]})


async def test_inline_limits():
    with pytest.raises(PayloadTooLarge, match="at most 2"):
        await resolve({"items": [{"uri": f"https://h/{i}"} for i in range(3)]}, max_items=2)
    with pytest.raises(InvalidDataset, match=r"items\[0\]: uri is longer than 30"):
        await resolve({"items": [{"uri": "https://h/" + "a" * 30}]}, max_uri_length=30)
    with pytest.raises(InvalidDataset, match="no items"):
        await resolve({"items": []})
    with pytest.raises(InvalidDataset, match=r"items\[0\]: uri is empty"):
        await resolve({"items": [{"uri": "  "}]})


def test_normalize_split():
    assert [normalize_split(s) for s in ("train", "TRAIN", "val", "Validation", "valid")] == [
        "train",
        "train",
        "val",
        "val",
        "val",
    ]
    assert normalize_split(" test ") == "test"
    assert normalize_split("holdout-2") == "holdout-2"
    assert normalize_split("") is None and normalize_split(None) is None


# --- manifests -----------------------------------------------------------------------------


def test_jsonl_manifest_and_relative_uris():
    text = '{"uri": "img/a.jpg", "label": "cat"}\n\n{"uri": "https://o/b.jpg", "split": "test"}\n'
    items = parse(text, "jsonl", base_uri="https://bucket.example/data/m.jsonl?sig=1")
    assert [i.uri for i in items] == ["https://bucket.example/data/img/a.jpg", "https://o/b.jpg"]
    assert [i.id for i in items] == ["0", "1"]
    assert items[1].split == "test"


def test_jsonl_errors_name_the_line():
    with pytest.raises(InvalidDataset, match=r"manifest line 3: .*`\$\.label`"):
        parse('{"uri": "a"}\n\n{"uri": "b", "label": 5}\n', "jsonl")
    with pytest.raises(
        InvalidDataset, match=r"manifest line 2: Object missing required field `uri`"
    ):
        parse('{"uri": "a"}\n{"label": "x"}\n', "jsonl")
    with pytest.raises(InvalidDataset, match=r"manifest line 1: .*malformed|manifest line 1"):
        parse("{not json\n", "jsonl")


def test_csv_manifest():
    text = (
        "\ufeffId,URI,label,split,annotations,notes\n"
        'a,https://h/a.jpg,cat,train,"[""cat"", {""annotator"": ""bo"", ""label"": ""dog""}]",x\n'
        "b,https://h/b.jpg,,,,\n"
        "\n"
    )
    items = parse(text, "csv")
    assert items == [
        Item(
            id="a",
            uri="https://h/a.jpg",
            label="cat",
            split="train",
            annotations=((None, "cat"), ("bo", "dog")),
        ),
        Item(id="b", uri="https://h/b.jpg"),
    ]


def test_csv_bad_lines_are_named():
    header = "uri,label\n"
    with pytest.raises(
        InvalidDataset, match="manifest line 3: expected 2 fields like the header, got 3"
    ):
        parse(header + "https://h/a.jpg,cat\nhttps://h/b.jpg,dog,extra\n", "csv")
    with pytest.raises(InvalidDataset, match="manifest line 2: uri is missing"):
        parse(header + ",cat\n", "csv")
    with pytest.raises(InvalidDataset, match="line 1: no column holds the image URI"):
        parse("name,label\nx,y\n", "csv")
    with pytest.raises(InvalidDataset, match="manifest line 2: annotations is not a JSON array"):
        parse("uri,annotations\nhttps://h/a.jpg,cat\n", "csv")
    with pytest.raises(InvalidDataset, match="not UTF-8"):
        parse(b"uri\n\xff\xfe\n", "csv")
    # A quoted field spanning lines: the next error still names the physical line.
    with pytest.raises(InvalidDataset, match="manifest line 4: expected 2"):
        parse(header + 'https://h/a.jpg,"two\nlines"\nhttps://h/b.jpg\n', "csv")


def test_json_manifest_forms_and_errors():
    assert [i.uri for i in parse('[{"uri": "a"}, {"uri": "b"}]', "json")] == ["a", "b"]
    assert [i.split for i in parse('{"items": [{"uri": "a", "split": "VAL"}]}', "json")] == ["val"]
    with pytest.raises(InvalidDataset, match=r"\$\[1\]\.uri"):
        parse('[{"uri": "a"}, {"uri": 5}]', "json")
    with pytest.raises(InvalidDataset, match="duplicate id '0' at manifest item \\[0\\]"):
        parse('[{"uri": "a"}, {"uri": "b", "id": "0"}]', "json")


def test_csv_columns_are_found_by_common_names():
    items = parse(
        "filepath,class,subset\nhttps://h/a.jpg,cat,training\nhttps://h/b.jpg,dog,\n", "csv"
    )
    assert [(i.uri, i.label, i.split) for i in items] == [
        ("https://h/a.jpg", "cat", "train"),
        ("https://h/b.jpg", "dog", None),
    ]
    # HF imagefolder's metadata.csv names: file_name, label.
    items = parse("File_Name,Label\nhttps://h/a.jpg,3\n", "csv")
    assert (items[0].uri, items[0].label) == ("https://h/a.jpg", "3")
    # "uri" itself wins over an alias; an explicit mapping wins over both.
    items = parse("uri,path,label\nhttps://h/u.jpg,https://h/p.jpg,x\n", "csv")
    assert items[0].uri == "https://h/u.jpg"
    items = parse(
        "uri,path,kind\nhttps://h/u.jpg,https://h/p.jpg,x\n", "csv",
        columns={"uri": "PATH", "label": "kind"},
    )  # fmt: skip
    assert (items[0].uri, items[0].label) == ("https://h/p.jpg", "x")
    with pytest.raises(InvalidDataset, match="columns maps label to 'klass', which is not there"):
        parse("uri,label\nhttps://h/a.jpg,x\n", "csv", columns={"label": "klass"})


def test_jsonl_and_json_keys_are_mapped_too():
    lines = '{"image": "https://h/a.jpg", "target": 3, "image_id": 7}\n{"image": "https://h/b.jpg", "target": 4}\n'
    items = parse(lines, "jsonl")
    assert [(i.id, i.uri, i.label) for i in items] == [
        ("7", "https://h/a.jpg", "3"),
        ("1", "https://h/b.jpg", "4"),
    ]
    items = parse(
        '[{"src": "https://h/a.jpg", "y": "cat"}]', "json", columns={"uri": "src", "label": "y"}
    )
    assert (items[0].uri, items[0].label) == ("https://h/a.jpg", "cat")
    with pytest.raises(InvalidDataset, match="manifest line 1: no column holds the image URI"):
        parse('{"picture": "https://h/a.jpg"}\n', "jsonl")


def test_columns_in_the_dataset_reference_are_checked():
    ref = decode_ref({"manifest_uri": "https://h/m.csv", "columns": {"uri": "filepath"}})
    assert ref.columns == {"uri": "filepath"}
    with pytest.raises(msgspec.ValidationError, match="unknown item fields \\['colour'\\]"):
        decode_ref({"manifest_uri": "https://h/m.csv", "columns": {"colour": "c"}})
    with pytest.raises(msgspec.ValidationError, match="columns applies only with manifest_uri"):
        decode_ref({"archive_uri": "https://h/a.zip", "columns": {"uri": "c"}})


def test_manifest_item_limit():
    lines = "".join(f'{{"uri": "https://h/{i}.jpg"}}\n' for i in range(6))
    with pytest.raises(PayloadTooLarge, match="more than 5 items"):
        parse(lines, "jsonl", max_items=5)
    csv_text = "uri\n" + "".join(f"https://h/{i}.jpg\n" for i in range(6))
    with pytest.raises(PayloadTooLarge):
        parse(csv_text, "csv", max_items=5)
    with pytest.raises(PayloadTooLarge):
        parse("[" + ",".join(['{"uri": "a"}'] * 6) + "]", "json", max_items=5)


def test_format_guessing():
    assert guess_manifest_format("https://h/m.csv?x=1", b"{") == "csv"
    assert guess_manifest_format("https://h/m.NDJSON", b"") == "jsonl"
    assert guess_manifest_format("https://h/m", b'  [{"uri": "a"}]') == "json"
    assert guess_manifest_format("https://h/m", b'{"uri": "a"}\n{"uri": "b"}') == "jsonl"
    assert guess_manifest_format("https://h/m", b'{"items": [{"uri": "a"}]}') == "json"
    assert guess_manifest_format("https://h/m", b'{\n  "items": []\n}') == "json"
    assert guess_manifest_format("https://h/m", b"uri,label\n") == "csv"


async def test_manifest_through_the_fetcher(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "m.csv").write_text("uri,label\nimg/a.jpg,cat\nimg/b.jpg,dog\n")
    resolved = await resolve({"manifest_uri": f"file://{root}/m.csv"}, data_root=str(root))
    assert resolved.source == "manifest"
    assert [i.uri for i in resolved.items] == [
        f"file://{root}/img/a.jpg",
        f"file://{root}/img/b.jpg",
    ]
    (root / "big.jsonl").write_text('{"uri": "a"}\n' * 100)
    with pytest.raises(PayloadTooLarge, match="over 50 bytes") as big:
        await resolve(
            {"manifest_uri": f"file://{root}/big.jsonl"}, data_root=str(root), max_manifest_bytes=50
        )
    assert big.value.field == "dataset.manifest_uri"
    with pytest.raises(InvalidDataset, match=r"could not be fetched \(fetch_refused\)") as refused:
        await resolve({"manifest_uri": "http://127.0.0.1/m.jsonl?sig=SECRET"})
    assert "SECRET" not in refused.value.detail
    with pytest.raises(InvalidDataset, match=r"manifest line 1"):
        (root / "bad.jsonl").write_text('{"uri": 1}\n')
        await resolve({"manifest_uri": f"file://{root}/bad.jsonl"}, data_root=str(root))
