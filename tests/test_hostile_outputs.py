"""Files out, safe, and switched whole: --out / --site checks, the marker, the lock, and kills at every step."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memo import outdir, outputs
from memo.errors import MemoError
from tests.conftest import BUNDLED, ROOT, link_project, memo

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (through a symlinked top folder, not below) by path, with its sha256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _leftovers(real: Path) -> list[str]:
    return sorted(p.name for p in real.parent.iterdir() if p.name.startswith(f".{real.name}.memo-"))


# ---------------------------------------------------------------- refused before any work


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(BUNDLED, tmp_path / "assumptions.yaml")
    link_project(tmp_path)
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("mine")
    (tmp_path / "diffed").mkdir()
    (tmp_path / "diffed" / outdir.MARKER).write_text(json.dumps({"memo": "diff", "files": []}))
    return tmp_path


REFUSED = [
    ("/", "is the root folder"),
    (str(Path.home()), "is your home folder"),
    (".", "is the project folder"),
    ("..", "holds the project folder"),
    ("templates", "templates, which memo reads"),
    ("templates/new", "is inside"),
    ("assets", "assets, which memo reads"),
    ("charts/x/y", "is inside"),
    ("a-file", "is a file, not a folder"),
    ("a-file/sub", "a-file is not a folder"),
    ("/dev/null", "is not a folder"),
    ("/proc/self", "is a system folder"),
    ("theirs", "exists, is not empty and was not made by memo build"),
    ("diffed", "was made by memo diff, not memo build"),
]


@pytest.mark.parametrize(("out", "why"), REFUSED, ids=[o for o, _ in REFUSED])
def test_build_refuses_an_unsafe_out_before_any_work(project: Path, out: str, why: str) -> None:
    favicon = (ROOT / "assets" / "favicon.svg").read_bytes()
    started = time.perf_counter()
    result = memo("build", "--out", out, cwd=project)
    elapsed = time.perf_counter() - started
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"memo: --out {out}: ") and why in lines[0], lines
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert elapsed < 2.5  # ~0.6 s measured: the check runs before the converter starts or anything is read
    assert (ROOT / "assets" / "favicon.svg").read_bytes() == favicon
    assert (project / "theirs" / "notes.txt").read_text() == "mine"
    assert not (project / "build").exists()


def test_serve_refuses_an_unsafe_out_before_serving(project: Path) -> None:
    result = memo("serve", "--out", "templates", "--port", "0", cwd=project, timeout=20)
    assert result.returncode == 1 and "memo: --out templates: " in result.stderr
    assert "serving" not in result.stdout


def test_a_symlink_into_the_sources_or_a_folder_holding_the_assumptions_is_refused(tmp_path: Path) -> None:
    from memo.project import Project

    link_project(tmp_path)
    shutil.copy(BUNDLED, tmp_path / "assumptions.yaml")
    (tmp_path / "sneaky").symlink_to(ROOT / "styles")
    guard = outdir.guarded(Project(tmp_path), tmp_path / "inputs" / "bear.yaml")
    with pytest.raises(MemoError, match=r"--out .*sneaky: is .*styles, which memo reads"):
        outdir.checked(tmp_path / "sneaky", "build", "--out", guard)
    with pytest.raises(MemoError, match=r"is inside .*inputs"):  # an assumptions file's own folder is a source
        outdir.checked(tmp_path / "inputs" / "out", "build", "--out", guard)
    with pytest.raises(MemoError, match=r"is inside .*shared, which memo reads"):  # memo.yml sources: [../shared]
        outdir.checked(ROOT.parent / "shared" / "out", "build", "--out", outdir.guarded(Project(ROOT)))
    assert outdir.checked(tmp_path / "build", "build", "--out", guard) == (tmp_path / "build").resolve()
    elsewhere = outdir.guarded(Project(ROOT), tmp_path / "assumptions.yaml")  # --assumptions outside the project
    assert outdir.checked(tmp_path / "build", "build", "--out", elsewhere) == (tmp_path / "build").resolve()
    with pytest.raises(MemoError, match=r"holds .*assumptions.yaml, which memo reads"):
        outdir.checked(tmp_path, "build", "--out", elsewhere)


def test_a_folder_an_older_memo_built_is_recognised_and_adopted(tmp_path: Path) -> None:
    old = tmp_path / "out"
    old.mkdir()
    (old / ".memo-build.json").write_text(json.dumps({"build": "k", "outputs": {"memo.html": "x"}}))
    (old / "memo.html").write_text("old")
    (old / ".staging-abc").mkdir()  # what an older memo left when killed
    (old / "notes.txt").write_text("mine")
    real = outdir.checked(old, "build", "--out")
    outputs.switch_whole(real, {"memo.html": b"new", "figures.json": b"{}"}, "build")
    assert sorted(p.name for p in old.iterdir()) == [outdir.MARKER, "figures.json", "memo.html", "notes.txt"]
    assert json.loads((old / outdir.MARKER).read_text()) == {"memo": "build", "files": ["figures.json", "memo.html"]}
    assert outdir.made_by(old) == "build"


def test_a_folder_holding_only_memos_folders_may_be_built_into(tmp_path: Path) -> None:
    build = tmp_path / "build"
    outputs.switch_whole(outdir.checked(build / "old", "build", "--out"), {"memo.html": b"old"}, "build")
    assert outdir.checked(build, "build", "--out") == build  # memo build --out build/old, then memo build
    outputs.switch_whole(build, {"memo.html": b"new"}, "build")
    assert (build / "old" / "memo.html").read_bytes() == b"old"  # carried over: the new build did not write it
    (tmp_path / "mixed" / "old").mkdir(parents=True)
    (tmp_path / "mixed" / "old" / outdir.MARKER).write_bytes(outdir.marker("build", []))
    (tmp_path / "mixed" / "mine.txt").write_text("mine")
    with pytest.raises(MemoError, match="exists, is not empty and was not made by memo build"):
        outdir.checked(tmp_path / "mixed", "build", "--out")


# ---------------------------------------------------------------- the writer


def _sets(tag: str, count: int = 60) -> dict[str, bytes]:
    """A build's worth of files; the "B" set changes half of "A", drops one and adds one."""
    files = {f"d{i % 5}/sub/f{i:03d}.txt": f"{tag if i % 2 else 'same'} {i}".encode() * 50 for i in range(count)}
    if tag == "B":
        del files["d0/sub/f000.txt"]
        files["new/only-b.txt"] = b"b"
    return files


def test_unchanged_files_keep_their_mtime_stale_ones_go_and_foreign_ones_stay(tmp_path: Path) -> None:
    real = tmp_path / "out"
    outputs.switch_whole(real, _sets("A"), "build")
    (real / "d1" / "mine.txt").write_text("mine")
    (real / "diff").mkdir()  # memo diff's default folder, build/diff, lives in the build folder
    (real / "diff" / outdir.MARKER).write_bytes(outdir.marker("diff", ["index.html"]))
    (real / "diff" / "index.html").write_text("review")
    same, edited = real / "d2/sub/f002.txt", real / "d1/sub/f001.txt"
    os.utime(same, ns=(1_000_000_000, 1_000_000_000))
    inode = same.stat().st_ino
    changed = outputs.switch_whole(real, _sets("B"), "build")
    assert same.stat().st_mtime_ns == 1_000_000_000 and same.stat().st_ino == inode
    assert "d2/sub/f002.txt" not in changed and "d1/sub/f001.txt" in changed and "new/only-b.txt" in changed
    assert edited.read_bytes() == _sets("B")["d1/sub/f001.txt"]
    assert not (real / "d0/sub/f000.txt").exists()  # written by the previous run, not by this one
    assert (real / "d1" / "mine.txt").read_text() == "mine"
    assert (real / "diff" / "index.html").read_text() == "review" and outdir.made_by(real / "diff") == "diff"
    assert _leftovers(real) == []


def test_a_foreign_folder_where_a_file_goes_stops_the_switch_before_anything_moves(tmp_path: Path) -> None:
    real = tmp_path / "out"
    outputs.switch_whole(real, {"a.txt": b"a", "memo.html": b"<html>"}, "build")
    (real / "memo.html").unlink()
    (real / "memo.html").mkdir()  # where the previous build wrote a file
    (real / "assets").symlink_to(ROOT / "assets")  # a link into the project's sources where memo writes a folder
    before = _tree(real)
    with pytest.raises(MemoError, match="memo did not make it; move it elsewhere"):
        outputs.switch_whole(real, {"a.txt": b"b", "memo.html": b"<html>"}, "build")
    with pytest.raises(MemoError, match="assets is in the way of a file memo writes"):
        outputs.switch_whole(real, {"a.txt": b"b", "assets/favicon.svg": b"engine copy"}, "build")
    assert _tree(real) == before and _leftovers(real) == []
    assert (ROOT / "assets" / "favicon.svg").read_bytes() != b"engine copy"


def test_leftovers_of_a_killed_run_are_removed_but_not_a_users_lookalike(tmp_path: Path) -> None:
    real = tmp_path / "out"
    outputs.switch_whole(real, {"a.txt": b"a"}, "build")
    (tmp_path / ".out.memo-swap-empty").mkdir()
    staged = tmp_path / ".out.memo-swap-half"
    staged.mkdir()
    (staged / outdir.MARKER).write_bytes(outdir.marker("build", ["a.txt"]))
    (staged / "a.txt").write_text("half")
    lookalike = tmp_path / ".out.memo-swap-mine"
    lookalike.mkdir()
    (lookalike / "keep.txt").write_text("mine")
    outputs.switch_whole(real, {"a.txt": b"b"}, "build")
    assert _leftovers(real) == [".out.memo-swap-mine"] and (lookalike / "keep.txt").read_text() == "mine"


WRITER = """
import os, signal, sys, time
from pathlib import Path
from memo import outputs
{sets}
real, tag, where, count = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
calls = {"write": 0, "link": 0}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def counting(name, original):
    def wrapped(*args, **kwargs):
        calls[name] += 1
        if where == name and calls[name] == count:
            die()
        if where == "slow":
            time.sleep(0.002)
        return original(*args, **kwargs)
    return wrapped

outputs._write_file = counting("write", outputs._write_file)
outputs.os.link = counting("link", os.link)
if os.environ.get("NO_EXCHANGE"):
    outputs._exchange = lambda a, b: False

def pause(step):
    if step == where:
        die()

print("start", flush=True)
outputs.switch_whole(real, _sets(tag), "build", pause=pause)
"""


def _writer(real: Path, tag: str, where: str = "", count: int = 0, **env: str) -> subprocess.Popen[str]:
    script = WRITER.replace("{sets}", inspect.getsource(_sets))
    command = [sys.executable, "-c", script, str(real), tag, where, str(count)]
    return subprocess.Popen(command, cwd=ROOT, env={**ENV, **env}, stdout=subprocess.PIPE, text=True)


@pytest.fixture
def old_and_new(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A folder holding the complete "A" outputs (and a user's file), and the trees of the complete A and B."""
    real = tmp_path / "out"
    assert _writer(real, "A").wait() == 0
    (real / "d3" / "user.txt").write_text("the user's")
    reference = tmp_path / "reference" / "out"
    shutil.copytree(real, reference)
    old = _tree(real)
    assert _writer(reference, "B").wait() == 0
    return real, old, _tree(reference)


KILL_POINTS = [("write", n) for n in (1, 2, 17, 31)] + [("link", n) for n in (1, 15, 29)]
KILL_POINTS += [(step, 0) for step in ("written", "carried", "switched", "cleaned")]


def test_a_kill_at_any_step_leaves_the_old_outputs_or_the_new_ones(old_and_new) -> None:
    real, old, new = old_and_new
    for where, count in KILL_POINTS:
        process = _writer(real, "B", where, count)
        assert process.wait() == -signal.SIGKILL, (where, count)
        after = _tree(real)
        expected = new if where in ("switched", "cleaned") else old
        assert after == expected, (where, count)
        assert _writer(real, "A").wait() == 0  # back to A for the next kill, leftovers removed
        assert _tree(real) == old and _leftovers(real) == [], (where, count)


def test_a_kill_at_a_random_moment_leaves_the_old_outputs_or_the_new_ones(old_and_new) -> None:
    real, old, new = old_and_new
    seen = set()
    rng = random.Random(13)
    for _ in range(12):
        process = _writer(real, "B", "slow")
        process.stdout.readline()  # imported and started
        time.sleep(rng.uniform(0, 0.25))
        process.send_signal(signal.SIGKILL)
        process.wait()
        after = _tree(real)
        assert after in (old, new)
        seen.add("new" if after == new else "old")
        if after == new:
            assert _writer(real, "A").wait() == 0
    assert "old" in seen


def test_without_a_one_rename_swap_a_kill_between_the_renames_is_repaired_by_the_next_run(old_and_new) -> None:
    real, old, new = old_and_new
    assert _writer(real, "B", "aside", NO_EXCHANGE="1").wait() == -signal.SIGKILL
    assert not real.exists()  # the old outputs are beside it, renamed aside
    outputs.clean_leftovers(real)
    assert _tree(real) == old and _leftovers(real) == []
    assert _writer(real, "B", NO_EXCHANGE="1").wait() == 0
    assert _tree(real) == new and _leftovers(real) == []


# ---------------------------------------------------------------- the lock

HOLDER = """
import sys, time
from pathlib import Path
from memo import outdir
from memo.errors import MemoError
try:
    with outdir.locked(Path(sys.argv[1])):
        print(time.time(), flush=True)
        time.sleep(float(sys.argv[2]))
        print(time.time(), flush=True)
except MemoError as exc:
    sys.exit(str(exc))
"""


def test_two_writers_of_one_folder_take_turns_and_a_long_wait_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "out"
    command = [sys.executable, "-c", HOLDER, str(real)]
    first = subprocess.Popen([*command, "0.8"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first.stdout.readline()
    second = subprocess.Popen([*command, "0"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    impatient = subprocess.run([*command, "0"], env={**ENV, "MEMO_LOCK_WAIT": "0.2"}, capture_output=True, text=True)
    assert impatient.returncode == 1 and "Traceback" not in impatient.stderr
    assert f"memo: --out {real}: another memo (pid {first.pid}) has been writing it" in impatient.stderr
    first_end = float(first.communicate()[0].split()[0])  # its first line was read above
    second_out, second_err = second.communicate()
    assert float(second_out.split()[0]) >= first_end  # it waited for the first to finish
    assert f"memo: waiting for another memo (pid {first.pid}) writing {real}" in second_err
    assert not (tmp_path / ".out.memo-lock").exists()


def test_a_lock_left_by_a_killed_writer_does_not_block(tmp_path: Path) -> None:
    real = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(real), "30"], env=ENV, stdout=subprocess.PIPE)
    holder.stdout.readline()
    holder.kill()
    holder.wait()
    assert (tmp_path / ".out.memo-lock").exists()
    with outdir.locked(real, wait=0):
        pass


# ---------------------------------------------------------------- memo diff --out and memo publish --site


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import weasyprint

    folder = tmp_path_factory.mktemp("pdfs")
    for name, text in (("a", "one"), ("b", "two")):
        weasyprint.HTML(string=f"<p style='font-size:40pt'>{text}</p>").write_pdf(folder / f"{name}.pdf")
    return folder / "a.pdf", folder / "b.pdf"


def test_diff_out_refuses_a_users_folder_and_replaces_only_what_it_wrote(tmp_path: Path, pdfs) -> None:
    a, b = map(str, pdfs)
    theirs = tmp_path / "theirs"
    (theirs / "pages" / "sub").mkdir(parents=True)
    (theirs / "pages" / "sub" / "keep.png").write_bytes(b"mine")
    refused = memo("diff", a, b, "--out", str(theirs), cwd=tmp_path, bundled=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"memo: --out {theirs}: exists, is not empty and was not made by memo diff" in refused.stderr
    assert (theirs / "pages" / "sub" / "keep.png").read_bytes() == b"mine"

    review = tmp_path / "review"
    assert memo("diff", a, b, "--out", str(review), cwd=tmp_path, bundled=False).returncode == 1
    written = sorted(p.relative_to(review).as_posix() for p in (review / "pages").iterdir())
    assert written and all(name.startswith("pages/page-001-") for name in written)
    (review / "pages" / "sub").mkdir()
    (review / "pages" / "sub" / "keep.png").write_bytes(b"mine")
    (review / "pages" / "mine.png").write_bytes(b"mine too")
    assert memo("diff", a, a, "--out", str(review), cwd=tmp_path, bundled=False).returncode == 0
    assert sorted(p.name for p in (review / "pages").iterdir()) == ["mine.png", "sub"]  # its own images went
    assert (review / "pages" / "sub" / "keep.png").read_bytes() == b"mine"
    assert json.loads((review / "changes.json").read_text())["differences"] is False


def test_a_diff_folder_from_an_older_memo_keeps_the_users_pages_subfolder(tmp_path: Path, pdfs) -> None:
    a, b = map(str, pdfs)
    review = tmp_path / "review"
    (review / "pages" / "sub").mkdir(parents=True)
    (review / "changes.json").write_text("{}")
    (review / "pages" / "page-003-changed-new.png").write_bytes(b"an older diff's")
    (review / "pages" / "sub" / "keep.png").write_bytes(b"mine")
    assert memo("diff", a, b, "--out", str(review), cwd=tmp_path, bundled=False).returncode == 1
    assert (review / "pages" / "sub" / "keep.png").read_bytes() == b"mine"
    assert not (review / "pages" / "page-003-changed-new.png").exists()


def test_publish_refuses_a_site_memo_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("my own page")
    (tmp_path / "file").write_text("x")
    for site, why in (("site", "exists, is not empty and was not made by memo publish"), ("file", "is a file")):
        result = memo("publish", "--build", "nowhere", "--site", site, cwd=tmp_path, bundled=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"--site {site}: " in lines[0] and why in lines[0], lines
    assert (tmp_path / "site" / "index.html").read_text() == "my own page"


# ---------------------------------------------------------------- one real build, killed while it writes


def test_a_real_build_killed_while_writing_leaves_a_whole_build(tmp_path: Path) -> None:
    link_project(tmp_path)
    shutil.copy(BUNDLED, tmp_path / "assumptions.yaml")
    env = {**ENV, "MEMO_CACHE_DIR": str(ROOT / ".memo-cache")}  # the cache the in-process tests share: fast builds
    command = [sys.executable, "-m", "memo", "build", "--timings"]
    out, seen = tmp_path / "build", []
    for delay in (0.03, 0.06, 0.09):  # a warm build writes from about 0.05 s to 0.1 s after "site done"
        subprocess.run([*command, "--set", "users.conversion_rate=0.06"], cwd=tmp_path, env=env, check=True)
        old = _tree(out)
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        for line in process.stderr:
            if "timing: site done" in line:
                time.sleep(delay)
                break
        process.kill()
        process.wait()
        after = _tree(out)
        seen.append("old" if after == old else "new")
        if after != old:  # then it must be the whole new build: its stamp says so, byte for byte
            again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
            assert "build is up to date" in again.stdout, (delay, again.stdout)
            assert _tree(out) == after
    left = tmp_path / ".build.memo-swap-killed"  # as a build killed after its switch leaves the previous outputs
    shutil.copytree(out, left)
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and _leftovers(out) == []  # removed even by a build with nothing to do
    assert json.loads((out / outdir.MARKER).read_text())["memo"] == "build"
