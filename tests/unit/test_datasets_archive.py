"""ImageFolder archives: layouts, extraction to scratch, and every refusal."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from service.datasets import DatasetRef, resolve_dataset
from service.datasets import archive as archive_module
from service.datasets.archive import ArchiveLimits, extract_image_folder
from service.errors import InvalidDataset, ItemError, PayloadTooLarge
from service.fetch.fetcher import Fetcher
from service.settings import Settings

LIMITS = ArchiveLimits(max_members=100, max_unpacked_bytes=10_000_000, max_member_bytes=1_000_000)


def make_zip(path: Path, members: dict[str, bytes], *, symlinks: dict[str, str] | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def make_tar(path: Path, members: dict[str, bytes], *, mode: str = "w:gz", links=None):
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, (kind, target) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            archive.addfile(info)
    return path


def extract(tmp_path: Path, archive: Path, limits: ArchiveLimits = LIMITS):
    dest = tmp_path / "out"
    dest.mkdir(exist_ok=True)
    return extract_image_folder(archive, dest, limits=limits)


def test_zip_label_file_layout(tmp_path):
    archive = make_zip(
        tmp_path / "a.zip",
        {
            "cat/1.jpg": b"c1",
            "cat/2.PNG": b"c2",
            "dog/1.jpg": b"d1",
            "dog/README.txt": b"ignored",
            "__MACOSX/cat/._1.jpg": b"ignored",
            "cat/.hidden.jpg": b"ignored",
        },
    )
    items, local = extract(tmp_path, archive)
    assert [(i.id, i.label, i.split) for i in items] == [
        ("cat/1.jpg", "cat", None),
        ("cat/2.PNG", "cat", None),
        ("dog/1.jpg", "dog", None),
    ]
    assert items[0].uri == "archive:cat/1.jpg"
    assert {k: Path(v).read_bytes() for k, v in local.items()} == {
        "cat/1.jpg": b"c1",
        "cat/2.PNG": b"c2",
        "dog/1.jpg": b"d1",
    }
    # Extracted names come from positions, never from member names.
    assert all(
        Path(v).parent == tmp_path / "out" and Path(v).stem.isdigit() for v in local.values()
    )


def test_tar_split_label_file_layout_with_a_wrapping_folder(tmp_path):
    archive = make_tar(
        tmp_path / "a.tar.gz",
        {
            "./mydata/train/cat/1.jpg": b"1",
            "./mydata/Validation/dog/2.jpg": b"2",
            "./mydata/test/dog/3.jpg": b"3",
        },
    )
    items, local = extract(tmp_path, archive)
    assert [(i.id, i.split, i.label) for i in items] == [
        ("mydata/Validation/dog/2.jpg", "val", "dog"),
        ("mydata/test/dog/3.jpg", "test", "dog"),
        ("mydata/train/cat/1.jpg", "train", "cat"),
    ]
    assert Path(local["mydata/train/cat/1.jpg"]).read_bytes() == b"1"


def test_single_split_folder_is_a_split_not_a_wrapper(tmp_path):
    archive = make_tar(tmp_path / "a.tar", {"train/cat/1.jpg": b"1"}, mode="w")
    items, _ = extract(tmp_path, archive)
    assert (items[0].split, items[0].label) == ("train", "cat")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil/x.jpg", "escapes the archive"),
        ("cat/../../x.jpg", "escapes the archive"),
        ("/etc/cron.d/x.jpg", "absolute path"),
        ("C:/x/cat/y.jpg", "absolute path"),
        ("cat\\..\\..\\x.jpg", "backslash"),
        ("cat/inner.zip", "nested archive"),
        ("cat/more.tar.gz", "nested archive"),
    ],
)
def test_malicious_member_names_refuse_the_archive(tmp_path, name, message):
    archive = make_zip(tmp_path / "a.zip", {"cat/ok.jpg": b"ok", name: b"x"})
    with pytest.raises(InvalidDataset, match=message) as caught:
        extract(tmp_path, archive)
    assert "archive member" in caught.value.detail
    assert not any((tmp_path / "out").iterdir())  # nothing extracted before the refusal


def test_symlinks_are_refused(tmp_path):
    zipped = make_zip(
        tmp_path / "a.zip", {"cat/ok.jpg": b"ok"}, symlinks={"cat/l.jpg": "/etc/passwd"}
    )
    with pytest.raises(InvalidDataset, match="symbolic link"):
        extract(tmp_path, zipped)
    for kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        tarred = make_tar(
            tmp_path / f"a{kind!r}.tar",
            {"cat/ok.jpg": b"ok"},
            mode="w",
            links={"cat/l.jpg": (kind, "/etc/passwd")},
        )
        with pytest.raises(InvalidDataset, match="is a link"):
            extract(tmp_path, tarred)


def test_devices_and_fifos_are_refused(tmp_path):
    archive = make_tar(
        tmp_path / "a.tar",
        {"cat/ok.jpg": b"ok"},
        mode="w",
        links={"cat/f.jpg": (tarfile.FIFOTYPE, "")},
    )
    with pytest.raises(InvalidDataset, match="not a regular file"):
        extract(tmp_path, archive)


def test_zip_bomb_is_refused(tmp_path):
    zeros = b"\0" * 20_000_000  # deflates to ~20 KB
    archive = make_zip(tmp_path / "bomb.zip", {"cat/a.jpg": zeros, "cat/b.jpg": zeros})
    assert archive.stat().st_size < 200_000
    limits = ArchiveLimits(
        max_members=100, max_unpacked_bytes=5_000_000, max_member_bytes=50_000_000
    )
    with pytest.raises(PayloadTooLarge, match="unpacks to 40,000,000 bytes"):
        extract(tmp_path, archive, limits)
    assert not any((tmp_path / "out").iterdir())


def test_unpacked_size_is_counted_while_extracting(tmp_path, monkeypatch):
    # Simulate headers that under-declare sizes: the byte count while copying still stops it.
    real_member = archive_module._Member
    monkeypatch.setattr(
        archive_module, "_Member", lambda name, size, handle: real_member(name, 0, handle)
    )
    members = {"cat/a.jpg": b"\1" * 3_000_000, "cat/b.jpg": b"\2" * 3_000_000}
    archive = make_tar(tmp_path / "a.tar", members, mode="w")
    limits = ArchiveLimits(
        max_members=100, max_unpacked_bytes=5_000_000, max_member_bytes=9_000_000
    )
    with pytest.raises(PayloadTooLarge, match="more than 5,000,000 bytes .at member 'cat/b.jpg'"):
        extract(tmp_path, archive, limits)


def test_oversized_member_fails_only_its_item(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"cat/big.jpg": b"\0" * 5000, "cat/small.jpg": b"s"})
    limits = ArchiveLimits(max_members=100, max_unpacked_bytes=1_000_000, max_member_bytes=1000)
    items, local = extract(tmp_path, archive, limits)
    assert [i.id for i in items] == ["cat/big.jpg", "cat/small.jpg"]
    assert isinstance(local["cat/big.jpg"], ItemError) and local["cat/big.jpg"].code == "too_large"
    assert Path(local["cat/small.jpg"]).read_bytes() == b"s"
    assert len(list((tmp_path / "out").iterdir())) == 1  # the partial big file was removed


def test_too_many_members(tmp_path):
    members = {f"cat/{i}.jpg": b"x" for i in range(4)}
    limits = ArchiveLimits(max_members=3, max_unpacked_bytes=1_000_000, max_member_bytes=1000)
    for archive in (make_zip(tmp_path / "a.zip", members), make_tar(tmp_path / "a.tgz", members)):
        with pytest.raises(PayloadTooLarge, match="more than 3 members"):
            extract(tmp_path, archive, limits)


def test_layout_errors(tmp_path):
    mixed = make_zip(tmp_path / "m.zip", {"cat/1.jpg": b"1", "train/dog/2.jpg": b"2"})
    with pytest.raises(InvalidDataset, match="mixes label/file and split/label/file"):
        extract(tmp_path, mixed)
    flat = make_zip(tmp_path / "f.zip", {"1.jpg": b"1", "2.jpg": b"2"})
    with pytest.raises(InvalidDataset, match="does not fit the ImageFolder layout"):
        extract(tmp_path, flat)
    empty = make_zip(tmp_path / "e.zip", {"notes.txt": b"x"})
    with pytest.raises(InvalidDataset, match="holds no images"):
        extract(tmp_path, empty)
    not_archive = tmp_path / "n.zip"
    not_archive.write_bytes(b"just text")
    with pytest.raises(InvalidDataset, match="neither a zip nor a tar"):
        extract(tmp_path, not_archive)
    corrupt = tmp_path / "c.zip"
    corrupt.write_bytes(b"PK\x03\x04" + b"\0" * 50)
    with pytest.raises(InvalidDataset, match="corrupt"):
        extract(tmp_path, corrupt)


async def test_resolve_archive_extracts_to_scratch_and_cleans_up(tmp_path):
    root, scratch = tmp_path / "root", tmp_path / "scratch"
    root.mkdir()
    make_zip(root / "ds.zip", {"train/cat/1.jpg": b"1", "test/dog/2.jpg": b"2"})
    settings = Settings(data_root=str(root), scratch_dir=str(scratch))
    async with Fetcher(settings) as fetcher:
        ref = DatasetRef(archive_uri=f"file://{root}/ds.zip")
        with await resolve_dataset(ref, fetcher=fetcher, settings=settings) as resolved:
            assert resolved.source == "archive"
            assert [i.id for i in resolved.items] == ["test/dog/2.jpg", "train/cat/1.jpg"]
            assert Path(resolved.local_files["train/cat/1.jpg"]).read_bytes() == b"1"
            assert resolved.scratch is not None and resolved.scratch.parent == scratch
            assert not (resolved.scratch / "archive.download").exists()
        assert list(scratch.iterdir()) == []  # closed: scratch removed
        make_zip(root / "evil.zip", {"cat/../../x.jpg": b"1"})
        with pytest.raises(InvalidDataset) as caught:
            await resolve_dataset(
                DatasetRef(archive_uri=f"file://{root}/evil.zip"),
                fetcher=fetcher,
                settings=settings,
            )
        assert caught.value.field == "dataset.archive_uri"
        assert list(scratch.iterdir()) == []  # refused: scratch removed too
        small = settings.with_overrides(max_archive_bytes=100)
        with pytest.raises(PayloadTooLarge, match="over 100 bytes"):
            await resolve_dataset(
                DatasetRef(archive_uri=f"file://{root}/ds.zip"), fetcher=fetcher, settings=small
            )
        few = settings.with_overrides(max_items=1)
        with pytest.raises(PayloadTooLarge, match="at most 1 per dataset"):
            await resolve_dataset(
                DatasetRef(archive_uri=f"file://{root}/ds.zip"), fetcher=fetcher, settings=few
            )
        assert list(scratch.iterdir()) == []


def test_hugging_face_imagefolder_metadata(tmp_path):
    archive = make_zip(
        tmp_path / "hf.zip",
        {
            "ds/train/metadata.csv": b"file_name,label,caption\na.png,cat,x\nsub/b.png,dog,y\ngone.png,cat,z\n",
            "ds/train/a.png": b"a",
            "ds/train/sub/b.png": b"b",
            "ds/train/unlisted.png": b"u",
            "ds/validation/metadata.jsonl": b'{"file_name": "kitten/c.png"}\n{"file_name": "d.png", "label": 3}\n',
            "ds/validation/kitten/c.png": b"c",
            "ds/validation/d.png": b"d",
        },
    )
    items, local = extract(tmp_path, archive)
    got = {(i.id, i.label, i.split) for i in items}
    assert got == {
        ("ds/train/a.png", "cat", "train"),
        ("ds/train/sub/b.png", "dog", "train"),
        ("ds/train/gone.png", "cat", "train"),
        ("ds/validation/kitten/c.png", "kitten", "val"),  # no label column: the parent folder
        ("ds/validation/d.png", "3", "val"),
    }
    assert (
        isinstance(local["ds/train/gone.png"], ItemError)
        and local["ds/train/gone.png"].code == "not_found"
    )
    assert Path(local["ds/train/a.png"]).read_bytes() == b"a"
    assert "ds/train/unlisted.png" not in local  # not listed: not audited


def test_hugging_face_metadata_errors_name_the_member(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"metadata.csv": b"caption\nhello\n", "a.png": b"a"})
    with pytest.raises(InvalidDataset, match="'metadata.csv': no column holds the image URI"):
        extract(tmp_path, archive)
    archive = make_zip(
        tmp_path / "b.zip", {"metadata.csv": b"file_name\n../x.png\n", "a.png": b"a"}
    )
    with pytest.raises(InvalidDataset, match="escapes the archive"):
        extract(tmp_path, archive)
    archive = make_zip(
        tmp_path / "c.zip", {"metadata.csv": b"file_name\na.png\na.png\n", "a.png": b"a"}
    )
    with pytest.raises(InvalidDataset, match="listed twice"):
        extract(tmp_path, archive)


# --- issue 14: limits before parsing and before extracting; duplicate names (D3, D7, D8) -----


def _many_entry_zip(path: Path, count: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(count):
            archive.writestr(f"cat/{i:06d}.png", b"")
    return path


def test_a_zip_over_the_member_limit_is_refused_before_zipfile_parses_it(tmp_path, monkeypatch):
    """D3: zipfile built an object per central-directory entry before the count was checked
    (1.5 M entries: +650 MB RSS, kept)."""
    archive = _many_entry_zip(tmp_path / "many.zip", 3000)

    def no_parsing(*_args, **_kwargs):
        raise AssertionError("zipfile.ZipFile parsed the central directory")

    monkeypatch.setattr(archive_module.zipfile, "ZipFile", no_parsing)
    limits = ArchiveLimits(
        max_members=1000, max_unpacked_bytes=10_000_000, max_member_bytes=1_000_000
    )
    with pytest.raises(PayloadTooLarge, match="more than 1,000 members"):
        extract(tmp_path, archive, limits)


def test_a_central_directory_that_understates_its_entries_is_still_counted(tmp_path, monkeypatch):
    archive = _many_entry_zip(tmp_path / "lying.zip", 3000)
    data = bytearray(archive.read_bytes())
    at = data.rfind(b"PK\x05\x06")
    data[at + 8 : at + 12] = (10).to_bytes(2, "little") * 2  # entries on disk, total entries
    archive.write_bytes(bytes(data))
    assert archive_module.count_zip_entries(archive, 1000) == 1001  # stops one past the limit
    monkeypatch.setattr(archive_module.zipfile, "ZipFile", lambda *a, **k: pytest.fail("parsed"))
    limits = ArchiveLimits(
        max_members=1000, max_unpacked_bytes=10_000_000, max_member_bytes=1_000_000
    )
    with pytest.raises(PayloadTooLarge):
        extract(tmp_path, archive, limits)


def test_zip_entry_count_matches_zipfile_including_zip64(tmp_path):
    archive = _many_entry_zip(tmp_path / "small.zip", 25)
    assert archive_module.count_zip_entries(archive, 1000) == 25
    big = _many_entry_zip(tmp_path / "big.zip", 65_600)  # over 65,535 entries: a ZIP64 directory
    assert b"PK\x06\x06" in big.read_bytes()[-200:]
    assert archive_module.count_zip_entries(big, 100_000) == 65_600
    assert archive_module.count_zip_entries(big, 1000) == 65_600  # declared: refused at once
    with zipfile.ZipFile(tmp_path / "z64.zip", "w") as z64:
        z64.writestr("cat/a.png", b"x")
        z64.writestr("cat/b.png", b"y")
    data = (tmp_path / "z64.zip").read_bytes()
    assert archive_module.count_zip_entries(tmp_path / "z64.zip", 1000) == 2
    # A prefix before the zip (self-extracting archives): zipfile accepts it, so must we.
    (tmp_path / "sfx.zip").write_bytes(b"#!/bin/sh\nexit 0\n" + data)
    assert archive_module.count_zip_entries(tmp_path / "sfx.zip", 1000) == 2


def test_more_images_than_the_item_limit_are_refused_before_extracting(tmp_path):
    """D7: every member was extracted (150k empty PNGs written) before the item limit's 413."""
    archive = make_tar(tmp_path / "a.tar", {f"cat/{i}.png": b"x" for i in range(40)}, mode="w")
    limits = ArchiveLimits(
        max_members=1000, max_unpacked_bytes=10_000_000, max_member_bytes=1_000_000, max_images=10
    )
    with pytest.raises(PayloadTooLarge, match="40 images; at most 10"):
        extract(tmp_path, archive, limits)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_duplicate_member_names_are_a_typed_error(tmp_path, kind):
    """D8: duplicates were accepted and the checks then failed."""
    if kind == "zip":
        archive = tmp_path / "dup.zip"
        with pytest.warns(UserWarning), zipfile.ZipFile(archive, "w") as z:
            z.writestr("cat/1.png", b"a")
            z.writestr("dog/1.png", b"b")
            z.writestr("cat/1.png", b"c")
    else:
        archive = make_tar(tmp_path / "dup.tar", {"cat/1.png": b"a", "dog/1.png": b"b"}, mode="w")
        with tarfile.open(archive, "a") as t:
            info = tarfile.TarInfo("./cat/1.png")  # the same member once normalised
            info.size = 1
            t.addfile(info, io.BytesIO(b"c"))
    with pytest.raises(InvalidDataset, match="appears more than once"):
        extract(tmp_path, archive)
