"""Generates the Python stubs and Envoy's descriptor set from proto/, and runs buf lint."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc_tools
from google.api import annotations_pb2
from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"
# googleapis-common-protos ships google/api/*.proto next to its Python modules.
GOOGLEAPIS_ROOT = Path(annotations_pb2.__file__).resolve().parents[2]
WKT_ROOT = Path(grpc_tools.__file__).resolve().parent / "_proto"
GOOGLE_API_FILES = ("annotations.proto", "http.proto", "httpbody.proto")


def generate(out: Path, descriptor: Path, protos: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    descriptor.parent.mkdir(parents=True, exist_ok=True)
    relative = [str(Path(p).resolve().relative_to(PROTO_ROOT)) for p in protos]
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{GOOGLEAPIS_ROOT}",
        f"-I{WKT_ROOT}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        "--include_imports",
        "--include_source_info",
        f"--descriptor_set_out={descriptor}",
        *relative,
    ]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")


def buf_lint(buf: str) -> int:
    """Lints proto/ with buf's STANDARD rules, googleapis beside it as a read-only module."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # proto/buf.yaml declares googleapis on the Buf Schema Registry, out of reach here:
        # lint a copy with googleapis beside it instead.
        shutil.copytree(PROTO_ROOT, work / "proto", ignore=shutil.ignore_patterns("buf.yaml", "buf.lock"))
        google_api = work / "third_party" / "google" / "api"
        google_api.mkdir(parents=True)
        for name in GOOGLE_API_FILES:
            shutil.copy(GOOGLEAPIS_ROOT / "google" / "api" / name, google_api / name)
        (work / "buf.yaml").write_text(
            "version: v2\n"
            "modules:\n"
            "  - path: proto\n"
            "  - path: third_party\n"
            "lint:\n"
            "  use: [STANDARD]\n"
            "  ignore: [third_party]\n"
        )
        return subprocess.run([str(Path(buf).resolve()), "lint"], cwd=work).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--descriptor", type=Path)
    parser.add_argument("--lint", action="store_true")
    parser.add_argument("--buf", default=".tools/node_modules/.bin/buf")
    parser.add_argument("protos", nargs="*", help="default: every .proto under proto/")
    args = parser.parse_args()
    if args.lint:
        sys.exit(buf_lint(args.buf))
    protos = args.protos or [str(p) for p in sorted(PROTO_ROOT.rglob("*.proto"))]
    generate(args.out, args.descriptor, protos)


if __name__ == "__main__":
    main()
