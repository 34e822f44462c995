"""aggregator.config: reading and checking feeds.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import Config, Settings, SourceConfig, find_config, load_config, parse_config
from aggregator.errors import ConfigError

GOOD = """\
# a comment
[settings]
database = "data/agg.db"
timeout = 5
deadline = 12.5
concurrency = 8
per_host = 2
max_bytes = 1_000_000
user_agent = "agg-test/1.0"

[[source]]
name = "深度学习笔记"
url = "https://cn.example.com/atom.xml"
kind = "feed"
tags = ["ml", "中文"]

[[source]]
name = "HackMD notes"
url = "https://hackmd.io/@someone"
kind = "hackmd"
enabled = false
max_pages = 50
robots = false

[[source]]
name = "  Plain blog  "
url = "  https://blog.example.org/  "
"""


def write(tmp_path: Path, text: str, name: str = "feeds.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, text))


def source_toml(**fields: object) -> str:
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    return "[[source]]\n" + "".join(f"{k} = {value(v)}\n" for k, v in fields.items())


def test_good_config(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    config = load_config(path)
    assert config.path == path
    assert config.settings == Settings(
        database="data/agg.db",
        timeout=5.0,
        deadline=12.5,
        concurrency=8,
        per_host=2,
        max_bytes=1_000_000,
        user_agent="agg-test/1.0",
    )
    assert isinstance(config.settings.timeout, float)
    assert config.sources == (
        SourceConfig(name="深度学习笔记", url="https://cn.example.com/atom.xml", kind="feed", tags=("ml", "中文")),
        SourceConfig(
            name="HackMD notes",
            url="https://hackmd.io/@someone",
            kind="hackmd",
            enabled=False,
            max_pages=50,
            robots=False,
        ),
        SourceConfig(name="Plain blog", url="https://blog.example.org/"),
    )


def test_empty_config_has_defaults(tmp_path: Path) -> None:
    config = load_text(tmp_path, "")
    assert config.settings == Settings()
    assert config.sources == ()


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="no such config file") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_bytes('[[source]]\nname = "深度学习"\n'.encode("gbk"))
    with pytest.raises(ConfigError, match="cannot read") as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[settings\ntimeout = 5\n", 1),
        (source_toml(name="a", url="https://a.example.com/") + '\n[[source]]\nname = "b"\nmax_pages = = 3\n', 7),
        ("[settings]\ntimeout = 5\ntimeout = 6\n", 3),
        ('[[source]]\nname = "unterminated\n', 2),
    ],
)
def test_toml_syntax_error_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert "TOML syntax error" in message
    assert f"line {line}" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("[settings]\ntimeot = 5\n", r"\[settings\]: unknown key 'timeot'"),
        (source_toml(name="a", url="https://a.example.com/", feed_url="x"), r"source #1: unknown key 'feed_url'"),
        ("[other]\nx = 1\n", r"unknown top-level key 'other'"),
        ('[[sources]]\nname = "a"\n', r"unknown top-level key 'sources'"),
        ('source = "x"\n', r"'source' must be an array of tables"),
        ("settings = 3\n", r"\[settings\] must be a table"),
    ],
)
def test_unknown_keys(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern) as info:
        load_text(tmp_path, text)
    assert str(tmp_path / "feeds.toml") in str(info.value)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('[settings]\ntimeout = "5"\n', r"key 'timeout' must be int or float, not str"),
        ("[settings]\ntimeout = true\n", r"key 'timeout' must be int or float, not bool"),
        ("[settings]\nconcurrency = 2.5\n", r"key 'concurrency' must be int, not float"),
        ("[settings]\nmax_bytes = 1e9\n", r"key 'max_bytes' must be int, not float"),
        ("[settings]\ndatabase = 5\n", r"key 'database' must be str, not int"),
        ("[settings]\nretries = [1]\n", r"key 'retries' must be int, not list"),
        (source_toml(name=3, url="https://a.example.com/"), r"source #1: key 'name' must be str, not int"),
        (source_toml(name="a", url="https://a.example.com/", tags="ml"), r"key 'tags' must be list, not str"),
        (source_toml(name="a", url="https://a.example.com/", tags=["x", 1]), r"'tags' must be a list of strings"),
        (source_toml(name="a", url="https://a.example.com/", enabled="yes"), r"key 'enabled' must be bool"),
        (source_toml(name="a", url="https://a.example.com/", max_pages=1.5), r"key 'max_pages' must be int"),
        (source_toml(name="a", url="https://a.example.com/", robots=1), r"key 'robots' must be bool"),
        ("source = [1]\n", r"source #1: must be a table"),
    ],
)
def test_wrong_types(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_text(tmp_path, text)


def test_duplicate_name(tmp_path: Path) -> None:
    text = source_toml(name="Blog", url="https://a.example.com/") + source_toml(
        name=" Blog ", url="https://b.example.com/"
    )
    with pytest.raises(ConfigError, match=r"source #2: duplicate name 'Blog'"):
        load_text(tmp_path, text)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://a.example.com/feed",
        "a.example.com/feed",
        "/feed.xml",
        "https://",
        "https://a.example.com/x y",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://[broken/",
    ],
)
def test_invalid_url(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"source #1 \('a'\): invalid URL"):
        load_text(tmp_path, source_toml(name="a", url=url))


def test_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown kind 'rss' \(expected one of auto, feed, hackmd"):
        load_text(tmp_path, source_toml(name="a", url="https://a.example.com/", kind="rss"))


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"url": "https://a.example.com/"}, "name"),
        ({"name": "a"}, "url"),
        ({"name": "   ", "url": "https://a.example.com/"}, "name"),
        ({"name": "a", "url": ""}, "url"),
    ],
)
def test_missing_name_or_url(tmp_path: Path, fields: dict[str, object], missing: str) -> None:
    with pytest.raises(ConfigError, match=rf"source #1: missing required key '{missing}'"):
        load_text(tmp_path, source_toml(**fields))


@pytest.mark.parametrize(
    "setting", ["timeout = -1.5", "retries = -1", "concurrency = -2", "max_bytes = -1", "max_retry_after = -0.5"]
)
def test_negative_settings(tmp_path: Path, setting: str) -> None:
    key = setting.partition(" ")[0]
    with pytest.raises(ConfigError, match=rf"key '{key}' must not be negative"):
        load_text(tmp_path, f"[settings]\n{setting}\n")


def test_negative_source_max_pages(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_pages"):
        load_text(tmp_path, source_toml(name="a", url="https://a.example.com/", max_pages=-3))


def test_nan_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="timeout"):
        load_text(tmp_path, "[settings]\ntimeout = nan\n")


def test_error_message_is_one_line_naming_file(tmp_path: Path) -> None:
    path = write(tmp_path, source_toml(name="a", url="nope"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: source #1 ('a'): invalid URL 'nope'")
    assert "\n" not in str(info.value)


def test_parse_config_default_where() -> None:
    with pytest.raises(ConfigError, match=r"^<config>: \[settings\]: unknown key 'x'"):
        parse_config({"settings": {"x": 1}})


# --- database_path ------------------------------------------------------------------------------


def test_database_path_relative_to_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGG_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "conf"
    folder.mkdir()
    config = load_config(write(folder, '[settings]\ndatabase = "data/agg.db"\n'))
    assert config.database_path() == folder / "data" / "agg.db"


def test_database_path_default_beside_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGG_DB", raising=False)
    config = load_config(write(tmp_path, ""))
    assert config.database_path() == tmp_path / "agg.db"


def test_database_path_absolute_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGG_DB", raising=False)
    target = tmp_path / "elsewhere" / "x.db"
    config = load_config(write(tmp_path, f'[settings]\ndatabase = "{target.as_posix()}"\n'))
    assert config.database_path() == target


def test_database_path_env_beats_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path, '[settings]\ndatabase = "settings.db"\n'))
    monkeypatch.setenv("AGG_DB", str(tmp_path / "env.db"))
    assert config.database_path() == tmp_path / "env.db"
    # a relative $AGG_DB is relative to where agg runs, not to the config file
    monkeypatch.setenv("AGG_DB", "rel-env.db")
    assert config.database_path() == Path("rel-env.db")


def test_database_path_override_beats_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path, '[settings]\ndatabase = "settings.db"\n'))
    monkeypatch.setenv("AGG_DB", str(tmp_path / "env.db"))
    assert config.database_path(str(tmp_path / "cli.db")) == tmp_path / "cli.db"
    assert config.database_path("cli-rel.db") == Path("cli-rel.db")


def test_database_path_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGG_DB", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(write(tmp_path, '[settings]\ndatabase = "~/agg/x.db"\n'))
    assert config.database_path() == tmp_path / "agg" / "x.db"


def test_database_path_config_built_in_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGG_DB", raising=False)
    assert Config().database_path() == Path("agg.db")


# --- find_config --------------------------------------------------------------------------------


def test_find_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGG_CONFIG", raising=False)
    assert find_config(None) == Path("feeds.toml")
    monkeypatch.setenv("AGG_CONFIG", str(tmp_path / "env.toml"))
    assert find_config(None) == tmp_path / "env.toml"
    assert find_config(str(tmp_path / "cli.toml")) == tmp_path / "cli.toml"


def test_timezone_for_all_sources_and_for_one(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        '[settings]\ntimezone = "Asia/Shanghai"\n\n'
        + source_toml(name="fluid", url="https://a.example.org/")
        + "\n"
        + source_toml(name="seoul", url="https://b.example.org/", timezone="Asia/Seoul"),
    )
    assert config.settings.timezone == "Asia/Shanghai"
    assert [s.timezone for s in config.sources] == [None, "Asia/Seoul"]
    assert Settings().timezone == "UTC"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[settings]\ntimezone = "Asia/Shangai"\n', "[settings]"),
        (source_toml(name="fluid", url="https://a.example.org/", timezone="/etc/passwd"), "source #1 ('fluid')"),
    ],
)
def test_an_unknown_timezone_is_a_one_line_error(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    message = str(caught.value)
    assert where in message and "unknown time zone" in message and "\n" not in message
