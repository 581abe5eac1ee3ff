"""A throwaway certificate authority and a broker certificate for 127.0.0.1 (openssl, keytool)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "test-store-pass"


@dataclass(frozen=True)
class TlsFiles:
    cafile: Path  # PEM, for Python clients
    keystore: Path  # PKCS12: the broker's key and certificate
    truststore: Path  # PKCS12: the CA, for the broker's own connections
    password: str = PASSWORD


def _run(*command: str, cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str = "ca") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    _run(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN=codegen test {name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem"


def make_broker_tls(directory: Path) -> TlsFiles:
    """A CA, and a broker certificate it signed for IP 127.0.0.1 and localhost."""
    cafile = make_ca(directory)
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run(
        "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "broker.key", "-out", "broker.csr", cwd=directory,
    )  # fmt: skip
    _run(
        "openssl", "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "broker.pem",
        cwd=directory,
    )  # fmt: skip
    _run(
        "openssl", "pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key",
        "-certfile", "ca.pem", "-name", "broker", "-out", "broker.p12",
        "-passout", f"pass:{PASSWORD}", cwd=directory,
    )  # fmt: skip
    _run(
        "keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem",
        "-keystore", "trust.p12", "-storetype", "PKCS12", "-storepass", PASSWORD,
        cwd=directory,
    )  # fmt: skip
    return TlsFiles(cafile, directory / "broker.p12", directory / "trust.p12")


def make_client_cert(directory: Path, name: str = "client") -> tuple[Path, Path]:
    """A client certificate and key (PEM) signed by the CA of ``make_broker_tls(directory)``."""
    _run(
        "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory,
    )  # fmt: skip
    _run(
        "openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem", directory / f"{name}.key"
