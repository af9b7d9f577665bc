from __future__ import annotations

import pytest

from service.settings import Settings, describe_settings


def test_defaults_bind_to_loopback_and_refuse_file_uris():
    s = Settings()
    assert s.host == "127.0.0.1"
    assert s.data_root == "" and s.data_root_path is None
    assert s.allow_hosts == ()


def test_from_env_parses_types_and_tuples():
    s = Settings.from_env(
        {
            "IMAGELINT_PORT": "9001",
            "IMAGELINT_TRITON_TIMEOUT_S": "2.5",
            "IMAGELINT_ALLOW_HOSTS": "minio.local, 10.0.0.0/8 ,",
            "IMAGELINT_API_KEYS": "k1,k2",
            "UNRELATED": "x",
        }
    )
    assert s.port == 9001
    assert s.triton_timeout_s == 2.5
    assert s.allow_hosts == ("minio.local", "10.0.0.0/8")
    assert s.api_keys == ("k1", "k2")


def test_from_env_names_the_bad_variable():
    with pytest.raises(ValueError, match="IMAGELINT_PORT"):
        Settings.from_env({"IMAGELINT_PORT": "eighty"})


def test_every_setting_is_documented():
    rows = describe_settings()
    assert len(rows) == len(Settings.__dataclass_fields__)
    assert all(doc for _, _, doc in rows)
    assert all(name.startswith("IMAGELINT_") for name, _, _ in rows)
