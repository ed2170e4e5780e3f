"""Hostile and careless input to the cache, memo serve, memo publish and the URLs of the site (issue 13, items 6 to
8): nothing read from the cache runs, malformed requests get 400 and foreign hosts 421, bad ports are refused
before building, publish validates what it reads, and no URL is written raw."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest

from memo import render, site
from memo.cache import Cache, code_digest, key
from memo.errors import MemoError, UsageError
from memo.options import check_base_url
from memo.publish import publish
from memo.serve import bind, host_allowed, request_problem, serve
from tests.conftest import ROOT

DIGEST = "0" * 64


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MEMO_CACHE_DIR": str(cwd / "cache"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "memo", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


def _one_line_refusal(result: subprocess.CompletedProcess[str], status: int, message: str) -> None:
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert message in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith(("usage:", " "))]  # argparse's usage
    assert len(lines) == 1, result.stderr


# ---------------------------------------------------------------- 6. the cache never runs code


def _crafted_bytecode(template: Path, marker: Path, env: jinja2.Environment) -> tuple[str, bytes]:
    """A Jinja bytecode entry for ``template`` whose code, if ever run, writes ``marker``; and the key the old
    compiled-template cache stored it under."""
    source = template.read_text(encoding="utf-8")
    name = template.name
    bucket = jinja2.bccache.Bucket(
        env, env.bytecode_cache.get_cache_key(name, str(template)), env.bytecode_cache.get_source_checksum(source)
    )
    bucket.code = compile(f"open({str(marker)!r}, 'w').write('ran')", "<payload>", "exec")
    digest = key(bucket.key, bucket.checksum, jinja2.__version__, code_digest())
    return digest, bucket.bytecode_to_string()


def test_a_crafted_cache_entry_with_a_valid_checksum_does_not_run(tmp_path: Path) -> None:
    from tests.test_templates import _document

    folder, marker = tmp_path / "templates", tmp_path / "ran"
    folder.mkdir()
    (folder / "memo.html.j2").write_text("<p>{{ fig('users.paid') }} paid users</p>\n")
    store = Cache(tmp_path / "cache")
    digest, payload = _crafted_bytecode(folder / "memo.html.j2", marker, render.environment(folder, store))
    for kind in ("template", "chart", "chart-reads", "chart-svg", "pdf", "social-png", "vega-bundle"):
        store.put(kind, digest, payload)  # a fresh checksum: the entry passes verification
        assert store.get(kind, digest) == payload
    html = render.render_html(folder, _document(), cache=store)
    assert "paid users" in html
    assert not marker.exists()


def test_cache_entries_others_can_write_are_ignored(tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache")
    store.put("chart-svg", key("a"), b"<svg/>")
    entry = next(p for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert entry.stat().st_mode & 0o077 == 0  # written for this user alone
    assert store.get("chart-svg", key("a")) == b"<svg/>"
    entry.chmod(0o666)
    assert store.get("chart-svg", key("a")) is None  # anyone could have written it
    entry.chmod(0o600)
    if os.getuid() == 0:  # only root can give a file away; elsewhere the mode check above is what applies
        os.chown(entry, 65534, 65534)
        assert store.get("chart-svg", key("a")) is None
        os.chown(entry, 0, 0)
    real = entry.with_name("real")
    entry.rename(real)
    entry.symlink_to(real)
    assert store.get("chart-svg", key("a")) is None  # a link is not an entry


# ---------------------------------------------------------------- 7. memo serve


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("/a\x00b", "printable ASCII"),
        ("/a%00b", "control character"),
        ("/%zz", "percent-encoding"),
        ("/%4", "percent-encoding"),
        ("/x?q=%", "percent-encoding"),
        ("/%ff%fe", "not UTF-8"),
        ("/../etc/passwd", "'..'"),
        ("/%2e%2e/etc/passwd", "'..'"),
        ("/a/..%2f..%2fb", "'..'"),
        ("/%5c..%5cx", "backslash"),
        ("/" + "a" * 5000, "too long"),
        ("http://evil.example/", "must start with /"),
        ("/caf\u00e9", "printable ASCII"),
        ("/a b", "printable ASCII"),
        ("/%1b[2J", "control character"),
    ],
)
def test_malformed_request_paths_are_named(target: str, reason: str) -> None:
    problem = request_problem(target)
    assert problem is not None and reason in problem


@pytest.mark.parametrize("target", ["/", "/memo.html", "/charts/a.svg?v=1", "/caf%C3%A9.html", "/__memo/status"])
def test_plain_request_paths_pass(target: str) -> None:
    assert request_problem(target) is None


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8123", True),
        ("localhost:8123", True),
        ("LocalHost:8123", True),
        ("[::1]:8123", True),
        ("127.0.0.1:8124", False),
        ("localhost", False),
        ("evil.example:8123", False),
        ("localhost.evil.example:8123", False),
        ("127.0.0.1.nip.io:8123", False),
        ("[::1", False),
        ("localhost:8123:8123", False),
        ("", False),
        (None, False),
    ],
)
def test_only_this_server_is_an_allowed_host(host: str | None, allowed: bool) -> None:
    assert host_allowed(host, 8123) is allowed


def test_a_port_80_server_allows_a_host_without_port() -> None:
    assert host_allowed("localhost", 80) and host_allowed("127.0.0.1:80", 80)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[int]:
    """memo serve's loop on a free port, serving a one-page site (the build is a no-op)."""
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "index.html").write_text("<html><body>memo</body></html>")
    (tmp_path / "secret.txt").write_text("outside the site")
    watched = tmp_path / "assumptions.yaml"
    watched.write_text("a: 1\n")
    server, stop = bind(0), threading.Event()
    thread = threading.Thread(
        target=serve,
        args=(lambda state: None, site_dir, [watched], server),
        kwargs={"ready": lambda _: None, "stop": stop},
    )
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        stop.set()
        thread.join(10)


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status(port: int, target: bytes, host: bytes | None = None) -> int:
    host_line = b"" if host == b"" else b"Host: " + (host or f"127.0.0.1:{port}".encode()) + b"\r\n"
    response = _raw(port, b"GET " + target + b" HTTP/1.1\r\n" + host_line + b"Connection: close\r\n\r\n")
    return int(response.split(b" ", 2)[1])


def test_the_server_answers_malformed_requests_with_400_and_no_traceback(
    live: int, capfd: pytest.CaptureFixture[str]
) -> None:
    for target in (b"/a%00b", b"/%zz", b"/../secret.txt", b"/%2e%2e/secret.txt", b"/" + b"a" * 3000, b"/a\x01b"):
        assert _status(live, target) == 400, target
    assert _status(live, b"/a\x00b") == 400  # a raw NUL, which used to drop the connection with a traceback
    assert _status(live, b"/index.html") == 200
    assert _status(live, b"/") == 200
    assert _status(live, b"/no-such-page.html") == 404
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out


def test_the_server_refuses_other_hosts_with_421(live: int) -> None:
    assert _status(live, b"/index.html", b"evil.example") == 421  # DNS rebinding: the page's own host name
    assert _status(live, b"/index.html", f"evil.example:{live}".encode()) == 421
    assert _status(live, b"/index.html", f"127.0.0.1:{live + 1}".encode()) == 421
    assert _status(live, b"/__memo/status", b"attacker.test") == 421
    assert _status(live, b"/index.html", b"") == 421  # no Host at all
    assert _status(live, b"/index.html", f"localhost:{live}".encode()) == 200
    head = _raw(live, b"HEAD /../x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400") or head.startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize("port", [-1, 70000, 65536, "abc", "1e3", "", True, None])
def test_bad_ports_are_usage_errors(port: object) -> None:
    with pytest.raises(UsageError, match=r"--port .*: give a port number from 0 to 65535"):
        bind(port)


def test_a_busy_port_is_refused_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MemoError, match=rf"--port {port}: cannot listen on 127.0.0.1:{port} .*choose another port"):
            bind(port)


def test_the_cli_refuses_bad_and_busy_ports_before_building(tmp_path: Path) -> None:
    base = ["serve", "--project", str(ROOT), "--out", str(tmp_path / "out"), "--port"]
    for port, status, message in [("-1", 2, "give a port number"), ("70000", 2, "give a port number")]:
        started = time.monotonic()
        result = _cli(*base, port, cwd=tmp_path)
        _one_line_refusal(result, status, message)
        assert time.monotonic() - started < 10 and not (tmp_path / "out").exists()  # nothing was built
    _one_line_refusal(_cli(*base, "abc", cwd=tmp_path), 2, "invalid int value")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _cli(*base, str(taken.getsockname()[1]), cwd=tmp_path)
    _one_line_refusal(result, 1, "cannot listen on 127.0.0.1")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- 7. memo publish


def _figures(sha: str = DIGEST, value: float = 1.0, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "schema_version": 1,
        "memo": {"title": "A memo", "author": "Someone", "as_of": "2026-05-16", "scenario": "base"},
        "figures": {"a.x": {"value": value, "unit": "users", "label": "X", "formula": "a.x", "inputs": ["a.x"]}},
        "inputs": {"a.x": {"value": value, "unit": "users", "estimate": False}},
        "charts": {},
        "claims": [],
        "build": {"inputs_sha256": sha, "versions": {"memo": "0.1.0"}},
        "units": {},
    }
    data.update(changes)
    return data


def _build(folder: Path, data: object) -> Path:
    (folder / "site").mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else json.dumps(data)
    (folder / "site" / "figures.json").write_text(text)
    (folder / "figures.json").write_text(text)
    return folder


@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, Path]:
    """A site with one version published, and a build with other inputs ready to publish next."""
    site_dir = tmp_path / "public"
    publish(_build(tmp_path / "first", _figures()), site_dir, label="first")
    return site_dir, _build(tmp_path / "second", _figures("1" * 64, 2.0))


def test_publishing_fake_builds_works(published: tuple[Path, Path]) -> None:
    site_dir, second = published
    result = publish(second, site_dir, label="second", base_url="https://example.org/memo")
    assert result.label == "second"
    revisions = json.loads((site_dir / "revisions.json").read_text())["revisions"]
    assert [r["path"] for r in revisions] == ["v/first/", "v/second/"]
    assert revisions[1]["figures_changed"][0]["name"] == "a.x"


@pytest.mark.parametrize(
    "label", ["good\n", "good\r", "a b", "", "-x", ".x", "x" * 65, "a/b", "..", "caf\u00e9", "x\x00"]
)
def test_unsafe_labels_are_refused(published: tuple[Path, Path], label: str) -> None:
    site_dir, second = published
    with pytest.raises(MemoError, match="use letters, digits"):
        publish(second, site_dir, label=label)
    assert sorted(p.name for p in (site_dir / "v").iterdir()) == ["first"]


def test_a_label_with_a_newline_is_refused_by_the_cli(published: tuple[Path, Path], tmp_path: Path) -> None:
    site_dir, second = published
    result = _cli("publish", "--build", str(second), "--site", str(site_dir), "--label", "good\n", cwd=tmp_path)
    _one_line_refusal(result, 1, "use letters, digits")


def test_a_site_that_is_a_file_is_refused(tmp_path: Path) -> None:
    build = _build(tmp_path / "b", _figures())
    (tmp_path / "site.txt").write_text("not a site")
    with pytest.raises(MemoError, match=r"site.txt is a file, not a folder"):
        publish(build, tmp_path / "site.txt")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "v").write_text("")
    with pytest.raises(MemoError, match=r"is a file, not a folder"):
        publish(build, tmp_path / "s")
    result = _cli("publish", "--build", str(build), "--site", str(tmp_path / "site.txt"), cwd=tmp_path)
    _one_line_refusal(result, 1, "is a file, not a folder")
    assert (tmp_path / "site.txt").read_text() == "not a site"


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "label": "first",
        "as_of": "2026-05-16",
        "inputs_sha256": DIGEST,
        "path": "v/first/",
        "title": "A memo",
        "inputs_changed": [],
        "figures_changed": [],
    }
    entry.update(changes)
    return entry


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "must be an object with a list of revisions"),
        ('{"revisions": {}}', "must be an object with a list of revisions"),
        ('{"revisions": [1]}', "revisions[0]: must be an object"),
        ('{"revisions": [{}]}', "label, as_of, inputs_sha256, path, title must be texts"),
        ('{"revisions": [{"label": 5}]}', "must be texts"),
        ("[" * 100_000 + "]" * 100_000, "is not valid JSON"),
        ('{"revisions": [], "x": NaN}', "is not valid JSON"),
        (json.dumps({"revisions": [_entry(path="../../x")]}), "must be a folder inside the site"),
        (json.dumps({"revisions": [_entry(path="/etc/")]}), "must be a folder inside the site"),
        (json.dumps({"revisions": [_entry(path="v/../../x/")]}), "must be a folder inside the site"),
        (json.dumps({"revisions": [_entry(path="v/")]}), "must be a folder inside the site"),
        (json.dumps({"revisions": [_entry(path="v/first")]}), "must be a folder inside the site"),
        (json.dumps({"revisions": [_entry(label="../x")]}), "label must be letters"),
        (json.dumps({"revisions": [_entry(as_of="yesterday")]}), "as_of must be a date"),
        (json.dumps({"revisions": [_entry(inputs_sha256="abc")]}), "64 hexadecimal digits"),
        (json.dumps({"revisions": [_entry(inputs_changed="a.x")]}), "inputs_changed must be a list of texts"),
        (json.dumps({"revisions": [_entry(figures_changed=[{"name": 1}])]}), "figures_changed must be a list"),
        (json.dumps({"revisions": [_entry(), _entry()]}), "listed twice"),
    ],
)
def test_a_malformed_revisions_json_is_refused_naming_it(
    published: tuple[Path, Path], manifest: str, message: str
) -> None:
    site_dir, second = published
    (site_dir / "revisions.json").write_text(manifest)
    with pytest.raises(MemoError, match=r"revisions\.json") as refused:
        publish(second, site_dir, label="second")
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert refused.value.exit_status == 1
    assert sorted(p.name for p in (site_dir / "v").iterdir()) == ["first"]


def test_a_revisions_path_through_a_link_out_of_the_site_is_refused(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    site_dir, second = published
    outside = tmp_path / "outside"
    _build(outside, _figures())
    (site_dir / "v" / "elsewhere").symlink_to(outside / "site")
    manifest = {"revisions": [_entry(label="elsewhere", path="v/elsewhere/")]}
    (site_dir / "revisions.json").write_text(json.dumps(manifest))
    with pytest.raises(MemoError, match="leads outside the site"):
        publish(second, site_dir, label="second")


def test_the_cli_refuses_a_revisions_path_outside_the_site(published: tuple[Path, Path], tmp_path: Path) -> None:
    site_dir, second = published
    (site_dir / "revisions.json").write_text(json.dumps({"revisions": [_entry(path="../../x")]}))
    result = _cli("publish", "--build", str(second), "--site", str(site_dir), "--label", "second", cwd=tmp_path)
    _one_line_refusal(result, 1, "revisions.json: revisions[0]: path '../../x' must be a folder inside the site")


def test_a_previous_version_with_a_malformed_figures_json_is_refused(published: tuple[Path, Path]) -> None:
    site_dir, second = published
    (site_dir / "v" / "first" / "figures.json").write_text('{"figures": []}')
    with pytest.raises(MemoError, match=r"memo publish: version first: .*figures must be an object") as refused:
        publish(second, site_dir, label="second")
    assert refused.value.exit_status == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "is not valid JSON"),
        ([], "the file must be an object"),
        (_figures(figures=[]), "figures must be an object"),
        (_figures(memo={"title": 1}), "memo.title, memo.author and memo.as_of must be texts"),
        (_figures(memo={"title": "t", "author": "a", "as_of": "../../x"}), "memo.as_of must be a date"),
        (_figures(build={"inputs_sha256": ["x"]}), "build.inputs_sha256 must be a text"),
        (_figures(build={"inputs_sha256": "x\ny"}), "64 hexadecimal digits"),
    ],
)
def test_a_malformed_build_is_refused_naming_its_figures_json(tmp_path: Path, data: object, message: str) -> None:
    build = _build(tmp_path / "b", data)
    with pytest.raises(MemoError, match=r"figures\.json") as refused:
        publish(build, tmp_path / "public")
    assert message in str(refused.value) and refused.value.exit_status == 1
    assert not (tmp_path / "public" / "v").exists()


def test_a_version_folder_not_in_revisions_is_not_replaced(published: tuple[Path, Path]) -> None:
    site_dir, second = published
    (site_dir / "v" / "second").mkdir()
    (site_dir / "v" / "second" / "mine.txt").write_text("mine")
    with pytest.raises(MemoError, match="does not list version 'second'"):
        publish(second, site_dir, label="second")
    assert (site_dir / "v" / "second" / "mine.txt").read_text() == "mine"


# ---------------------------------------------------------------- 8. URLs


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://example.org/\nDisallow: /", "'\\n' (character 21)"),
        ("https://example.org/ x", "' ' (character 21)"),
        ('https://example.org/"onload', "'\"'"),
        ("https://example.org/'x", '"\'"'),
        ("https://example.org/<script>", "'<'"),
        ("https://example.org/\x00", "'\\x00'"),
        ("https://ex\u00e4mple.org/", "'\\xe4'"),
        ("javascript:alert(1)", "must start with https:// or http://"),
        ("ftp://example.org/", "must start with https:// or http://"),
        ("example.org/memo", "must start with https:// or http://"),
        ("/memo/", "must start with https:// or http://"),
        ("https://", "names no host"),
        ("https:///x", "names no host"),
        ("https://user:secret@example.org/", "user name or password"),
        ("https://example.org/?a=1", "query"),
        ("https://example.org/#top", "fragment"),
        ("https://example.org:99999/", "cannot be read as a URL"),
        ("https://example.org/%zz", "%XX"),
        ("https://example.org/" + "a" * 3000, "longer than 2000"),
    ],
)
def test_bad_base_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(UsageError, match="--base-url") as refused:
        check_base_url(url)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert refused.value.exit_status == 2


@pytest.mark.parametrize(
    "url", ["https://example.org", "http://example.org/memo/", "https://example.org:8443/a%20b/", "https://[::1]:8000/"]
)
def test_plain_base_urls_pass(url: str) -> None:
    assert check_base_url(url) == url


def test_no_url_is_written_raw_into_robots_sitemap_or_feed() -> None:
    """Even a URL that slipped past the check cannot add a line to robots.txt or leave its XML attribute."""
    import datetime as dt
    import xml.etree.ElementTree as ET

    from memo.validate import MemoMeta

    hostile = 'https://example.org/x\nDisallow: /\n"><evil a="'
    robots = site.robots(hostile).decode()
    assert robots.splitlines() == ["User-agent: *", "Allow: /", f"Sitemap: {robots.splitlines()[2][9:]}"]
    assert "Disallow" not in robots.splitlines()[0:2] and "\n" not in robots.splitlines()[2]
    assert "%0ADisallow:%20/%0A%22%3E%3Cevil%20a=%22" in robots
    sitemap = ET.fromstring(site.sitemap(hostile, [("memo.html", "2026-05-16")]))
    assert [element.tag.split("}")[1] for element in sitemap.iter()] == ["urlset", "url", "loc", "lastmod"]
    meta = MemoMeta(title="T", author="A", as_of=dt.date(2026, 5, 16), disclaimer="")
    entry = {"title": "t", "path": 'memo.html"/><x', "updated": "2026-05-16T00:00:00Z", "summary": "s", "id": "i"}
    feed = ET.fromstring(site.feed(meta, hostile, [entry]))
    assert "evil" not in {element.tag for element in feed.iter()} and "x" not in {e.tag for e in feed.iter()}
    base = feed.get("{http://www.w3.org/XML/1998/namespace}base")
    assert base is not None and "\n" not in base and '"' not in base


def test_bundled_urls_are_unchanged_by_the_encoding() -> None:
    assert site.robots("https://research.example.org/venice") == (
        b"User-agent: *\nAllow: /\nSitemap: https://research.example.org/venice/sitemap.xml\n"
    )


def test_the_cli_refuses_a_bad_base_url_before_building(tmp_path: Path) -> None:
    started = time.monotonic()
    result = _cli(
        "build", "--project", str(ROOT), "--out", str(tmp_path / "out"), "--base-url", "https://x/\nDisallow: /",
        cwd=tmp_path,
    )  # fmt: skip
    _one_line_refusal(result, 2, "error: --base-url 'https://x/\\nDisallow: /': holds '\\n'")
    assert time.monotonic() - started < 10 and not (tmp_path / "out").exists()
    build = _build(tmp_path / "b", _figures())
    result = _cli(
        "publish", "--build", str(build), "--site", str(tmp_path / "p"), "--base-url", "javascript:x", cwd=tmp_path
    )
    _one_line_refusal(result, 2, "must start with https:// or http://")
    assert not (tmp_path / "p").exists()
