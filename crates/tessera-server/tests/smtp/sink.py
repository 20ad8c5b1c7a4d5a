"""A real SMTP server for the email tests (tests/email.rs): aiosmtpd
(PyPI, installed by .ci/run), writing every message it accepts to a folder
as `<n>.eml` (the raw message, as received). Prints `ready PORT` once it
listens, then serves until killed.

    python3 sink.py --dir DIR --port N [--starttls CERT KEY | --tls CERT KEY]
                    [--auth USER:PASSWORD]

--starttls offers STARTTLS and requires it before MAIL; --tls is implicit
TLS from the first byte. --auth requires SMTP AUTH (PLAIN/LOGIN) with
that user and password.
"""

import argparse
import itertools
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

counter = itertools.count(1)


class Sink:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        n = next(counter)
        part = os.path.join(self.folder, f".{n}.part")
        with open(part, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(part, os.path.join(self.folder, f"{n}.eml"))
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--starttls", nargs=2)
    p.add_argument("--tls", nargs=2)
    p.add_argument("--auth")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    kwargs = {}
    ssl_context = None
    if a.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*a.starttls)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if a.tls:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(*a.tls)
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
            return AuthResult(success=ok)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    controller = Controller(
        Sink(a.dir), hostname="127.0.0.1", port=a.port, ssl_context=ssl_context, server_kwargs=kwargs
    )
    controller.start()
    print(f"ready {controller.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
