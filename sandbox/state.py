"""The emulator's world kept on disk beside the service's database, so a restarted demo is the same world.

`make run` keeps its database in ./var; the emulator's consents, memberships, access levels and faults live
in the world, which without this file would start afresh on every run while the database remembers a
CONNECTED organization (scans then fail, the walkthrough's first step says ALREADY_CONNECTED). The file is
written every few seconds when the world changed and when the emulator stops, atomically (a killed process
leaves the previous copy), and read at start unless the scenario it came from changed since.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from sandbox.scenario import World, WorldHolder, load_world

SAVE_EVERY_SECONDS = 2.0


@dataclass(frozen=True)
class Loaded:
    world: World
    note: str  # what happened, for the start-up banner


def scenario_digest(scenario: Path) -> str:
    return hashlib.sha256(scenario.read_bytes()).hexdigest()


def load(path: Path, scenario: Path) -> Loaded:
    """The saved world when it was made from this scenario; otherwise the scenario's, and why."""
    if not path.is_file():
        return Loaded(load_world(scenario), f"fresh from {scenario.name} (state will be kept in {path})")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("scenario_sha256") != scenario_digest(scenario):
            return Loaded(
                load_world(scenario),
                f"fresh: {scenario.name} changed since {path} was saved (consent and membership start over)",
            )
        return Loaded(World.model_validate(saved["world"]), f"restored from {path} (consents, memberships)")
    except (OSError, ValueError, KeyError) as error:
        return Loaded(load_world(scenario), f"fresh: {path} is unreadable ({type(error).__name__})")


def save(holder: WorldHolder, path: Path, digest: str) -> str:
    """Write the world (atomically); returns what was written, so unchanged worlds are not rewritten."""
    with holder.lock:
        text = json.dumps({"scenario_sha256": digest, "world": holder.world.model_dump(mode="json")})
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.chmod(temporary, 0o600)  # the world holds the demo app's secret
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return text


class Keeper:
    """Saves the world every SAVE_EVERY_SECONDS when it changed, and once more at `stop()`."""

    def __init__(self, holder: WorldHolder, path: Path, scenario: Path) -> None:
        self.holder, self.path, self.digest = holder, path, scenario_digest(scenario)
        self._stop = threading.Event()
        self._last = ""
        self._thread = threading.Thread(target=self._run, daemon=True, name="sandbox-state")

    def start(self) -> Keeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAVE_EVERY_SECONDS):
            self.save_if_changed()

    def save_if_changed(self) -> None:
        with self.holder.lock:
            current = self.holder.world.model_dump_json()
        if current != self._last:
            save(self.holder, self.path, self.digest)
            self._last = current

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.save_if_changed()
