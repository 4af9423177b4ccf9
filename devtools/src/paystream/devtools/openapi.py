"""`make openapi`: each service's OpenAPI document, written to docs/api/<service>.json, and the
typed Python client generated from them (clients/python, openapi-python-client).

Nothing is started: the apps are only built, and FastAPI describes their routes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from paystream.devtools.asyncapi import _apps, _default_settings

REPO = Path(__file__).resolve().parents[4]
OUT = REPO / "docs" / "api"
CLIENT = REPO / "clients" / "python"
# One sub-package per service (`paystream_client.checkout`, ...): each service has its own base
# URL, and their schemas may share a name (`RefundPage`) with different fields.
CLIENT_SRC = CLIENT / "src" / "paystream_client"
CLIENT_CONFIG = CLIENT / "generator.yaml"
BIN = Path(sys.executable).parent


def documents() -> dict[str, dict[str, Any]]:
    """Service name -> its OpenAPI document, as the running service serves it at
    /openapi.json."""
    out: dict[str, dict[str, Any]] = {}
    with _default_settings():
        for name, build in _apps().items():
            out[name] = build().openapi()
    return out


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def module(service: str) -> str:
    return service.replace("-", "_")


_INIT = '''"""Typed clients of the paystream services, generated from docs/api/*.json by
openapi-python-client (`make openapi`; do not edit): one sub-package per service,
each with its `Client` / `AuthenticatedClient` and one module per operation under `api/`."""

__all__ = [{names}]
'''


def generate_client(docs: dict[str, Path], out: Path) -> None:
    """Run openapi-python-client (the workspace's pinned version) on each document, into
    `out/<service>`, then format it with the workspace's ruff."""
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "paystream_client"
        staging.mkdir()
        # One generator process per service, side by side: they share nothing.
        procs = {
            spec: subprocess.Popen(
                [
                    str(BIN / "openapi-python-client"),
                    "generate",
                    "--path",
                    str(spec),
                    "--config",
                    str(CLIENT_CONFIG),
                    "--output-path",
                    str(staging / module(service)),
                    "--meta",
                    "none",
                    "--overwrite",
                    "--fail-on-warning",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for service, spec in docs.items()
        }
        for spec, proc in procs.items():
            log, _ = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"openapi-python-client on {spec}:\n{log}")
        names = ", ".join(f'"{module(s)}"' for s in docs)
        (staging / "__init__.py").write_text(_INIT.format(names=names))
        (staging / "py.typed").write_text("")
        for args in (["check", "--fix-only", "--quiet", "--exit-zero"], ["format", "--quiet"]):
            subprocess.run([str(BIN / "ruff"), *args, str(staging)], check=True, cwd=REPO)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(staging, out)


def write(out_docs: Path = OUT, client_out: Path = CLIENT_SRC) -> list[Path]:
    docs = documents()
    out_docs.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, doc in docs.items():
        path = out_docs / f"{name}.json"
        path.write_text(render(doc))
        written[name] = path
    generate_client(written, client_out)
    return [*written.values(), client_out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--client-out", type=Path, default=CLIENT_SRC)
    args = ap.parse_args()
    for path in write(args.out, args.client_out):
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    main()
