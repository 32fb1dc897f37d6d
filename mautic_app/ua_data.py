"""device_detector's data, read without its YAML parser inside the app's processes.

device_detector (the user-agent parser Mautic uses, via Matomo) reads its YAML files lazily with
yaml-rs, a young Rust parser that crashed the whole process (a segmentation fault, no exception)
in CI and in a local run, from a request's worker thread. Here every file is parsed once, in a
child process, into a cache keyed by the library's version; the app's processes then hand
device_detector the parsed data through a stand-in for yaml-rs. Should the child crash, it is
retried; the cache is written whole or not at all. The data holds only dicts (some with integer
keys), lists, sets, strings, integers and None: ``marshal`` keeps them all exactly (JSON would not),
and loading it runs nothing.

Run as ``python -m mautic_app.ua_data OUT`` to build the cache (the parent does this on demand).
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)
_lock = threading.Lock()
_installed = False
ATTEMPTS = 3


def _regex_files() -> list[Path]:
    import device_detector

    root = Path(device_detector.__file__).parent
    return sorted([*(root / "regexes").rglob("*.yml"), *(root / "appdetails").rglob("*.yml")])


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _cache_file() -> Path:
    from importlib.metadata import version

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    python = f"py{sys.version_info.major}{sys.version_info.minor}"  # marshal's format belongs to the Python version
    return base / "mautic" / f"device-detector-{version('device_detector')}-{python}.marshal"


class _ParsedYaml:
    """Stands in for the ``yaml_rs`` module inside device_detector: answers from the cache."""

    def __init__(self, parsed: dict[str, bytes], real) -> None:
        self.parsed = parsed
        self.real = real

    def loads(self, text: str, **kwargs):
        found = self.parsed.get(_digest(text))
        if found is None:  # a file the cache does not know: parse it as the library would
            return self.real.loads(text, **kwargs)
        return marshal.loads(found)  # a fresh copy: the library may change what it gets


def install() -> None:
    """Make device_detector read its data from the JSON cache (built in a child process if missing)."""
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        from device_detector import yaml_loader

        cache = _cache_file()
        if not cache.exists():
            _build(cache)
        parsed = marshal.loads(cache.read_bytes())
        yaml_loader.yaml_rs = _ParsedYaml(parsed, yaml_loader.yaml_rs)
        _installed = True


def _build(cache: Path) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    for attempt in range(1, ATTEMPTS + 1):
        done = subprocess.run([sys.executable, "-m", "mautic_app.ua_data", str(partial)], capture_output=True, text=True)
        if done.returncode == 0:
            partial.replace(cache)
            return
        log.warning("parsing device_detector's data failed (attempt %s, exit %s): %s", attempt, done.returncode, done.stderr[-500:])
    raise RuntimeError("could not parse device_detector's data; see the log")


def _write(out: Path) -> None:
    import yaml_rs

    parsed = {}
    for path in _regex_files():
        text = path.read_text(encoding="utf-8")
        parsed[_digest(text)] = marshal.dumps(yaml_rs.loads(text))
    out.write_bytes(marshal.dumps(parsed))


if __name__ == "__main__":
    _write(Path(sys.argv[1]))
