"""Run one prepared submission in a kernel of its own: ``python runner.py JOB.json``.

Started by :mod:`lrcourse.grade.cli` as a script, so that it imports nothing from
``lrcourse`` (the kernel does; importing the library twice per submission would double the
cost). The job lists the cells to run; each runs with errors allowed, a cell past its limit
is interrupted, and once the notebook's limit is spent no further cell starts. The result
(JSON) gives per cell its error (name, first line), whether it ran, and the grading records
that ``lrcourse.check`` wrote while it ran (see :mod:`lrcourse.grade.recorder`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

TIMEOUT = "CellTimeoutError"


def _error(cell: Any) -> list[str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            lines = str(out.get("evalue", "")).strip().splitlines()
            return [out.get("ename", "Error"), lines[0] if lines else ""]
    return None


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Execute the job's cells; never raises for what a notebook does."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [new_code_cell(src) for src in job["sources"]]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    steps: list[dict[str, Any]] = [{"ran": False, "error": None, "records": []} for _ in cells]
    out: dict[str, Any] = {"steps": steps, "stopped": None}
    log = Path(job["log"])
    log.write_text("")
    os.environ.update(job["env"])
    os.environ["LRCOURSE_GRADING"] = str(log)
    cell_timeout, deadline = float(job["cell_timeout"]), time.monotonic() + float(job["timeout"])
    allowed = {"s": 1}
    client = NotebookClient(
        nb,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": TIMEOUT, "evalue": "cell limit", "traceback": []},
        timeout_func=lambda cell: allowed["s"],
        resources={"metadata": {"path": job["cwd"]}},
    )
    seen = 0
    try:
        with client.setup_kernel():
            pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            if pid:
                Path(job["pidfile"]).write_text(str(pid))
            for index, cell in enumerate(cells):
                if time.monotonic() >= deadline:
                    out["stopped"] = {"at": index, "why": "deadline"}
                    break
                limit = float(job["setup_timeout"]) if index == 0 else cell_timeout
                allowed["s"] = max(1, int(min(limit, deadline - time.monotonic()) + 0.999))
                start = time.monotonic()
                client.execute_cell(cell, index)
                step = steps[index]
                step["ran"] = True
                step["error"] = _error(cell)
                if time.monotonic() - start >= allowed["s"]:  # nbclient interrupted it; no output says so
                    step["error"] = [TIMEOUT, f"stopped after {allowed['s']} s"]
                lines = log.read_text().splitlines()
                step["records"] = [json.loads(x) for x in lines[seen:]]
                seen = len(lines)
    except DeadKernelError:
        out["stopped"] = {"at": next((i for i, s in enumerate(steps) if not s["ran"]), len(steps)), "why": "dead"}
    except Exception as err:  # the kernel would not start, ...
        out["stopped"] = {"at": next((i for i, s in enumerate(steps) if not s["ran"]), len(steps)),
                          "why": f"{type(err).__name__}: {str(err)[:200]}"}
    return out


def main(argv: list[str]) -> int:
    """Run ``argv[0]``'s job and write the result file it names."""
    job = json.loads(Path(argv[0]).read_text())
    Path(job["result"]).write_text(json.dumps(run(job)))
    return 0


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)  # run as a script: keep this folder's modules from shadowing others
    sys.exit(main(sys.argv[1:]))
