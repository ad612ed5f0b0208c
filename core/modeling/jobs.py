"""Long jobs (training): one interface, two back ends — a local process group or a Ray cluster.

    run_id = launch(store, JobSpec(argv=[sys.executable, "-m", "core", "train", ...], cwd=...))
    status(store, run_id)              # 'pending' | 'running' | 'succeeded' | 'failed' | 'stopped' | 'lost'
    text, offset = tail(store, run_id, offset)   # incremental log reads for a live view
    stop(store, run_id)
    list_runs(store)

The command is always an argv list, never a shell string: nothing typed by a user is ever
parsed by a shell here (the Ray back end quotes the list with `shlex.join` because Ray's API
takes one string; Ray runs it with a shell on the cluster, with every argument quoted).

State lives in the workspace database (`runs` table, through `core.base.store.Store`) and in the run
folder (by default `<workspace>/runs/<run_id>/`: `log.txt`, and `exit_code` for local runs), so a
page reload or a restart of the app finds every run where it was.

Local back end (default)
    `python core/jobs_runner.py --exit-file <run folder>/exit_code -- ARGV` is started with
    `start_new_session=True` (own session and process group, so it survives the app and a stop
    reaches everything the command spawned), stdout and stderr appended to the log file. The runner
    writes the command's exit code when it ends. Status: exit code file → succeeded (0) / failed;
    else the runner's pid alive *and* its start time (from /proc/<pid>/stat) equal to the one
    recorded at launch → running (guards against pid reuse); else lost. Stop: SIGTERM to the
    process group, SIGKILL after a grace period; status 'stopped'.

Ray back end
    Submits the same argv through the Ray Jobs API (`JobSubmissionClient`) to the cluster's
    dashboard address (`http://head:8265`). A `ray://host:port` Ray Client address is accepted and
    mapped to `http://host:8265` — the dashboard's default port — because the Jobs API talks to the
    dashboard, not to the Ray Client server; pass the dashboard URL when it listens elsewhere.
    `submission_id` = run_id. The working directory (`spec.working_dir`, else `spec.cwd`, else the
    project root) is packaged as `runtime_env.working_dir`, leaving out the virtual environment,
    the workspace and model folders, `.git` and caches (and whatever `.gitignore` lists, as Ray
    does by default): the code travels, data does not — paths in argv must exist on the cluster
    (shared storage). An argv[0] equal to this interpreter (`sys.executable`) becomes `python`,
    the cluster's Python. Logs come from `get_job_logs` and are mirrored into the local log file,
    so `tail` reads the same way for both back ends and the log stays after the cluster is gone.
"""
from __future__ import annotations

from core.base.errors import ModelingError
import codecs
import fcntl
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from core.base.store import Store, now
from core.base.workspace import PROJECT_ROOT

BACKENDS = ("local", "ray")
ACTIVE = ("pending", "running")
FINAL = ("succeeded", "failed", "stopped", "lost")
RUNNER = Path(__file__).resolve().with_name("jobs_runner.py")
EXIT_FILE = "exit_code"
LOG_FILE = "log.txt"
DEFAULT_GRACE_S = 10.0
RAY_DASHBOARD_PORT = 8265
CONNECT_TIMEOUT_S = 5.0
# Left out of the working directory Ray packages and ships to the cluster (gitwildmatch patterns,
# relative to the working directory; "/x/" only at its top). `.gitignore` entries are left out too.
RAY_EXCLUDES = [
    "/.venv/", "/venv/", "/.git/", "/data/", "/models/", "/runs/", "/bench/out/",
    "__pycache__/", "*.pyc", ".pytest_cache/", "node_modules/", "*.mp4", "*.tfrecord",
]


class JobError(ModelingError, RuntimeError):
    """A job operation that could not be done; the message says why and what to do."""


@dataclass
class JobSpec:
    """What to run. `argv` is a list (never a shell string); `env` is added to this process's
    environment (local) or sent as the job's `env_vars` (Ray). `run_id` and `log_path` default to a
    new id and `<workspace>/runs/<run_id>/log.txt`."""

    argv: list[str]
    cwd: str | os.PathLike | None = None
    env: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    log_path: str | os.PathLike | None = None
    kind: str = "train"
    config: dict | None = None
    # Ray only
    working_dir: str | os.PathLike | None = None
    excludes: list[str] | None = None
    runtime_env: dict | None = None
    num_cpus: float | None = None
    num_gpus: float | None = None


# --- public interface ------------------------------------------------------------------------------
def new_run_id() -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def run_dir(store: Store, run_id: str) -> Path:
    """Default run folder: `<workspace>/runs/<run_id>` (the workspace holds the database)."""
    return Path(store.path).resolve().parent / "runs" / run_id


def launch(store: Store, spec: JobSpec, backend: str = "local", address: str | None = None) -> str:
    """Start `spec` on `backend` ('local' or 'ray'; Ray needs `address`); returns the run id."""
    argv = _check_argv(spec.argv)
    env = {str(k): str(v) for k, v in (spec.env or {}).items()}
    if backend not in BACKENDS:
        raise JobError(f"Unknown job back end {backend!r}; choose one of {', '.join(BACKENDS)}.")
    run_id = spec.run_id or new_run_id()
    if not _valid_id(run_id):
        raise JobError(f"Run id {run_id!r} may only hold letters, digits, '-', '_' and '.'.")
    existing = store.run(run_id)
    if existing is not None and existing["status"] != "created":
        raise JobError(f"Run {run_id} was already launched (status {existing['status']}); use a new run id.")
    log_path = Path(spec.log_path) if spec.log_path else run_dir(store, run_id) / LOG_FILE
    log_path = log_path.resolve()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cwd = Path(spec.cwd).resolve() if spec.cwd else PROJECT_ROOT
    if not cwd.is_dir():
        raise JobError(f"The job's working directory {cwd} does not exist.")

    if backend == "local":
        fields = _local_launch(run_id, argv, cwd, env, log_path)
    else:
        fields = _ray_launch(run_id, argv, cwd, env, log_path, spec, address)
    record = dict(kind=spec.kind, backend=backend, log_path=str(log_path), started_at=now(), **fields)
    if spec.config is not None or existing is None:
        record["config"] = spec.config if spec.config is not None else {}
    if existing is None:
        store.create_run(run_id, **record)
    else:
        store.update_run(run_id, **record)
    return run_id


def status(store: Store, run_id: str) -> str:
    """The run's status, refreshed from its back end."""
    return refresh(store, run_id)["status"]


def refresh(store: Store, run_id: str) -> dict:
    """The run's database row (see `Store.run`) after asking its back end how it is doing.

    A Ray cluster that cannot be reached leaves the status as it was and puts the reason into
    `run["job"]["error"]`."""
    run = _get(store, run_id)
    if run["status"] not in ACTIVE:
        return run
    if run["backend"] == "local":
        _local_refresh(store, run)
    else:
        _ray_refresh(store, run)
    return store.run(run_id)


def get_run(store: Store, run_id: str, refresh_backend: bool = True) -> dict:
    return refresh(store, run_id) if refresh_backend else _get(store, run_id)


def list_runs(store: Store, kind: str | None = None, refresh_backend: bool = True) -> list[dict]:
    """All runs, newest first; active ones refreshed from their back end first."""
    if refresh_backend:
        for run in store.runs(kind=kind):
            if run["status"] in ACTIVE:
                try:
                    refresh(store, run["id"])
                except JobError:
                    pass
    return store.runs(kind=kind)


def tail(store: Store, run_id: str, from_offset: int = 0, max_bytes: int = 1 << 20) -> tuple[str, int]:
    """Log text from byte `from_offset` on (at most `max_bytes`), and the offset to ask for next.

    Never splits a UTF-8 character: an incomplete one at the end is left for the next call. For a
    Ray run the local mirror is brought up to date first (a cluster that cannot be reached just
    leaves what is there)."""
    run = _get(store, run_id)
    if run["backend"] == "ray" and not run["job"].get("mirror_done"):
        try:
            _ray_mirror(run)
        except JobError:
            pass
    path = Path(run["log_path"]) if run["log_path"] else None
    if path is None or not path.exists():
        return "", from_offset
    max_bytes = max(int(max_bytes), 4)  # room for at least one whole UTF-8 character
    with open(path, "rb") as f:
        f.seek(max(0, from_offset))
        data = f.read(max_bytes)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=False)
    pending = len(decoder.getstate()[0])  # bytes of a character the writer has not finished yet
    return text, max(0, from_offset) + len(data) - pending


def stop(store: Store, run_id: str, grace: float = DEFAULT_GRACE_S) -> dict:
    """Stop the run: SIGTERM to its process group, SIGKILL after `grace` seconds (local), or the
    Ray Jobs API's stop (SIGTERM, then SIGKILL after Ray's own grace). Returns the run's row,
    whose status is 'stopped' once the job is gone (a run that had already ended keeps its status)."""
    run = refresh(store, run_id)
    if run["status"] not in ACTIVE:
        return run
    store.update_run(run_id, job={"stop_requested_at": now()})
    if run["backend"] == "local":
        _local_stop(store, run, grace)
    else:
        _ray_stop(store, run, grace)
    return refresh(store, run_id)


def wait(store: Store, run_id: str, timeout: float | None = None, poll: float = 0.2) -> str:
    """Block until the run ends (or `timeout` seconds pass); returns its status."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        state = status(store, run_id)
        if state not in ACTIVE or (deadline is not None and time.monotonic() >= deadline):
            return state
        time.sleep(poll)


# --- helpers ---------------------------------------------------------------------------------------
def _get(store: Store, run_id: str) -> dict:
    run = store.run(run_id)
    if run is None:
        raise JobError(f"No run with id {run_id!r} in this workspace.")
    return run


def _check_argv(argv) -> list[str]:
    if isinstance(argv, (str, bytes)) or not isinstance(argv, (list, tuple)) or not argv:
        raise JobError("A job's command must be a non-empty list of arguments (no shell strings).")
    if not all(isinstance(a, (str, os.PathLike)) for a in argv):
        raise JobError("Every argument of a job's command must be a string or a path.")
    return [os.fspath(a) for a in argv]


def _valid_id(run_id: str) -> bool:
    return bool(run_id) and len(run_id) <= 128 and all(c.isalnum() or c in "-_." for c in run_id) \
        and run_id not in (".", "..")


# --- local back end --------------------------------------------------------------------------------
_PROCS: dict[str, subprocess.Popen] = {}  # runs started by this process, polled so they get reaped
_PROCS_LOCK = threading.Lock()


def _local_launch(run_id: str, argv: list[str], cwd: Path, env: dict, log_path: Path) -> dict:
    exit_file = log_path.parent / EXIT_FILE
    exit_file.unlink(missing_ok=True)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    try:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, str(RUNNER), "--exit-file", str(exit_file), "--", *argv],
                cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True,
            )
    except OSError as exc:
        raise JobError(f"Could not start the job: {exc}") from exc
    with _PROCS_LOCK:
        _PROCS[run_id] = proc
    return dict(
        status="running", pid=proc.pid, external_id=None,
        job={"argv": argv, "cwd": str(cwd), "exit_file": str(exit_file), "start_time": _start_time(proc.pid),
             "host": socket.gethostname()},
    )


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or None."""
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time) of a process from /proc, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except FileNotFoundError:
        return None
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # fields from 3 (state) on; comm may hold spaces
    return fields[0], int(fields[19])


def _reap() -> None:
    """Collect the exit status of ended runners this process started (no zombies are left)."""
    with _PROCS_LOCK:
        for run_id, proc in list(_PROCS.items()):
            if proc.poll() is not None:
                del _PROCS[run_id]


def _leader_alive(run: dict) -> bool:
    """Is the run's runner process still running (not a zombie, not a reused pid)?"""
    _reap()
    pid, started = run["pid"], run["job"].get("start_time")
    if not pid:
        return False
    if not Path("/proc").is_dir():  # no /proc (not Linux): no pid-reuse guard
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    stat = _proc_stat(pid)
    if stat is None or stat[0] in ("Z", "X"):
        return False
    return started is None or stat[1] == started


def _group_alive(run: dict) -> bool:
    """Does any process of the run's process group remain (its leader may be gone already)?

    The group id is the runner's pid. Linux does not hand out a pid while it still names a process
    group, so if that pid now belongs to another process (different start time) our group is gone."""
    _reap()
    pid, started = run["pid"], run["job"].get("start_time")
    if not pid:
        return False
    stat = _proc_stat(pid)
    if stat is not None and started is not None and stat[1] != started:
        return False
    if stat is not None and stat[0] not in ("Z", "X"):
        return True
    return bool(_group_members(pid)) if Path("/proc").is_dir() else _killpg(pid, 0)


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is `pgid`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                raw = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(int(entry))
    return out


def _killpg(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return False


def _read_exit(run: dict) -> int | None:
    path = run["job"].get("exit_file")
    if not path:
        return None
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def _local_refresh(store: Store, run: dict) -> None:
    _reap()
    code = _read_exit(run)
    host = run["job"].get("host")
    if code is None and host and host != socket.gethostname():
        return  # started on another machine (shared workspace): only its exit file can tell
    if code is None:
        if _leader_alive(run):
            return
        code = _read_exit(run)  # it may have written the file and ended between the two looks
    stopping = bool(run["job"].get("stop_requested_at"))
    if code is None:
        state = "stopped" if stopping else "lost"
        note = None if stopping else (
            "The job's process is gone and left no exit code (killed with SIGKILL, or the machine restarted)."
        )
    else:
        state = "stopped" if stopping else ("succeeded" if code == 0 else "failed")
        note = None
    finished = now()
    exit_path = run["job"].get("exit_file")
    if code is not None and exit_path:
        try:
            finished = datetime.fromtimestamp(Path(exit_path).stat().st_mtime, timezone.utc).isoformat(
                timespec="milliseconds")
        except OSError:
            pass
    store.update_run(run["id"], status=state, exit_code=code, finished_at=finished,
                     job={"note": note} if note else None)


def _local_stop(store: Store, run: dict, grace: float) -> None:
    pgid = run["pid"]
    if not pgid or not _group_alive(run):
        return
    _killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + max(0.0, grace)
    while time.monotonic() < deadline and _group_alive(run):
        time.sleep(0.05)
    if _group_alive(run):
        _killpg(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and _group_alive(run):
            time.sleep(0.05)


# --- Ray back end ----------------------------------------------------------------------------------
_CLIENTS: dict[str, object] = {}
_UNREACHABLE: dict[str, tuple[float, str]] = {}  # url -> (when, message): not probed again for a while
UNREACHABLE_RETRY_S = 10.0
_CLIENTS_LOCK = threading.Lock()
_MIRROR_LOCK = threading.Lock()


def dashboard_url(address: str | None) -> tuple[str, str | None]:
    """The Ray dashboard URL for `address`, and a note when it had to be guessed.

    Accepts `http(s)://host:port`, `host:port` (http assumed) and a Ray Client address
    `ray://host[:10001]`, which is mapped to `http://host:8265` (the dashboard's default port).
    Without an address, $RAY_API_SERVER_ADDRESS or $RAY_ADDRESS is used."""
    address = (address or os.environ.get("RAY_API_SERVER_ADDRESS") or os.environ.get("RAY_ADDRESS") or "").strip()
    if not address:
        raise JobError("Give the Ray cluster's dashboard address, e.g. http://head-node:8265.")
    note = None
    if address.startswith("ray://"):
        host = urlsplit(address).hostname
        if not host:
            raise JobError(f"Cannot read a host from the Ray address {address!r}.")
        url = f"http://{_host_for_url(host)}:{RAY_DASHBOARD_PORT}"
        note = (f"{address} is a Ray Client address; jobs are submitted through the dashboard, assumed at {url} "
                "(its default port). Give the dashboard URL if it listens elsewhere.")
        return url, note
    if "://" not in address:
        address = f"http://{address}"
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise JobError(f"{address!r} is not a Ray dashboard address; expected e.g. http://head-node:8265.")
    return address.rstrip("/"), note


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _ray_client(url: str):
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(url)
    if client is not None:
        return client
    for var in ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS"):
        value = os.environ.get(var)
        if value and value.rstrip("/") != url:
            raise JobError(f"${var}={value} is set and Ray would use it instead of {url}; "
                           f"unset it or make it the same address.")
    with _CLIENTS_LOCK:
        failed = _UNREACHABLE.get(url)
    if failed and time.monotonic() - failed[0] < UNREACHABLE_RETRY_S:
        raise JobError(failed[1])
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        message = (
            f"Cannot reach the Ray dashboard at {url} ({exc}). Is the cluster running, started with the "
            f"dashboard (`ray start --head --dashboard-host=...`), and is this its dashboard address "
            f"(http://<head-node>:{RAY_DASHBOARD_PORT} by default)?"
        )
        with _CLIENTS_LOCK:
            _UNREACHABLE[url] = (time.monotonic(), message)
        raise JobError(message) from exc
    with _CLIENTS_LOCK:
        _UNREACHABLE.pop(url, None)
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:  # pragma: no cover - ray is in requirements.txt
        raise JobError("The Ray back end needs `ray[default]` installed.") from exc
    try:
        client = JobSubmissionClient(url)
    except Exception as exc:  # ConnectionError, RuntimeError (version), requests errors
        raise JobError(f"The Ray dashboard at {url} did not answer as a Ray Jobs server: {exc}") from exc
    with _CLIENTS_LOCK:
        _CLIENTS[url] = client
    return client


def _forget_client(url: str) -> None:
    with _CLIENTS_LOCK:
        _CLIENTS.pop(url, None)


def _ray_call(url: str, what: str, fn):
    """Call `fn(client)`; connection trouble becomes a JobError (and drops the cached client)."""
    client = _ray_client(url)
    try:
        return fn(client)
    except JobError:
        raise
    except Exception as exc:
        if _is_not_found(exc):
            raise _NotFound(str(exc)) from exc
        _forget_client(url)
        raise JobError(f"Ray at {url}: could not {what}: {exc}") from exc


class _NotFound(JobError):
    pass


def _is_not_found(exc: Exception) -> bool:
    text = str(exc)
    return "404" in text and "does not exist" in text


def _ray_entrypoint(argv: list[str]) -> str:
    argv = list(argv)
    if os.path.realpath(argv[0]) == os.path.realpath(sys.executable) or argv[0] == sys.executable:
        argv[0] = "python"  # this machine's interpreter path means nothing on the cluster
    return shlex.join(argv)


def _ray_launch(run_id, argv, cwd, env, log_path, spec: JobSpec, address) -> dict:
    url, note = dashboard_url(address)
    working_dir = Path(spec.working_dir).resolve() if spec.working_dir else cwd
    if not working_dir.is_dir():
        raise JobError(f"The working directory to ship to Ray, {working_dir}, does not exist.")
    runtime_env = {
        "working_dir": str(working_dir),
        "excludes": list(spec.excludes) if spec.excludes is not None else list(RAY_EXCLUDES),
        "env_vars": {"PYTHONUNBUFFERED": "1", **env},
    }
    for key, value in (spec.runtime_env or {}).items():
        if key == "env_vars":
            runtime_env["env_vars"].update(value)
        else:
            runtime_env[key] = value
    entrypoint = _ray_entrypoint(argv)
    extra = {}
    if spec.num_cpus is not None:
        extra["entrypoint_num_cpus"] = spec.num_cpus
    if spec.num_gpus is not None:
        extra["entrypoint_num_gpus"] = spec.num_gpus
    log_path.write_bytes(b"")  # the mirror of the job's log starts empty
    submitted = _ray_call(url, "submit the job", lambda c: c.submit_job(
        entrypoint=entrypoint, submission_id=run_id, runtime_env=runtime_env,
        metadata={"workbench_run": run_id}, **extra,
    ))
    return dict(
        status="pending", pid=None, external_id=submitted,
        job={"address": url, "entrypoint": entrypoint, "argv": argv, "working_dir": str(working_dir),
             "note": note},
    )


_RAY_STATUS = {"PENDING": "pending", "RUNNING": "running", "SUCCEEDED": "succeeded", "FAILED": "failed",
               "STOPPED": "stopped"}


def _ray_refresh(store: Store, run: dict) -> None:
    url, job_id = run["job"]["address"], run["external_id"] or run["id"]
    try:
        info = _ray_call(url, "read the job's status", lambda c: c.get_job_info(job_id))
    except _NotFound:
        store.update_run(run["id"], status="lost", finished_at=now(),
                         job={"note": f"The Ray cluster at {url} no longer knows job {job_id} (restarted?)."})
        return
    except JobError as exc:
        store.update_run(run["id"], job={"error": str(exc)})
        return
    state = _RAY_STATUS.get(getattr(info.status, "value", str(info.status)), "running")
    changes: dict = {}
    if run["job"].get("error") or run["job"].get("message") != info.message:
        changes["job"] = {"error": None, "message": info.message}
    if state != run["status"]:
        changes["status"] = state
    if state in FINAL:
        if info.end_time:
            changes["finished_at"] = datetime.fromtimestamp(info.end_time / 1000, timezone.utc).isoformat(
                timespec="milliseconds")
        else:
            changes["finished_at"] = now()
        changes["exit_code"] = getattr(info, "driver_exit_code", None)
        try:
            _ray_mirror(run)
            changes.setdefault("job", {})["mirror_done"] = True
        except JobError:
            pass
    if changes:
        store.update_run(run["id"], **changes)


def _ray_mirror(run: dict) -> None:
    """Append what Ray has of the job's log beyond what the local log file already holds."""
    url, job_id = run["job"]["address"], run["external_id"] or run["id"]
    text = _ray_call(url, "read the job's log", lambda c: c.get_job_logs(job_id)) or ""
    data = text.encode("utf-8", "replace")
    path = Path(run["log_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with _MIRROR_LOCK, open(path, "ab") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # another app process may be mirroring the same run
        try:
            size = os.fstat(f.fileno()).st_size
            if len(data) > size:
                f.write(data[size:])
                f.flush()
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _ray_stop(store: Store, run: dict, grace: float) -> None:
    url, job_id = run["job"]["address"], run["external_id"] or run["id"]
    _ray_call(url, "stop the job", lambda c: c.stop_job(job_id))
    deadline = time.monotonic() + max(0.0, grace) + 5.0  # Ray waits a few seconds before SIGKILL
    while time.monotonic() < deadline:
        try:
            state = _ray_call(url, "read the job's status", lambda c: c.get_job_status(job_id))
        except _NotFound:
            return
        if getattr(state, "value", str(state)) in ("STOPPED", "SUCCEEDED", "FAILED"):
            return
        time.sleep(0.2)
