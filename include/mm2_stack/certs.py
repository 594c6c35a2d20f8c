"""A throwaway CA and server certificate (SAN 127.0.0.1 / localhost) for each fresh stack, and with mTLS a client
certificate per user (CN = the user: the brokers map it to the principal ``User:<user>``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from mm2_stack.config import USERS, StackConfig, StackError


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


def make_pkcs12_keystore(config: StackConfig, password: str) -> Path:
    """The server certificate, its key and the CA as a PKCS#12 key store (``broker.p12``) protected by ``password``,
    for Connect's HTTPS listener (Jetty reads JKS or PKCS#12, not PEM)."""
    d = config.certs_dir
    pass_file = d / "p12.pass"
    pass_file.write_text(password)
    pass_file.chmod(0o600)
    try:
        _openssl("pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker-key.pem", "-certfile", "ca.pem",
                 "-name", "localhost", "-out", "broker.p12", "-passout", f"file:{pass_file.name}", cwd=d)
    finally:
        pass_file.unlink()
    (d / "broker.p12").chmod(0o600)
    return d / "broker.p12"


def make_client_certs(config: StackConfig, passwords: dict[str, str]) -> None:
    """A client certificate per user (``<user>.pem``, ``<user>-key.pem``, and ``<user>-keystore.pem`` = key + chain
    for Java's PEM key store), signed by the stack's CA. ``smoke``'s key is encrypted (PKCS#8, AES-256) with the
    ``smoke-key`` secret, as a user's key often is: its password goes through ``ssl.key.password``."""
    d = config.certs_dir
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    for user in USERS:
        key = config.client_key(user)
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f"{user}-plain-key.pem",
                 cwd=d)
        _openssl("req", "-new", "-key", f"{user}-plain-key.pem", "-subj", f"/CN={user}", "-out", f"{user}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{user}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                 "-days", "30", "-extfile", "client.ext", "-out", config.client_cert(user).name, cwd=d)
        if user == "smoke":
            pass_file = d / "smoke-key.pass"
            pass_file.write_text(passwords["smoke-key"])
            pass_file.chmod(0o600)
            _openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", f"{user}-plain-key.pem", "-out", key.name,
                     "-passout", f"file:{pass_file.name}", cwd=d)
            pass_file.unlink()
            (d / f"{user}-plain-key.pem").unlink()
        else:
            (d / f"{user}-plain-key.pem").rename(key)
        key.chmod(0o600)
        keystore = config.client_keystore(user)
        keystore.write_text(key.read_text() + config.client_cert(user).read_text() + (d / "ca.pem").read_text())
        keystore.chmod(0o600)


def make_rogue_client_cert(folder: Path, user: str) -> tuple[Path, Path]:
    """A client certificate for ``user`` signed by a CA the brokers do not trust (a wrong certificate, for tests).

    :return: (certificate, unencrypted key).
    """
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=rogue CA",
             "-keyout", "rogue-ca-key.pem", "-out", "rogue-ca.pem", cwd=folder)
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f"{user}-key.pem", cwd=folder)
    _openssl("req", "-new", "-key", f"{user}-key.pem", "-subj", f"/CN={user}", "-out", f"{user}.csr", cwd=folder)
    _openssl("x509", "-req", "-in", f"{user}.csr", "-CA", "rogue-ca.pem", "-CAkey", "rogue-ca-key.pem",
             "-CAcreateserial", "-days", "1", "-out", f"{user}.pem", cwd=folder)
    return folder / f"{user}.pem", folder / f"{user}-key.pem"
