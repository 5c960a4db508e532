"""The store's write stamp, asked on every page request, must leave SQLite's locks alone: a reader's
snapshot keeps another process's checkpoint from overwriting the pages it is reading. (Closing any
descriptor of the database's files would drop this process's POSIX locks on them, and readers then
failed with "database disk image is malformed" while an ingest wrote.)"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from paperscope.store.engine import open_engine, write_stamp

CHECKPOINT = """
import sqlite3, sys
writer = sqlite3.connect(sys.argv[1], isolation_level=None)
writer.execute("INSERT INTO t VALUES (2)")
print(writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0])
"""


def test_the_write_stamp_keeps_a_readers_lock(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    engine = open_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    before = write_stamp(engine)[0]
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (1,)  # a snapshot is held from here
    write_stamp(engine)
    busy = subprocess.run([sys.executable, "-c", CHECKPOINT, str(db)], capture_output=True, text=True, check=True)
    assert busy.stdout.strip() == "1", "a checkpoint in another process ran past a reader's snapshot"
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (1,)
    reader.execute("COMMIT")
    assert write_stamp(engine)[0] != before  # the other process's commit moved the stamp
    engine.dispose()
