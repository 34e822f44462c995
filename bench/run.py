"""The agg benchmark (issue 7): agg against lemon24/reader on N feeds, the corpus sites, a 100k-post store.

    python bench/run.py [--n 1000] [--skip-reader] [--posts 100000] [--out results.json]

Run it with the Python that has agg installed (e.g. `.venv/bin/python bench/run.py`). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.request import urlopen

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(__file__).resolve().parents[2] / "shared"
READER_VENV = HERE / ".venv-reader"
STORE_RUNS = 5  # digest, exports, grouping: each is run this many times, and the median reported (one run in
# three took 0.6-1.2 s more system time, which moved the median of three by as much when two did)
WARM_RUNS = 5  # the warm fetch, likewise: one run of under a second varies by a fifth, and one in five by more
# the cold fetches, agg's and reader's in turn, by default: agg keeps both cores busy, so whatever else the
# machine does comes out of its time (reader leaves a core free), and one pair of runs moved their ratio by
# 10 %; of three pairs, one such pair moved the median as well (twelve pairs ranged over 3.73x to 5.09x)
COLD_RUNS = 5
AGG_NOW = "2026-07-01T00:00:00Z"  # pins "now" for digest/export on the synthetic store
sys.path.insert(0, str(HERE))

from feeds import build_feeds  # noqa: E402

# -- measuring a subprocess: wall time and memory of its whole process tree -------------------------


@dataclass(slots=True)
class Measured:
    command: str
    seconds: float
    returncode: int
    max_rss_mb: float  # the largest single process of the tree (wait4 ru_maxrss, and sampled VmHWM)
    tree_rss_mb: float  # the peak of the sum of RSS over the tree (counts shared pages once per process)
    tree_pss_mb: float  # the peak of the sum of PSS over the tree (shared pages split: the true footprint)
    tree_anon_mb: float  # the peak of the sum of anonymous memory over the tree: what it allocated, no file pages
    processes: int  # distinct processes seen in the tree
    cpu_seconds: float  # user + system time of the whole tree (sampled; at least what wait4 reports)
    load_before: float  # 1-minute load average when it started: other work on the machine skews wall times
    stdout: str = field(repr=False, default="")
    stderr: str = field(repr=False, default="")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _children(pid: int) -> list[int] | None:
    """The children of `pid` from each of its threads' `children` file; None when the kernel has none."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        if not (tasks[0] / "children").exists():
            return None
    except (OSError, IndexError):
        return []  # gone
    found: list[int] = []
    for task in tasks:  # the forkserver is started from a thread, so it is that thread's child
        with contextlib.suppress(OSError):
            found.extend(int(child) for child in (task / "children").read_text().split())
    return found


def _tree(root: int) -> list[int]:
    # walking down from the root reads a few files: 0.07 ms a sample, where scanning all of /proc took 1.5 ms
    children: dict[int, list[int]] | None = None
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        below = _children(pid) if children is None else children.get(pid, [])
        if below is None:  # no children files (an older kernel): one scan of /proc
            children = _children_map()
            below = children.get(pid, [])
        stack.extend(below)
    return pids


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _memory_kb(pid: int) -> tuple[int, int, int, int]:
    """(RSS, PSS, high-water RSS, anonymous) of one process in kB; zeros when it is gone. A file read through
    a memory map (an export's store) counts in RSS and PSS, but it is the kernel's page cache, not the
    process's own: anonymous memory is that."""
    rss = pss = hwm = anon = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Anonymous:"):
                anon = int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return rss, pss, hwm, anon


class TreeSampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop = threading.Event()
        self.rss_kb = self.pss_kb = self.hwm_kb = self.anon_kb = 0
        self.seen: set[int] = set()
        self.cpu: dict[int, float] = {}  # last CPU time seen per process of the tree

    def run(self) -> None:
        while not self.stop.is_set():
            rss_sum = pss_sum = anon_sum = 0
            for pid in _tree(self.pid):
                rss, pss, hwm, anon = _memory_kb(pid)
                self.seen.add(pid)
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), _cpu_seconds(pid))
                rss_sum, pss_sum, anon_sum = rss_sum + rss, pss_sum + pss, anon_sum + anon
                self.hwm_kb = max(self.hwm_kb, hwm)
            self.rss_kb, self.pss_kb = max(self.rss_kb, rss_sum), max(self.pss_kb, pss_sum)
            self.anon_kb = max(self.anon_kb, anon_sum)
            self.stop.wait(self.interval)


def run_measured(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 1800,
    workdir: Path | None = None,
    memory_limit_gb: float | None = None,
) -> Measured:
    """Run `command`, sampling its process tree's memory; stdout/stderr go to files (no pipe dead-lock).

    `memory_limit_gb` caps the address space of the command (RLIMIT_AS), so a run that would eat the
    machine fails with MemoryError instead."""

    os.sync()  # the disk writes of what ran before (a 1 GB store copied, an export) are not this command's
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        load = os.getloadavg()[0]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=workdir)
        if memory_limit_gb:  # set from outside (no preexec_fn with threads around); the start-up allocates little
            size = int(memory_limit_gb * 2**30)
            resource.prlimit(process.pid, resource.RLIMIT_AS, (size, size))
        sampler = TreeSampler(process.pid)
        sampler.start()
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        return Measured(
            command=" ".join(command),
            seconds=seconds,
            returncode=process.returncode,
            max_rss_mb=max(usage.ru_maxrss, sampler.hwm_kb) / 1024,
            tree_rss_mb=sampler.rss_kb / 1024,
            tree_pss_mb=sampler.pss_kb / 1024,
            tree_anon_mb=sampler.anon_kb / 1024,
            processes=len(sampler.seen),
            cpu_seconds=max(usage.ru_utime + usage.ru_stime, sum(sampler.cpu.values())),
            load_before=load,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


# -- helpers ---------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def agg_command() -> str:
    beside = Path(sys.executable).parent / "agg"
    found = str(beside) if beside.exists() else shutil.which("agg")
    if not found:
        sys.exit("bench: no `agg` beside this Python or on PATH: run with the Python that has agg installed")
    return found


def agg_settings() -> dict[str, Any]:
    from aggregator.config import Settings

    settings = Settings()
    values = {f.name: getattr(settings, f.name) for f in fields(Settings) if f.name not in ("database", "user_agent")}
    values["workers (effective)"] = settings.workers or os.cpu_count() or 1
    return values


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_config(path: Path, sources: Sequence[tuple[str, str, str]]) -> None:
    lines = ["# agg benchmark config: default [settings]", ""]
    for name, url, kind in sources:
        lines += ["[[source]]", f"name = {toml_string(name)}", f"url = {toml_string(url)}", f'kind = "{kind}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def db_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        failed = conn.execute("SELECT count(*) FROM sources WHERE last_status = 'error'").fetchone()[0]
        sources = conn.execute("SELECT count(*) FROM sources").fetchone()[0]
    return {"posts": posts, "sources": sources, "failed_sources": failed}


def http_json(url: str) -> Any:
    with urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for(path: Path, process: subprocess.Popen[bytes], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready after {timeout:g} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port_range(count: int, start: int = 21000, stop_at: int = 40000) -> int:
    for base in range(start, stop_at, count + 7):
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} free consecutive ports on 127.0.0.1")


def reader_python() -> tuple[str | None, str]:
    """A Python that can `import reader`: this one, else bench/.venv-reader (created on first use)."""

    def usable(python: str) -> bool:
        probe = [python, "-c", "import sgmllib, reader; reader.make_reader(':memory:').close()"]
        return subprocess.run(probe, capture_output=True, check=False).returncode == 0

    if usable(sys.executable):
        return sys.executable, "current interpreter"
    python = READER_VENV / "bin" / "python"
    if python.exists() and usable(str(python)):
        return str(python), str(READER_VENV)
    log(f"installing reader into a throwaway venv at {READER_VENV} (not a dependency of agg)")
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(READER_VENV)], check=True)
        # sgmllib3k explicitly: feedparser needs it, and some indexes leave it out of the resolution
        subprocess.run([str(python), "-m", "pip", "install", "-q", "reader", "sgmllib3k"], check=True)
    except (subprocess.CalledProcessError, OSError) as e:
        return None, f"could not install reader: {e}"
    if not usable(str(python)):
        return None, f"reader installed in {READER_VENV} but cannot be imported"
    return str(python), str(READER_VENV)


# -- the benchmark steps -------------------------------------------------------------------------------


def bench_feeds(
    work: Path,
    n: int,
    ports: int,
    skip_reader: bool,
    also_auto: bool,
    generated: bool,
    results: dict[str, Any],
    cold_runs: int = COLD_RUNS,
) -> None:
    agg = agg_command()
    corpus = SHARED / "corpus" if (SHARED / "corpus").is_dir() and not generated else None
    log(f"building {n} feeds from {'the corpus' if corpus else 'generated posts'}")
    info = build_feeds(work / "feeds", n, corpus)
    results["feeds"] = info
    log(f"  {info['entries']} entries, {info['bytes'] / 1e6:.1f} MB")
    ready = work / "feedserver.json"
    server = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "feedserver.py"),
            "--dir",
            str(work / "feeds"),
            "--ports",
            str(ports),
            "--ready-file",
            str(ready),
        ]
    )
    try:
        wait_for(ready, server, "the feed server")
        port_list: list[int] = json.loads(ready.read_text())["ports"]
        stats_url = f"http://127.0.0.1:{port_list[0]}/__stats?reset=1"
        urls = [f"http://127.0.0.1:{port_list[i % len(port_list)]}/feed/{i}.xml" for i in range(n)]
        (work / "urls.txt").write_text("\n".join(urls) + "\n")
        config = work / "feeds.toml"
        write_config(config, [(f"feed-{i:05d}", url, "feed") for i, url in enumerate(urls)])
        db = work / "agg.db"
        command = [agg, "fetch", "--config", str(config), "--db", str(db), "-q"]
        python, where = (None, "--skip-reader") if skip_reader else reader_python()
        cold: list[dict[str, Any]] = []
        readers: list[dict[str, Any]] = []
        for run in range(cold_runs):
            # in turn, reader's then agg's: the machine drifts over minutes (the same work cost 10 % more CPU
            # an hour later), and runs in turn share its drift; agg's last cold run leaves the database warm
            if python is not None:
                log(f"reader update_feeds(workers=16), {n} feeds, cold then warm, run {run + 1} of {cold_runs}")
                readers.append(_reader_run(work, python, where, stats_url))
            log(f"agg fetch, {n} feeds, cold, run {run + 1} of {cold_runs}")
            cold.append(_agg_run(command, db, stats_url, "cold"))
        results["agg_feeds_cold"] = {**_median_run(cold), **db_counts(db)}
        log(f"agg fetch, {n} feeds, warm, {WARM_RUNS} runs")
        warm = [_agg_run(command, db, stats_url, "warm") for _ in range(WARM_RUNS)]
        results["agg_feeds_warm"] = {**_median_run(warm), **db_counts(db)}
        if also_auto:  # the same sources as kind = "auto" (the default kind), on the warm database
            auto_config = work / "feeds-auto.toml"
            write_config(auto_config, [(f"feed-{i:05d}", url, "auto") for i, url in enumerate(urls)])
            log(f"agg fetch, {n} feeds as kind auto, warm")
            http_json(stats_url)
            measured = run_measured([agg, "fetch", "--config", str(auto_config), "--db", str(db), "-q"])
            served = http_json(stats_url)
            results["agg_feeds_warm_auto"] = {**_public(measured), "served": served, **db_counts(db)}
            _check(measured, "agg fetch (warm, kind auto)")
        if python is None:
            results["reader"] = {"skipped": where}
        else:
            results["reader"] = _median_reader(readers, [run["seconds"] for run in cold])
    finally:
        stop(server)


def _agg_run(command: list[str], db: Path, stats_url: str, phase: str) -> dict[str, Any]:
    """One `agg fetch` of the N feeds: "cold" on an empty database, "warm" on the one the runs before left."""
    if phase == "cold":
        for path in db.parent.glob(db.name + "*"):  # the database, its WAL and its lock file
            path.unlink()
    http_json(stats_url)
    measured = run_measured(command)
    _check(measured, f"agg fetch ({phase})")
    return {**_public(measured), "served": http_json(stats_url)}


def _reader_run(work: Path, python: str, where: str, stats_url: str) -> dict[str, Any]:
    """reader's `update_feeds(workers=16)` on the N feeds in `work/urls.txt`, on an empty database, then again
    with every feed answering 304."""
    rdb = work / "reader.sqlite"
    for path in rdb.parent.glob(rdb.name + "*"):
        path.unlink()
    http_json(stats_url)
    command = [python, str(HERE / "reader_update.py"), "--db", str(rdb), "--urls", str(work / "urls.txt")]
    measured = run_measured([*command, "--workers", "16", "--warm"])
    _check(measured, "reader")
    report = json.loads(measured.stdout.strip().splitlines()[-1]) if measured.returncode == 0 else {}
    return {**_public(measured), **report, "served": http_json(stats_url), "python": where}


def _median_reader(runs: list[dict[str, Any]], agg_seconds: list[float]) -> dict[str, Any]:
    """reader's run of median cold time (as agg's cold figure is its run of median time), every run's time,
    and the ratio of each pair of runs made in turn."""

    def cold(run: dict[str, Any]) -> float:
        return float(run.get("cold_seconds", float("inf")))  # a failed run has none, and sorts last

    pairs = [run.get("cold_seconds", 0.0) / agg for run, agg in zip(runs, agg_seconds, strict=True)]
    done = sorted(run["cold_seconds"] for run in runs if "cold_seconds" in run)
    return {**_middle(runs, cold), "cold_runs_seconds": done, "pair_ratios": pairs}


def bench_corpus(work: Path, results: dict[str, Any]) -> None:
    tool = SHARED / "tools" / "serve-corpus"
    sites = sorted(p for p in (SHARED / "corpus").glob("*") if (p / "site.json").exists())
    if not tool.exists() or not sites:
        results["corpus"] = {"skipped": f"no {tool} or no corpus sites"}
        return
    base = free_port_range(len(sites))
    ready, listed = work / "corpus.ready", work / "corpus-sources.toml"
    command = [str(tool), "--port-base", str(base), *map(str, sites), "--sources-out", str(listed)]
    server = subprocess.Popen([*command, "--ready-file", str(ready)], stdout=subprocess.DEVNULL)
    try:
        wait_for(ready, server, "serve-corpus")
        sources = tomllib.loads(listed.read_text(encoding="utf-8"))["source"]
        config, db = work / "corpus.toml", work / "corpus.db"
        write_config(config, [(s["name"], s["url"], "auto") for s in sources])
        entry: dict[str, Any] = {"sites": [s["name"] for s in sources]}
        for phase in ("cold", "warm"):
            log(f"agg fetch, {len(sources)} corpus sites (kind auto), {phase}")
            measured = run_measured([agg_command(), "fetch", "--config", str(config), "--db", str(db), "--json"])
            _check(measured, f"agg fetch corpus ({phase})", allow={0, 1})
            per_source: list[dict[str, Any]] = []
            try:
                report = json.loads(measured.stdout)
                per_source = [
                    {k: row[k] for k in ("source", "status", "new", "updated", "unchanged", "requests", "seconds")}
                    | ({"error": row["error"]} if row.get("error") else {})
                    for row in report["sources"]
                ]
            except (json.JSONDecodeError, KeyError):
                pass
            entry[phase] = {**_public(measured), **db_counts(db), "per_source": per_source}
        results["corpus"] = entry
    finally:
        stop(server)


def _fixture_key(posts: int) -> str:
    """Names a cached store: its size, agg's schema version and the generator's own code."""
    from aggregator.store import MIGRATIONS

    code = hashlib.blake2b(digest_size=6)
    for name in ("bigstore.py", "feeds.py"):
        code.update((HERE / name).read_bytes())
    return f"store-{posts}-schema{len(MIGRATIONS)}-{code.hexdigest()}.db"


def bench_store(work: Path, posts: int, cache: Path | None, memory_limit_gb: float, results: dict[str, Any]) -> None:
    db, config = work / "big.db", work / "empty.toml"
    config.write_text("# no sources: digest and export read the database only\n")
    cached = cache / _fixture_key(posts) if cache else None
    if cached is not None and cached.exists():
        log(f"copying the cached store {cached}")
        shutil.copyfile(cached, db)
        results["store"] = {"build": json.loads(cached.with_suffix(".json").read_text()), "cached": str(cached)}
    else:
        log(f"building a store of {posts:,} posts (200 sources) through Store.save_source")
        built = run_measured(
            [sys.executable, str(HERE / "bigstore.py"), "build", "--db", str(db), "--posts", str(posts)]
        )
        _check(built, "bigstore build")
        build = {**json.loads(built.stdout.strip().splitlines()[-1]), "process": _public(built)}
        results["store"] = {"build": build}
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(db) as conn:  # one self-contained file: fold the WAL in before copying
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copyfile(db, cached)
            cached.with_suffix(".json").write_text(json.dumps(build))
    env = {**os.environ, "AGG_NOW": AGG_NOW}
    agg = agg_command()
    common = ["--config", str(config), "--db", str(db)]
    out = work / "out"
    out.mkdir(exist_ok=True)
    # never `--out /dev/null`: agg writes a temporary file beside the target and renames it over the target
    steps = {
        "digest": [agg, "digest", "--since", "7d", *common, "--out", str(out / "digest.md")],
        "export_atom": [agg, "export", "--format", "atom", "--limit", "0", *common, "--out", str(out / "all.atom")],
        "export_json": [agg, "export", "--format", "json", "--limit", "0", *common, "--out", str(out / "all.json")],
    }
    for name, command in steps.items():
        log(f"{name} on {posts:,} posts, {STORE_RUNS} runs")
        runs = []
        for _ in range(STORE_RUNS):
            measured = run_measured(command, env=env, memory_limit_gb=memory_limit_gb)
            _check(measured, name)
            target = Path(command[-1])
            size = target.stat().st_size if target.exists() else 0
            runs.append({**_public(measured), "output_bytes": size})
            target.unlink(missing_ok=True)
        # the first run after building or copying the store can take seconds more of system time
        results["store"][name] = _median_run(runs)
    log(f"duplicate grouping: every sketch computed, then {STORE_RUNS} regroups, each in a new process")
    # the first regroup after every sketch was rewritten is about 2 s slower, in a new process too (reading the
    # table just written): the median of the runs is the steady state, what each `agg fetch` pays
    first_seconds, runs = None, []
    for step in ("sketch", *["dedup"] * STORE_RUNS):
        measured = run_measured(
            [sys.executable, str(HERE / "bigstore.py"), step, "--db", str(db)], memory_limit_gb=memory_limit_gb
        )
        if not measured.stdout.strip():
            error = " ".join(measured.stderr.strip().splitlines()[-1:])
            results["store"]["dedup"] = {"available": None, "error": error, "process": _public(measured)}
            return
        output = json.loads(measured.stdout.strip().splitlines()[-1])
        if step == "sketch":
            first_seconds = output["seconds"]
        else:
            runs.append({**_public(measured), "result": output})
    median = _median_run(runs)  # the largest memory of the runs
    results["store"]["dedup"] = {
        **_middle([run["result"] for run in runs], lambda result: result["seconds"]),
        "first_seconds": first_seconds,
        "runs_seconds": sorted(run["result"]["seconds"] for run in runs),
        "process": median,
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median time, with the largest memory of any run; a failure of any run fails the figure."""
    return {
        **_middle(runs, lambda run: run["seconds"]),
        **{key: max(run[key] for run in runs) for key in ("max_rss_mb", "tree_rss_mb", "tree_pss_mb", "tree_anon_mb")},
        "returncode": next((run["returncode"] for run in runs if run["returncode"] != 0), 0),
        "runs_seconds": sorted(run["seconds"] for run in runs),
    }


def _middle(items: Sequence[dict[str, Any]], key: Callable[[dict[str, Any]], float]) -> dict[str, Any]:
    """The item of median `key` (the upper one of an even number)."""
    return sorted(items, key=key)[len(items) // 2]


def _runs(data: dict[str, Any]) -> str:
    """ "; median of a, b, c s" for a figure measured more than once."""
    runs = data.get("runs_seconds", [])
    return f"; median of {', '.join(f'{seconds:.2f}' for seconds in runs)} s" if len(runs) > 1 else ""


def _public(measured: Measured) -> dict[str, Any]:
    data = asdict(measured)
    data.pop("stdout")
    data["stderr_tail"] = measured.stderr.strip().splitlines()[-5:]
    data.pop("stderr")
    for key in ("seconds", "max_rss_mb", "tree_rss_mb", "tree_pss_mb", "tree_anon_mb", "cpu_seconds", "load_before"):
        data[key] = round(data[key], 3 if key == "seconds" else 1)
    return data


def _check(measured: Measured, what: str, allow: set[int] | None = None) -> None:
    if measured.returncode not in (allow or {0}):
        tail = "\n    ".join(measured.stderr.strip().splitlines()[-8:])
        log(f"WARNING: {what} exited with {measured.returncode}:\n    {tail}")


# -- the report ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    name: str
    value: str
    target: str = ""
    ok: bool | None = None
    detail: str = ""  # CPU time, memory, load: printed in its own column


def _detail(data: dict[str, Any]) -> str:
    return f"cpu {data['cpu_seconds']:.1f} s, {data['max_rss_mb']:.0f} MB, load {data['load_before']:.1f}"


def _memory_target(n: int) -> str:
    return "<= 250 MB" if n == 1000 else "(N=1000)"


def evaluate(results: dict[str, Any], n: int) -> list[Row]:
    return [*_feed_rows(results, n), *_corpus_rows(results), *_store_rows(results)]


def _feed_rows(results: dict[str, Any], n: int) -> list[Row]:
    rows: list[Row] = []
    cold, warm = results.get("agg_feeds_cold"), results.get("agg_feeds_warm")
    reader = results.get("reader", {})
    if cold:
        cold_fps = n / cold["seconds"]
        rows.append(Row(f"agg fetch cold, {n} feeds", f"{cold['seconds']:.2f} s = {cold_fps:.1f} feeds/s"))
        rows[-1].detail = f"{_detail(cold)}; {cold['posts']} posts, {cold['failed_sources']} failed{_runs(cold)}"
        rows.append(
            Row(
                "  peak RSS, largest agg process",
                f"{cold['max_rss_mb']:.0f} MB",
                _memory_target(n),
                cold["max_rss_mb"] <= 250 if n == 1000 else None,
                "ru_maxrss / VmHWM",
            )
        )
        rows.append(
            Row(
                "  peak memory, all agg processes",
                f"{cold['tree_pss_mb']:.0f} MB PSS",
                _memory_target(n),
                cold["tree_pss_mb"] <= 250 if n == 1000 else None,
                f"{cold['processes']} processes (main, forkserver, workers); RSS sum {cold['tree_rss_mb']:.0f} MB",
            )
        )
        if "cold_seconds" in reader:
            reader_fps = n / reader["cold_seconds"]
            rows.append(
                Row(f"reader update_feeds(16) cold, {n}", f"{reader['cold_seconds']:.2f} s = {reader_fps:.1f} feeds/s")
            )
            rows[-1].detail = (
                f"{_detail(reader)}; {reader['entries']} entries, {reader['feeds_with_errors']} failed; "
                f"process {reader['seconds']:.1f} s{_runs({'runs_seconds': reader.get('cold_runs_seconds', [])})}"
            )
            if "warm_seconds" in reader:
                rows.append(Row("  reader warm (all 304)", f"{reader['warm_seconds']:.2f} s", detail="scheduled=False"))
            ratio = cold_fps / reader_fps
            rows.append(Row("RATIO agg cold / reader (feeds/s)", f"{ratio:.2f}x", ">= 4x", ratio >= 4))
            agg_cpu, reader_cpu = cold["cpu_seconds"], reader["cpu_seconds"]
            rows[-1].detail = f"CPU per feed: agg {agg_cpu / n * 1000:.0f} ms, reader {reader_cpu / n * 1000:.0f} ms"
            if reader.get("pair_ratios"):
                rows[-1].detail += "; runs in turn: " + ", ".join(f"{pair:.2f}x" for pair in reader["pair_ratios"])
        else:
            rows.append(Row("RATIO agg cold / reader (feeds/s)", "not run", ">= 4x", None, str(reader.get("skipped"))))
    if cold and warm:
        ratio = warm["seconds"] / cold["seconds"]
        served = warm.get("served", {})
        rows.append(Row(f"agg fetch warm, {n} feeds", f"{warm['seconds']:.2f} s", detail=_detail(warm)))
        rows[-1].detail += f"; server: {served.get('304', 0)} x 304, {served.get('200', 0)} x 200"
        rows[-1].detail += _runs(warm)
        rows.append(Row("RATIO agg warm / cold", f"{ratio * 100:.1f} %", "<= 5 %", ratio <= 0.05))
    auto = results.get("agg_feeds_warm_auto")
    if auto:
        served = auto.get("served", {})
        rows.append(Row(f"agg fetch warm, {n} feeds, kind auto", f"{auto['seconds']:.2f} s", detail=_detail(auto)))
        rows[-1].detail += f"; server: {served.get('304', 0)} x 304, {served.get('200', 0)} x 200"
    return rows


def _corpus_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    corpus = results.get("corpus", {})
    if "cold" in corpus:
        for phase, limit in (("cold", 30.0), ("warm", 3.0)):
            data = corpus[phase]
            failed = [s["source"] for s in data["per_source"] if s["status"] == "error"]
            requests = sum(s["requests"] for s in data["per_source"])
            rows.append(
                Row(
                    f"agg fetch 5 corpus sites, {phase}",
                    f"{data['seconds']:.2f} s",
                    f"<= {limit:g} s",
                    data["seconds"] <= limit,
                    f"{_detail(data)}; {data['posts']} posts, {requests} requests, {len(failed)} failed",
                )
            )
    elif corpus:
        rows.append(Row("corpus sites", "not run", detail=str(corpus.get("skipped"))))
    return rows


def _store_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    store = results.get("store", {})
    if store:
        build = store["build"]
        rows.append(
            Row(
                f"store of {build['posts']:,} posts: build",
                f"{build['seconds']:.1f} s",
                detail=f"Store.save_source, {build['db_bytes'] / 1e6:.0f} MB on disk"
                + ("; from the cache" if store.get("cached") else ""),
            )
        )
        # the export target is for `agg export --limit 0`, the default format (Atom); JSON Feed is timed
        # beside it with no target, as it also carries every post's plain text (1.8 times the bytes)
        for key, label, limit in (
            ("digest", "  agg digest --since 7d", 1.0),
            ("export_atom", "  agg export atom --limit 0", 3.0),
            ("export_json", "  agg export json --limit 0", None),
        ):
            data = store[key]
            ok = data["seconds"] <= limit and data["returncode"] == 0 if limit else None
            value = f"{data['seconds']:.2f} s" + ("" if data["returncode"] == 0 else f" (exit {data['returncode']})")
            # an export reads the store through a memory map: its RSS counts the file's pages
            mapped = f" RSS ({data['tree_anon_mb']:.0f} MB anonymous)" if key.startswith("export") else ""
            detail = f"{_detail(data)}{mapped}; {data['output_bytes'] / 1e6:.1f} MB out{_runs(data)}"
            rows.append(Row(label, value, f"<= {limit:g} s" if limit else "(HTML and text)", ok, detail))
        dedup = store.get("dedup", {})
        if dedup.get("seconds") is not None:
            rows.append(
                Row(
                    "  duplicate grouping",
                    f"{dedup['seconds']:.2f} s",
                    detail=f"{dedup.get('groups')} groups; {dedup['function']}"
                    + f"; median of {', '.join(f'{x:.2f}' for x in dedup['runs_seconds'])} s"
                    + f"; before them, computing every sketch {dedup['first_seconds']:.1f} s"
                    + f"; process: {_detail(dedup['process'])}",
                )
            )
        else:
            rows.append(Row("  duplicate grouping", "n/a", detail=dedup.get("note") or f"error: {dedup.get('error')}"))
    return rows


def print_table(rows: list[Row], results: dict[str, Any]) -> None:
    widths = [max(len(r.name) for r in rows) + 2, max(len(r.value) for r in rows) + 2, 12, 6]
    print()
    print(f"agg benchmark, {results['machine']}; wall times (load = 1-min load average when the step started)")
    print(f"agg settings (defaults): {results['agg_settings']}")
    feeds = results.get("feeds") or {}
    if feeds:
        print(
            f"feeds: {feeds['feeds']} x ({feeds['feeds_from']}), {feeds['entries']} entries, "
            f"{feeds['bytes'] / 1e6:.1f} MB, served from {results['feed_ports']} ports of 127.0.0.1"
        )
    rule = "-" * (sum(widths) + 60)
    print(rule)
    print(f"{'figure':<{widths[0]}}{'value':<{widths[1]}}{'target':<{widths[2]}}{'':<{widths[3]}}details")
    print(rule)
    for row in rows:
        verdict = "" if row.ok is None else "PASS" if row.ok else "FAIL"
        print(
            f"{row.name:<{widths[0]}}{row.value:<{widths[1]}}{row.target:<{widths[2]}}{verdict:<{widths[3]}}{row.detail}"
        )
    print(rule)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="feed sources (default 1000)")
    parser.add_argument("--posts", type=int, default=100_000, help="posts in the synthetic store (default 100000)")
    parser.add_argument("--skip-feeds", action="store_true", help="do not run the N-feed fetches (agg and reader)")
    parser.add_argument("--skip-reader", action="store_true", help="do not run lemon24/reader")
    parser.add_argument(
        "--also-auto", action="store_true", help='also time a warm fetch of the N feeds as kind = "auto"'
    )
    parser.add_argument(
        "--generated",
        action="store_true",
        help="generated feeds even when ../shared is there (corpus copies repeat each post in N/4 feeds)",
    )
    parser.add_argument("--skip-corpus", action="store_true", help="do not fetch the ../shared corpus sites")
    parser.add_argument("--skip-store", action="store_true", help="do not build and query the synthetic store")
    parser.add_argument(
        "--store-cache",
        type=Path,
        nargs="?",
        const=HERE / ".cache",
        help="reuse the synthetic store between runs from this folder (default bench/.cache); it takes minutes "
        "to build and is GBs at 100k posts",
    )
    parser.add_argument(
        "--memory-limit-gb", type=float, default=12.0, help="address-space cap for digest/export/dedup (default 12)"
    )
    parser.add_argument("--ports", type=int, default=16, help="ports the feed server listens on (default 16)")
    parser.add_argument(
        "--cold-runs",
        type=int,
        default=COLD_RUNS,
        help=f"cold fetches of the N feeds, agg's and reader's each; the median is reported (default {COLD_RUNS})",
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (feeds, databases)")
    args = parser.parse_args()

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="agg-bench-"))
    results: dict[str, Any] = {
        "n": args.n,
        "posts": args.posts,
        "machine": f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}",
        "agg_settings": agg_settings(),
        "feed_ports": args.ports,
        "shared": str(SHARED) if SHARED.is_dir() else None,
        "work_dir": str(work),
    }
    try:
        if not args.skip_feeds:
            bench_feeds(
                work, args.n, args.ports, args.skip_reader, args.also_auto, args.generated, results, args.cold_runs
            )
        if not args.skip_corpus:
            if SHARED.is_dir():
                bench_corpus(work, results)
            else:
                results["corpus"] = {"skipped": f"{SHARED} is absent"}
        if not args.skip_store:
            bench_store(work, args.posts, args.store_cache, args.memory_limit_gb, results)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    rows = evaluate(results, args.n)
    results["table"] = [asdict(r) for r in rows]
    print_table(rows, results)
    print(f"total bench time {results['total_seconds']:.0f} s")
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
