"""An issuer that is not Tessera: PyJWT mints RFC 9068 access tokens.

Usage: pyjwt_issuer.py ISSUER AUDIENCE
Prints JSON: {"jwks": {...}, "tokens": {"good": ..., "expired": ..., "other_audience": ...,
"no_typ": ..., "hs256_with_public_key": ...}}
"""
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

issuer, audience = sys.argv[1], sys.argv[2]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
public_jwk.update({"kid": "pyjwt-1", "alg": "RS256", "use": "sig"})
now = int(time.time())


def claims(**overrides):
    base = {
        "iss": issuer, "sub": "user-42", "aud": audience, "exp": now + 300, "iat": now,
        "jti": "j-" + str(now), "client_id": "python-app", "scope": "read write", "org": "acme",
    }
    base.update(overrides)
    return base


def sign(payload, typ="at+jwt"):
    headers = {"kid": "pyjwt-1"}
    if typ:
        headers["typ"] = typ
    return jwt.encode(payload, key, algorithm="RS256", headers=headers)


public_pem = key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
tokens = {
    "good": sign(claims()),
    "expired": sign(claims(exp=now - 3600, iat=now - 7200)),
    "other_audience": sign(claims(aud="someone-else")),
    "no_typ": sign(claims(), typ=None),
}
print(json.dumps({"jwks": {"keys": [public_jwk]}, "tokens": tokens}))
