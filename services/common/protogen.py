"""Generates the Python stubs and Envoy's descriptor set from proto/, and runs buf lint."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import grpc_tools
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from grpc_tools import protoc
from validate import validate_pb2

PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"
# googleapis-common-protos ships google/api/*.proto next to its Python modules.
GOOGLEAPIS_ROOT = Path(annotations_pb2.__file__).resolve().parents[2]
WKT_ROOT = Path(grpc_tools.__file__).resolve().parent / "_proto"


def rules_descriptor(where: Path) -> Path:
    """Envoy's constraint annotations (protoc-gen-validate's validate/validate.proto) as protoc
    input: xds-protos, which the services need at run time anyway, ships them compiled, not
    as source, so protoc reads them from this descriptor set instead of a copied file."""
    fds = descriptor_pb2.FileDescriptorSet()
    validate_pb2.DESCRIPTOR.CopyToProto(fds.file.add())
    path = where / "validate.pb"
    path.write_bytes(fds.SerializeToString())
    return path


def generate(out: Path, descriptor: Path, protos: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    descriptor.parent.mkdir(parents=True, exist_ok=True)
    relative = [str(Path(p).resolve().relative_to(PROTO_ROOT)) for p in protos]
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{GOOGLEAPIS_ROOT}",
        f"-I{WKT_ROOT}",
        f"--descriptor_set_in={rules_descriptor(descriptor.parent)}",
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


def buf_lint(buf: str, descriptor: Path) -> int:
    """Lints proto/ with buf's STANDARD rules, from the descriptor set `make proto` built (an
    image to buf): its imports (googleapis, Envoy's validate.proto) come compiled with it,
    since proto/buf.yaml's dependencies live on the Buf Schema Registry, out of reach here."""
    config = '{"version": "v2", "lint": {"use": ["STANDARD"]}}'
    return subprocess.run([str(Path(buf).resolve()), "lint", f"{descriptor}#format=binpb", "--config", config,
                           "--path", "parley"]).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--descriptor", type=Path)
    parser.add_argument("--lint", action="store_true")
    parser.add_argument("--buf", default=".tools/node_modules/.bin/buf")
    parser.add_argument("protos", nargs="*", help="default: every .proto under proto/")
    args = parser.parse_args()
    if args.lint:
        sys.exit(buf_lint(args.buf, args.descriptor or PROTO_ROOT.parent / "build" / "parley.pb"))
    protos = args.protos or [str(p) for p in sorted(PROTO_ROOT.rglob("*.proto"))]
    generate(args.out, args.descriptor, protos)


if __name__ == "__main__":
    main()
