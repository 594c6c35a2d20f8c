"""A throwaway CA and broker certificate (SAN 127.0.0.1 / localhost) for each fresh stack."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from mm2_stack.config import StackConfig, StackError


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise StackError("certs", f"openssl {args[0]} failed", proc.stderr[-2000:])


def make_certs(config: StackConfig) -> Path:
    """Create ``ca.pem`` and ``broker-keystore.pem`` (PKCS#8 key + cert chain, no password).

    :return: the path of the broker's PEM key store.
    """
    if shutil.which("openssl") is None:
        raise StackError("certs", "openssl is not on PATH: install it (Debian: apt-get install openssl)")
    d = config.certs_dir
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=mm2-smoke local CA",
             "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=d)
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "broker-key.pem", cwd=d)
    _openssl("req", "-new", "-key", "broker-key.pem", "-subj", "/CN=localhost", "-out", "broker.csr", cwd=d)
    (d / "san.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
    )
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
             "-days", "30", "-extfile", "san.ext", "-out", "broker.pem", cwd=d)
    keystore = d / "broker-keystore.pem"
    keystore.write_text((d / "broker-key.pem").read_text() + (d / "broker.pem").read_text() + (d / "ca.pem").read_text())
    for name in ("ca-key.pem", "broker-key.pem", "broker-keystore.pem"):
        (d / name).chmod(0o600)
    return keystore
