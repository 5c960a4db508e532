"""A Ray cluster of two nodes and a PostgreSQL server of its own, on loopback inside a private
network namespace, for the tests marked `netns`.

scripts/test.sh runs those tests in `unshare -n sh -c 'ip link set lo up && exec pytest -m netns'`:
inside, the only interface is loopback, so nothing the cluster does can leave 127.0.0.0/8. The
host's PostgreSQL is not reachable from there, so the tests start a server of their own (initdb
into a temporary folder, as the `postgres` user when run as root). Outside such a namespace the
tests skip, and fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def in_private_network() -> bool:
    """True when this process's network namespace holds loopback and nothing else."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if in_private_network():
        return
    reason = ("needs a private network namespace: scripts/test.sh runs it in "
              "`unshare -n sh -c 'ip link set lo up && exec pytest -m netns'`")
    for item in items:
        if item.get_closest_marker("netns") is None:
            continue
        if os.environ.get("CI"):  # CI must run them: fail rather than skip
            item.add_marker(pytest.mark.usefixtures("_fail_outside_namespace"))
        else:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def _fail_outside_namespace() -> None:
    pytest.fail("CI runs the netns tests through scripts/test.sh, inside `unshare -n`")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_tool(name: str) -> str:
    for folder in PG_BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL's {name} is not installed: the cluster tests need a server of their own")
        pytest.skip(f"PostgreSQL's {name} is not installed")
    return found


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[str]:
    """The admin URL of a PostgreSQL server started for this session on 127.0.0.1."""
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    folder = Path(tempfile.mkdtemp(prefix="paperscope-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    password_file = folder / "password"
    password_file.write_text("postgres\n")
    if as_postgres:
        shutil.chown(password_file, "postgres", "postgres")
    subprocess.run([*as_postgres, initdb, "-D", str(data), "-U", "postgres", "--pwfile", str(password_file),
                    "-A", "scram-sha-256", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=200"
    subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres:postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A Ray cluster of a head and one worker node, one CPU each; this process is its driver."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'paperscope[ray]'")
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "object_store_memory": 200 * 1024**2},
    )
    cluster.add_node(num_cpus=1, object_store_memory=200 * 1024**2)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
    try:
        yield cluster.address
    finally:
        ray.shutdown()
        cluster.shutdown()


def wait_until(predicate, timeout: float, what: str, every: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
