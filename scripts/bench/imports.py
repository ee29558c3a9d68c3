"""Import cost: ``import cflow_async`` timed with ``-X importtime`` and by CPU time, with and
without httpx's optional CLI dependencies, and which optional modules it pulls in."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from .common import NOT_IMPORTED

# httpx's __init__ imports its CLI (httpx._main: click, rich, pygments) whenever those
# happen to be installed, as they are in this dev venv; a production install usually lacks
# them. Blocking them shows what `import cflow_async` costs there.
_NO_HTTPX_CLI = "import sys; sys.modules.update(dict.fromkeys(('click', 'rich', 'pygments')))"
_IMPORT_CPU = (
    "import time; t = time.process_time(); import cflow_async;"
    " print((time.process_time() - t) * 1000)"
)


def _parse_importtime(stderr: str, module: str = "cflow_async") -> tuple[float, dict[str, float]]:
    """``module``'s cumulative ms, and self ms per top-level package in its subtree."""
    # "import time: self [us] | cumulative | imported package"; a module's imports are
    # listed before it, indented two more spaces.
    own: dict[str, float] = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        depth, name = len(m[3]) // 2, m[4]
        if depth == 0 and name == module:
            own[module] = own.get(module, 0.0) + int(m[1]) / 1000
            return int(m[2]) / 1000, own
        if depth == 0:
            own = {}
        else:
            top = name.split(".")[0]
            own[top] = own.get(top, 0.0) + int(m[1]) / 1000
    raise SystemExit(f"{module} not found in -X importtime output")


def measure_imports(env: dict[str, str], runs: int, cpu: int | None) -> dict[str, Any]:
    def run(code: str, *flags: str, run_env: dict[str, str] = env) -> str:
        proc = subprocess.run(
            [sys.executable, *flags, "-c", code],
            env=run_env,
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
        )
        return proc.stdout + proc.stderr

    cold_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    cold_env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="cflow-bench-nocache-")
    try:
        cold_ms, _ = _parse_importtime(
            run("import cflow_async", "-X", "importtime", run_env=cold_env)
        )
    finally:
        shutil.rmtree(cold_env["PYTHONPYCACHEPREFIX"], ignore_errors=True)
    run("import cflow_async")  # fill the bytecode cache
    dev: list[tuple[float, dict[str, float]]] = []
    prod: list[tuple[float, dict[str, float]]] = []
    cpu_ms: list[float] = []
    refs: dict[str, list[float]] = {"httpx": [], "asyncio": []}
    for _ in range(runs):  # interleaved, so load on the machine hits both alike
        dev.append(_parse_importtime(run("import cflow_async", "-X", "importtime")))
        prod.append(
            _parse_importtime(run(f"{_NO_HTTPX_CLI}; import cflow_async", "-X", "importtime"))
        )
        cpu_ms.append(float(run(_IMPORT_CPU).split()[-1]))
        for ref, values in refs.items():
            out = run(f"{_NO_HTTPX_CLI}; import {ref}", "-X", "importtime")
            values.append(_parse_importtime(out, ref)[0])
    dev.sort(key=lambda s: s[0])
    prod.sort(key=lambda s: s[0])
    check = (
        "import json, sys, cflow_async\n"
        f"names = {list(NOT_IMPORTED)!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if any(m == n or m.startswith(n + '.') for n in names))))"
    )
    leaked = json.loads(run(check).split("\n")[0])
    by_package = prod[0][1]  # the fastest, least disturbed run
    return {
        "runs": runs,
        "dev": [s[0] for s in dev],
        "prod": [s[0] for s in prod],
        "cpu_ms": sorted(cpu_ms),
        "cold_ms": cold_ms,
        "top": sorted(by_package.items(), key=lambda kv: -kv[1])[:10],
        "leaked": leaked,
        "refs": refs,
    }
