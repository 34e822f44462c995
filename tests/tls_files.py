"""A self-signed certificate for TLS tests, made with the openssl command (the tests skip without it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def self_signed(folder: Path, common_name: str, *alt_names: str) -> tuple[Path, Path]:
    """(certificate, key) for `common_name` and the subjectAltName entries given ("DNS:x", "IP:y")."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={common_name}",
         "-addext", f"subjectAltName={','.join(alt_names)}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
