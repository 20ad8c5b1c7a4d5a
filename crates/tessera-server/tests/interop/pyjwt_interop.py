"""PyJWT side of the interop test (tests/interop_pyjwt.rs drives it).

  pyjwt_interop.py verify --jwks FILE --alg ALG --issuer I --audience A TOKEN
      Verifies TOKEN with PyJWT using the key in FILE (a JWKS or one JWK) whose
      kid matches the token's; prints the claims as JSON.
  pyjwt_interop.py sign --key FILE --alg ALG --kid KID --claims JSON
      Signs CLAIMS with PyJWT using a private key file (PKCS#8 PEM or private
      JWK); prints the token.
"""

import argparse
import json
import sys

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key


def load_jwks(path):
    with open(path) as f:
        doc = json.load(f)
    return doc["keys"] if "keys" in doc else [doc]


def verify(args):
    kid = jwt.get_unverified_header(args.token).get("kid")
    candidates = [k for k in load_jwks(args.jwks) if k.get("kid") == kid]
    if len(candidates) != 1:
        sys.exit(f"no unique key with kid {kid!r}")
    key = jwt.PyJWK(candidates[0], algorithm=args.alg)
    claims = jwt.decode(
        args.token,
        key=key.key,
        algorithms=[args.alg],
        issuer=args.issuer,
        audience=args.audience,
        options={"require": ["exp", "iss", "aud"]},
    )
    print(json.dumps(claims, sort_keys=True))


def sign(args):
    with open(args.key, "rb") as f:
        data = f.read()
    if data.lstrip().startswith(b"{"):
        key = jwt.PyJWK(json.loads(data), algorithm=args.alg).key
    else:
        key = load_pem_private_key(data, password=None)
    token = jwt.encode(json.loads(args.claims), key, algorithm=args.alg, headers={"kid": args.kid, "typ": "at+jwt"})
    print(token)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--jwks", required=True)
    v.add_argument("--alg", required=True)
    v.add_argument("--issuer", required=True)
    v.add_argument("--audience", required=True)
    v.add_argument("token")
    s = sub.add_parser("sign")
    s.add_argument("--key", required=True)
    s.add_argument("--alg", required=True)
    s.add_argument("--kid", required=True)
    s.add_argument("--claims", required=True)
    args = parser.parse_args()
    verify(args) if args.command == "verify" else sign(args)


if __name__ == "__main__":
    main()
