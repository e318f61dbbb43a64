"""The project database's tables, its schema version (SQLite's `user_version`) and the migrations.

Version 1 held the video, objects, prompts, runs, tracked frames, masks and a checkpoint; version 2
added each mask's pixel count (`masks.area`), so summaries, legends and COCO areas need no decoding;
version 3 keeps each mask in the store's code (`masks.code`, `media.mask_code`, about a third of the
COCO RLE text on silhouettes) instead of COCO RLE text (`masks.counts`).
`connect` opens a database at the current version, migrating an older one in one transaction, and
refuses a newer one or a file that is not a project database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sam2_gradio.errors import BadInput
from sam2_gradio.media.mask_code import MaskCode
from sam2_gradio.media.rle import CompressedRle

SCHEMA_VERSION = 3
APPLICATION_ID = 0x53414D32  # "SAM2": marks a file as a sam2-gradio project (PRAGMA application_id)
BUSY_TIMEOUT_SECONDS = 30.0  # how long a writer waits for another one before giving up

SCHEMA_V1 = """
CREATE TABLE video (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,            -- file name shown to the user
    path TEXT NOT NULL,            -- where the video is (absolute)
    sha256 TEXT NOT NULL,          -- content hash: a project belongs to one video
    size_bytes INTEGER NOT NULL,
    num_frames INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    fps REAL NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE objects (
    id INTEGER PRIMARY KEY,        -- the object id SAM 2 tracks
    name TEXT NOT NULL,            -- empty when unnamed
    colour TEXT NOT NULL           -- '#rrggbb' of the overlay
);
CREATE TABLE prompts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,      -- +1 on every saved edit
    state TEXT NOT NULL,           -- interactive_state.json of the prompts now
    history TEXT NOT NULL,         -- {"undo": [state...], "redo": [state...]}
    updated REAL NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    prompts_key TEXT NOT NULL,     -- hash of the clicks tracked (what the masks depend on)
    prompts TEXT NOT NULL,         -- interactive_state.json of the prompts tracked
    direction TEXT NOT NULL,
    total INTEGER NOT NULL,        -- frames the run yields when finished
    frames_tracked INTEGER NOT NULL DEFAULT 0,
    started REAL NOT NULL,
    ended REAL,
    finished INTEGER NOT NULL DEFAULT 0,
    stopped TEXT                   -- why it stopped before the end (NULL: finished or running)
);
CREATE TABLE frames (
    frame INTEGER PRIMARY KEY,     -- a frame with masks
    run_id INTEGER NOT NULL REFERENCES runs(id)
);
CREATE TABLE masks (
    frame INTEGER NOT NULL REFERENCES frames(frame),
    obj_id INTEGER NOT NULL,
    counts TEXT NOT NULL,          -- COCO compressed RLE at the video's size (non-empty masks only)
    PRIMARY KEY (frame, obj_id)
) WITHOUT ROWID;
CREATE TABLE checkpoint (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    frames_done INTEGER NOT NULL,  -- the run's frames yielded when it was taken
    state BLOB NOT NULL,           -- the parked propagation run (torch.save of plain containers)
    saved REAL NOT NULL
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,          -- e.g. "shown_frame", "masks_version"
    value TEXT NOT NULL
);
"""


def _add_mask_areas(connection: sqlite3.Connection) -> None:
    """Version 1 -> 2: `masks.area`, each mask's pixel count, computed from its RLE."""
    connection.execute("ALTER TABLE masks ADD COLUMN area INTEGER NOT NULL DEFAULT 0")
    rows = connection.execute("SELECT frame, obj_id, counts FROM masks").fetchall()
    height, width = connection.execute("SELECT height, width FROM video").fetchone() or (0, 0)
    for frame, obj_id, counts in rows:
        area = CompressedRle(height, width, counts).area()
        connection.execute("UPDATE masks SET area = ? WHERE frame = ? AND obj_id = ?", (area, frame, obj_id))


def _recode_masks(connection: sqlite3.Connection) -> None:
    """Version 2 -> 3: the masks table again, each mask's COCO RLE text (`counts`) as its `MaskCode`
    (`code`); the same masks, exactly."""
    height, width = connection.execute("SELECT height, width FROM video").fetchone() or (0, 0)
    connection.execute(
        """CREATE TABLE masks_v3 (
            frame INTEGER NOT NULL REFERENCES frames(frame),
            obj_id INTEGER NOT NULL,
            code BLOB NOT NULL,        -- media.mask_code at the video's size (non-empty masks only)
            area INTEGER NOT NULL,     -- pixels of the mask
            PRIMARY KEY (frame, obj_id)
        ) WITHOUT ROWID"""
    )
    rows = connection.execute("SELECT frame, obj_id, counts, area FROM masks")
    connection.executemany(
        "INSERT INTO masks_v3 VALUES (?, ?, ?, ?)",
        (
            (frame, obj_id, MaskCode.from_rle(CompressedRle(height, width, counts)).data, area)
            for frame, obj_id, counts, area in rows.fetchall()
        ),
    )
    connection.execute("DROP TABLE masks")
    connection.execute("ALTER TABLE masks_v3 RENAME TO masks")


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {  # from version N to N+1
    1: _add_mask_areas,
    2: _recode_masks,
}


def connect(path: str | Path, *, create: bool = False) -> sqlite3.Connection:
    """Open the project database at `path` (WAL, foreign keys on) at `SCHEMA_VERSION`.

    `create` makes a new one when the file is missing. Raises `BadInput` for a file that is not a
    project database, one written by a newer version of this program, or one that cannot be opened.
    """
    path = Path(path)
    if not path.exists() and not create:
        raise BadInput(f"{path} is not a project: it has no project.sqlite (create it by tracking into it)")
    try:
        connection = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as error:
        raise BadInput(f"the project database {path} cannot be opened ({error})") from None
    try:
        _prepare(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def _prepare(connection: sqlite3.Connection, path: Path) -> None:
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError:
        raise BadInput(
            f"{path} is not a sam2-gradio project database (corrupt or another kind of file): "
            "move it away and track again"
        ) from None
    if tables and application_id != APPLICATION_ID:
        raise BadInput(f"{path} is an SQLite database of another program, not a sam2-gradio project")
    if version > SCHEMA_VERSION:
        raise BadInput(
            f"{path} was written by a newer sam2-gradio (schema {version}, this one reads up to "
            f"{SCHEMA_VERSION}): upgrade sam2-gradio to open it"
        )
    connection.execute("PRAGMA foreign_keys = ON")
    if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        _writable(connection, path, "PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")  # WAL: a crash loses nothing committed
    if not tables:
        script = (
            f"BEGIN IMMEDIATE; {SCHEMA_V1} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;"
        )
        try:
            connection.executescript(script + " COMMIT;")
        except sqlite3.Error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        version = 1
    if version < SCHEMA_VERSION:
        migrate(connection, path, version)


def migrate(connection: sqlite3.Connection, path: Path, version: int) -> None:
    """Bring a database from `version` to `SCHEMA_VERSION`, all steps in one transaction."""
    _writable(connection, path, "BEGIN IMMEDIATE")
    try:
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](connection)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _writable(connection: sqlite3.Connection, path: Path, statement: str) -> None:
    """Run `statement`, turning a read-only folder or file into a `BadInput` that says so."""
    try:
        connection.execute(statement)
    except sqlite3.OperationalError as error:
        if "readonly" in str(error) or "unable to open" in str(error):
            raise BadInput(
                f"the project folder {path.parent} is read-only: give a writable --project folder"
            ) from None
        raise
