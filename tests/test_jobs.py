"""Jobs: local process groups (launch, live log, exit codes, stop, reload) and a real Ray head.

The Ray tests start their own head node on 127.0.0.1 (free ports, a temporary --temp-dir) once
for the module, submit real jobs through the Jobs API, and end every process of that head
(by the session id of the `ray start` they launched) at the end; nothing listens beyond loopback.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from core.modeling import jobs
from core.modeling.jobs import JobError, JobSpec
from core.base.store import Store

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def py(code: str) -> list[str]:
    """argv running a Python snippet (a list: no shell anywhere)."""
    return [PY, "-c", textwrap.dedent(code)]


def gone(pid: int) -> bool:
    """No such process, or only a zombie left for its parent to reap."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def wait_for(predicate, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def follow(store, run_id, timeout: float, until=None):
    """Tail a run until it ends (or `until(text)` holds); returns (chunks, offsets, final status)."""
    chunks, offsets, offset = [], [0], 0
    deadline = time.monotonic() + timeout
    while True:
        state = jobs.status(store, run_id)
        text, offset = jobs.tail(store, run_id, offset)
        assert offset >= offsets[-1]
        if text:
            chunks.append(text)
            offsets.append(offset)
        if state not in jobs.ACTIVE or (until and until("".join(chunks))):
            if state not in jobs.ACTIVE:  # what was written between the status and the tail
                text, offset = jobs.tail(store, run_id, offset)
                if text:
                    chunks.append(text)
                    offsets.append(offset)
            return chunks, offsets, state
        assert time.monotonic() < deadline, f"run {run_id} still {state} after {timeout}s"
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def no_ray_env(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "ws" / "workspace.db")
    yield store
    for run in store.runs():  # never leave a job of a failed test behind
        if run["backend"] == "local" and run["status"] in jobs.ACTIVE:
            jobs.stop(store, run["id"], grace=1)


# --- local back end --------------------------------------------------------------------------------
def test_local_job_streams_its_log_and_succeeds(store, tmp_path):
    argv = py("""
        import os, sys, time
        for i in range(10):
            print(f"line {i} ✓ {os.environ['GREETING']}", flush=True)
            time.sleep(0.2)
        print("to stderr", file=sys.stderr)
    """)
    run_id = jobs.launch(store, JobSpec(argv=argv, cwd=tmp_path, env={"GREETING": "hi there"},
                                        config={"preset": "demo"}))
    run = store.run(run_id)
    assert run["status"] == "running" and run["backend"] == "local" and run["pid"] > 0
    assert run["config"] == {"preset": "demo"} and run["started_at"]
    assert Path(run["log_path"]) == Path(store.path).parent / "runs" / run_id / "log.txt"

    chunks, offsets, state = follow(store, run_id, timeout=30)
    assert state == "succeeded"
    assert len(chunks) >= 3, f"log did not stream (arrived in {len(chunks)} pieces)"
    assert offsets == sorted(set(offsets))  # strictly increasing
    text = "".join(chunks)
    log_file = Path(run["log_path"])
    assert text == log_file.read_text() and offsets[-1] == log_file.stat().st_size
    assert [ln for ln in text.splitlines() if ln.startswith("line")] == [f"line {i} ✓ hi there" for i in range(10)]
    assert "to stderr" in text
    run = store.run(run_id)
    assert run["exit_code"] == 0 and run["finished_at"] >= run["started_at"]
    assert (log_file.parent / "exit_code").read_text().strip() == "0"
    assert jobs.tail(store, run_id, offsets[-1]) == ("", offsets[-1])
    assert [r["id"] for r in jobs.list_runs(store)] == [run_id]


def test_failing_command_is_failed_with_its_exit_code(store, tmp_path):
    run_id = jobs.launch(store, JobSpec(argv=py("import sys; print('boom', file=sys.stderr); sys.exit(3)"),
                                        cwd=tmp_path))
    assert jobs.wait(store, run_id, timeout=30) == "failed"
    run = store.run(run_id)
    assert run["exit_code"] == 3
    assert "boom" in jobs.tail(store, run_id)[0]

    missing = jobs.launch(store, JobSpec(argv=[str(tmp_path / "no-such-program"), "--flag"], cwd=tmp_path))
    assert jobs.wait(store, missing, timeout=30) == "failed"
    assert store.run(missing)["exit_code"] == 127
    assert "cannot start" in jobs.tail(store, missing)[0]


SPAWNER = """
    import signal, subprocess, sys, time
    if {ignore_term}:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the child: only SIGKILL helps
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(f"child {{child.pid}}", flush=True)
    while True:
        print("tick", flush=True)
        time.sleep(0.2)
"""


@pytest.mark.parametrize("ignore_term", [False, True], ids=["sigterm", "sigkill"])
def test_stop_ends_the_whole_process_group(store, tmp_path, ignore_term):
    run_id = jobs.launch(store, JobSpec(argv=py(SPAWNER.format(ignore_term=ignore_term)), cwd=tmp_path))
    chunks, _, state = follow(store, run_id, timeout=30, until=lambda t: "tick" in t)
    assert state == "running"
    child = int("".join(chunks).split("child ")[1].split()[0])
    runner = store.run(run_id)["pid"]
    assert not gone(child) and not gone(runner)

    t0 = time.monotonic()
    run = jobs.stop(store, run_id, grace=1.0)
    took = time.monotonic() - t0
    assert run["status"] == "stopped" and run["job"]["stop_requested_at"]
    assert gone(runner) and gone(child), "a process of the job's group survived the stop"
    if ignore_term:
        assert 0.9 <= took < 8, took  # waited out the grace period, then SIGKILL
    else:
        assert took < 5, took
        assert run["exit_code"] == -signal.SIGTERM  # the runner outlived its command and recorded it
    assert jobs.status(Store(store.path), run_id) == "stopped"
    assert jobs.stop(store, run_id)["status"] == "stopped"  # stopping again is harmless


LAUNCHER = """
import sys, textwrap
from core.modeling import jobs
from core.modeling.jobs import JobSpec
from core.base.store import Store
store = Store(sys.argv[1])
short = jobs.launch(store, JobSpec(argv=[sys.executable, "-c", "import time; time.sleep(1.5); print('done')"]))
long = jobs.launch(store, JobSpec(argv=[sys.executable, "-c", "import time; time.sleep(600)"]))
print(short, long)
"""


def test_status_survives_a_restart_of_the_app(store, tmp_path):
    """Jobs launched by another process (the app before a restart) are followed and stopped here."""
    out = subprocess.run([PY, "-c", LAUNCHER, str(store.path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    short, long = out
    fresh = Store(store.path)  # a new session: no process handles, only the database and run folders
    assert short not in jobs._PROCS and long not in jobs._PROCS
    assert jobs.status(fresh, short) == "running" and jobs.status(fresh, long) == "running"
    assert jobs.wait(fresh, short, timeout=30) == "succeeded"
    assert fresh.run(short)["exit_code"] == 0 and "done" in jobs.tail(fresh, short)[0]
    long_pid = fresh.run(long)["pid"]
    assert jobs.stop(fresh, long, grace=2)["status"] == "stopped"
    assert gone(long_pid)
    assert {r["id"]: r["status"] for r in jobs.list_runs(Store(store.path))} == {short: "succeeded", long: "stopped"}


def test_a_reused_pid_is_not_mistaken_for_the_job(store, tmp_path):
    """A run whose pid now belongs to another process (here: this test) is lost, and never signalled."""
    me = os.getpid()
    started = jobs._start_time(me)
    store.create_run("reused", status="running", pid=me, log_path=str(tmp_path / "log.txt"),
                     job={"start_time": started - 1, "exit_file": str(tmp_path / "exit_code")})
    assert jobs.stop(store, "reused", grace=0.5)["status"] == "lost"  # and we are still here
    assert "no exit code" in store.run("reused")["job"]["note"]

    dead = subprocess.Popen([PY, "-c", "pass"])
    dead.wait()
    store.create_run("dead", status="running", pid=dead.pid, job={"start_time": 1, "exit_file": str(tmp_path / "x")})
    assert jobs.status(store, "dead") == "lost"


def test_refuses_shell_strings_reused_ids_and_unknown_back_ends(store, tmp_path):
    with pytest.raises(JobError, match="list"):
        jobs.launch(store, JobSpec(argv="echo hi; rm -rf /"))
    with pytest.raises(JobError, match="back end"):
        jobs.launch(store, JobSpec(argv=[PY, "-c", "pass"]), backend="slurm")
    with pytest.raises(JobError, match="letters"):
        jobs.launch(store, JobSpec(argv=[PY, "-c", "pass"], run_id="../escape"))
    run_id = jobs.launch(store, JobSpec(argv=[PY, "-c", "pass"], run_id="r1", cwd=tmp_path))
    assert jobs.wait(store, run_id, timeout=30) == "succeeded"
    with pytest.raises(JobError, match="already launched"):
        jobs.launch(store, JobSpec(argv=[PY, "-c", "pass"], run_id="r1", cwd=tmp_path))
    with pytest.raises(JobError, match="No run"):
        jobs.status(store, "nope")
    # A run created beforehand (e.g. with its config) is launched in place.
    store.create_run("r2", config={"epochs": 1})
    jobs.launch(store, JobSpec(argv=[PY, "-c", "pass"], run_id="r2", cwd=tmp_path))
    assert jobs.wait(store, "r2", timeout=30) == "succeeded" and store.run("r2")["config"] == {"epochs": 1}


def test_tail_never_splits_a_character(store, tmp_path):
    log = tmp_path / "log.txt"
    log.write_bytes("ab✓c".encode())
    store.create_run("t", status="succeeded", log_path=str(log))
    assert jobs.tail(store, "t", 0, max_bytes=4) == ("ab", 2)  # "✓" is 3 bytes: only 2 fit after "ab"
    assert jobs.tail(store, "t", 2, max_bytes=4) == ("✓c", 6)
    assert jobs.tail(store, "t", 6) == ("", 6)


# --- Ray back end ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_processes(sid: int):
    import psutil

    found = {}
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid:
                found[proc.pid] = proc
                for child in proc.children(recursive=True):
                    found[child.pid] = child
        except (OSError, psutil.Error):
            pass
    return list(found.values())


def _end_session(sid: int) -> None:
    """End every process of the head we started (its session) and their descendants — by pid:
    SIGTERM, then SIGKILL for those still running 3 s later (what `ray stop --force` does)."""
    import psutil

    def running(procs):
        alive = []
        for proc in procs:
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
            except psutil.Error:
                pass
        return alive

    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        procs = running(_session_processes(sid))
        for proc in procs:
            try:
                proc.send_signal(sig)
            except psutil.Error:
                pass
        deadline = time.monotonic() + grace
        while procs and time.monotonic() < deadline:
            time.sleep(0.1)
            procs = running(procs)


@pytest.fixture(scope="module")
def ray_head():
    """A single-node Ray cluster on 127.0.0.1 for this module: yields (dashboard URL, session id)."""
    temp_dir = tempfile.mkdtemp(prefix="rayjobs", dir="/tmp")  # short: Ray's socket paths must fit
    ports = {name: _free_port() for name in (
        "port", "dashboard-port", "ray-client-server-port", "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port", "runtime-env-agent-port", "metrics-export-port",
        "node-manager-port", "object-manager-port")}
    env = dict(
        os.environ,
        PATH=f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # `python` = this venv's
        RAY_USAGE_STATS_ENABLED="0",
        # Ray swaps 127.0.0.1 for the machine's routable address (and its servers then listen on
        # every interface) unless multi-node clusters are off, as it does on macOS by default.
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
    )
    for var in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"):
        env.pop(var, None)
    cmd = [str(Path(PY).parent / "ray"), "start", "--head", "--node-ip-address=127.0.0.1",
           "--dashboard-host=127.0.0.1", "--include-dashboard=true", "--num-cpus=1", "--disable-usage-stats",
           f"--temp-dir={temp_dir}", *(f"--{k}={v}" for k, v in ports.items())]
    start_log = open(Path(temp_dir) / "start.log", "w")
    starter = subprocess.Popen(cmd, env=env, stdout=start_log, stderr=subprocess.STDOUT, start_new_session=True)
    sid = starter.pid
    url = f"http://127.0.0.1:{ports['dashboard-port']}"
    try:
        assert starter.wait(timeout=180) == 0, (Path(temp_dir) / "start.log").read_text()

        def answers():
            try:
                with urllib.request.urlopen(f"{url}/api/version", timeout=2) as r:
                    return json.load(r)
            except OSError:
                return None

        wait_for(answers, 120, "the Ray dashboard", poll=0.5)
        yield url, sid
    finally:
        try:
            from ray.job_submission import JobSubmissionClient

            client = JobSubmissionClient(url)
            for info in client.list_jobs():
                if not info.status.is_terminal():
                    client.stop_job(info.submission_id)
        except Exception:
            pass
        _end_session(sid)
        start_log.close()
        jobs._CLIENTS.clear()
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def workdir(tmp_path):
    """The small working directory shipped to Ray (the project itself is large)."""
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / "script.py").write_text(textwrap.dedent("""
        import os, sys, time
        n, code = int(sys.argv[1]), int(sys.argv[2])
        print("greeting:", os.environ.get("GREETING"), "args:", sys.argv[3:], flush=True)
        for i in range(n):
            print(f"line {i} ✓", flush=True)
            time.sleep(0.25)
        sys.exit(code)
    """))
    (wd / "big.bin").write_bytes(b"\0" * 1024)
    (wd / "__pycache__").mkdir()
    return wd


def test_ray_head_listens_on_loopback_only(ray_head):
    url, sid = ray_head
    listening = set()
    for proc in _session_processes(sid):
        try:
            for conn in proc.net_connections(kind="inet"):
                if conn.status == "LISTEN":
                    listening.add((proc.name(), conn.laddr.ip, conn.laddr.port))
        except Exception:
            pass
    assert listening, "found no listening sockets of the Ray head"
    outside = {entry for entry in listening if entry[1] not in ("127.0.0.1", "::ffff:127.0.0.1", "::1")}
    assert not outside, f"Ray listens beyond 127.0.0.1: {sorted(outside)}"


def test_ray_jobs_run_stream_their_logs_and_fail_with_exit_codes(ray_head, store, workdir):
    url, _ = ray_head
    ok = jobs.launch(store, JobSpec(argv=[PY, "script.py", "8", "0", "it's a 'quoted' arg; $HOME"], cwd=workdir,
                                    env={"GREETING": "hi there"}), backend="ray", address=url)
    bad = jobs.launch(store, JobSpec(argv=[PY, "script.py", "1", "3"], cwd=workdir), backend="ray",
                      address=url.replace("http://", ""))  # host:port works too
    run = store.run(ok)
    assert run["backend"] == "ray" and run["external_id"] == ok and run["status"] in jobs.ACTIVE
    assert run["job"]["entrypoint"] == "python script.py 8 0 'it'\"'\"'s a '\"'\"'quoted'\"'\"' arg; $HOME'"

    chunks, offsets, state = follow(store, ok, timeout=120)
    assert state == "succeeded"
    assert len(chunks) >= 2, f"log did not stream (arrived in {len(chunks)} pieces)"
    text = "".join(chunks)
    assert "greeting: hi there args: [\"it's a 'quoted' arg; $HOME\"]" in text  # one argument, unexpanded
    assert [ln for ln in text.splitlines() if ln.startswith("line")] == [f"line {i} ✓" for i in range(8)]
    from ray.job_submission import JobSubmissionClient

    assert Path(store.run(ok)["log_path"]).read_text() == JobSubmissionClient(url).get_job_logs(ok) == text
    assert store.run(ok)["exit_code"] == 0

    assert jobs.wait(store, bad, timeout=120) == "failed"
    assert store.run(bad)["exit_code"] == 3 and "line 0" in jobs.tail(store, bad)[0]

    jobs._CLIENTS.clear()  # an app restart: only the database is left
    assert {r["id"]: r["status"] for r in jobs.list_runs(Store(store.path))} == {ok: "succeeded", bad: "failed"}


def test_ray_job_stop(ray_head, store, workdir):
    url, _ = ray_head
    run_id = jobs.launch(store, JobSpec(argv=[PY, "script.py", "100000", "0"], cwd=workdir), backend="ray",
                         address=url)
    chunks, _, state = follow(store, run_id, timeout=120, until=lambda t: "line 2" in t)
    assert state == "running"
    run = jobs.stop(store, run_id, grace=5)
    assert run["status"] == "stopped" and run["finished_at"]
    from ray.job_submission import JobStatus, JobSubmissionClient

    assert JobSubmissionClient(url).get_job_status(run_id) == JobStatus.STOPPED
    assert "line 2" in jobs.tail(store, run_id)[0]


def test_ray_addresses_and_an_unreachable_cluster(store, tmp_path):
    assert jobs.dashboard_url("http://head:8265/") == ("http://head:8265", None)
    assert jobs.dashboard_url("head:8265")[0] == "http://head:8265"
    url, note = jobs.dashboard_url("ray://10.1.2.3:10001")
    assert url == "http://10.1.2.3:8265" and "Ray Client address" in note
    with pytest.raises(JobError, match="dashboard address"):
        jobs.dashboard_url("")
    with pytest.raises(JobError, match="not a Ray dashboard address"):
        jobs.dashboard_url("ftp://head:8265")

    port = _free_port()  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(JobError, match=f"Cannot reach the Ray dashboard at http://127.0.0.1:{port}"):
        jobs.launch(store, JobSpec(argv=[PY, "-c", "pass"], cwd=tmp_path), backend="ray",
                    address=f"http://127.0.0.1:{port}")
    assert time.monotonic() - t0 < 10
    assert store.runs() == []  # nothing recorded for a job that never started

    # A run whose cluster went away keeps its last known status, says why, and still shows its log.
    log = tmp_path / "log.txt"
    log.write_text("epoch 1\n")
    store.create_run("away", backend="ray", status="running", external_id="away", log_path=str(log),
                     job={"address": f"http://127.0.0.1:{port}"})
    assert jobs.status(store, "away") == "running"
    assert "Cannot reach the Ray dashboard" in store.run("away")["job"]["error"]
    assert jobs.tail(store, "away") == ("epoch 1\n", 8)
    with pytest.raises(JobError, match="Cannot reach"):
        jobs.stop(store, "away")
