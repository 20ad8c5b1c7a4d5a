#!/usr/bin/env python3
"""Cross-check the RFC test-vector JSON files in this directory.

Standard library only (base64, hashlib, json, sys, os). Exits non-zero if any
check fails. Usage:

    python3 tests/vectors/check_rfc_vectors.py

Checks performed:
  * every base64url field is canonical unpadded base64url (decodes and
    re-encodes to the identical string);
  * each compact JWS equals protected_header_b64 + "." + payload_b64 + "." +
    signature, and header/payload decode to the values the RFCs print;
  * RFC 7515 A.2 (RS256): RSA private key is self-consistent (n = p*q,
    e*d = 1 mod lcm(p-1, q-1), dp, dq, qi), the signature verifies with
    (n, e), and RSASSA-PKCS1-v1_5 signing with d reproduces it byte for byte;
  * RFC 7515 A.3 (ES256): (x, y) is on P-256 and equals d*G, and the
    (randomised, so not reproducible) signature verifies as ECDSA P-256/SHA-256;
  * RFC 8037 A.1-A.5 (Ed25519): x is the public key for d, Ed25519 signing
    reproduces the RFC signature exactly, it verifies, and the RFC 7638
    thumbprint of the public key is the A.3 value;
  * RFC 7638 3.1: SHA-256 thumbprint over {"e":...,"kty":"RSA","n":...}.
"""

import base64
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FAILURES = []


def check(name, cond):
    print(("PASS  " if cond else "FAIL  ") + name)
    if not cond:
        FAILURES.append(name)
    return cond


def b64u_decode(s):
    if not isinstance(s, str) or "=" in s or any(c.isspace() for c in s):
        raise ValueError("not unpadded base64url: %r" % (s,))
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    if not set(s) <= allowed:
        raise ValueError("invalid base64url characters in %r" % (s,))
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if b64u_encode(raw) != s:
        raise ValueError("non-canonical base64url: %r" % (s,))
    return raw


def b64u_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def b64u_int(s):
    return int.from_bytes(b64u_decode(s), "big")


def check_b64_fields(label, obj):
    ok = True
    for k, v in obj.items():
        if k in ("kty", "crv", "alg", "kid", "source"):
            continue
        try:
            b64u_decode(v)
        except Exception as e:  # noqa: BLE001
            print("      %s.%s: %s" % (label, k, e))
            ok = False
    return check("%s: all base64url members decode canonically" % label, ok)


def load(name):
    with open(os.path.join(HERE, name), "r", encoding="utf-8") as f:
        return json.load(f)


def thumbprint(members):
    canon = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canon.encode("utf-8")).digest()
    return canon, digest


# ---------------------------------------------------------------- shared JWS bits

# RFC 7515 A.1.1: the JWS Payload octets (also used by A.2 and A.3).
RFC7515_PAYLOAD_OCTETS = bytes([
    123, 34, 105, 115, 115, 34, 58, 34, 106, 111, 101, 34, 44,
    13, 10, 32, 34, 101, 120, 112, 34, 58, 49, 51, 48, 48, 56, 49,
    57, 51, 56, 48, 44, 13, 10, 32, 34, 104, 116, 116, 112, 58, 47,
    47, 101, 120, 97, 109, 112, 108, 101, 46, 99, 111, 109, 47, 105,
    115, 95, 114, 111, 111, 116, 34, 58, 116, 114, 117, 101, 125])
RFC7515_PAYLOAD_TEXT = b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'


def check_compact(label, v, sig_field=True):
    parts = v["jws"].split(".")
    check("%s: compact JWS has 3 parts" % label, len(parts) == 3)
    check("%s: jws part 1 == protected_header_b64" % label, parts[0] == v["protected_header_b64"])
    check("%s: jws part 2 == payload_b64" % label, parts[1] == v["payload_b64"])
    if sig_field:
        check("%s: jws part 3 == signature_b64" % label, parts[2] == v["signature_b64"])
    for i, p in enumerate(parts):
        try:
            b64u_decode(p)
            good = True
        except Exception as e:  # noqa: BLE001
            print("      " + str(e))
            good = False
        check("%s: jws part %d is canonical base64url" % (label, i + 1), good)
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    return signing_input, b64u_decode(parts[2])


# ---------------------------------------------------------------- RSA (RFC 7515 A.2)

SHA256_DIGESTINFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def emsa_pkcs1_v15_sha256(msg, k):
    t = SHA256_DIGESTINFO_PREFIX + hashlib.sha256(msg).digest()
    return b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


def lcm(a, b):
    from math import gcd
    return a // gcd(a, b) * b


def check_rs256():
    label = "RFC 7515 A.2"
    v = load("rfc7515-a.2.json")
    check("%s: source" % label, v.get("source") == "RFC 7515 Appendix A.2")
    jwk = v["jwk"]
    check("%s: jwk members" % label, sorted(jwk) == sorted(["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"]))
    check("%s: kty RSA" % label, jwk["kty"] == "RSA")
    check_b64_fields(label + " jwk", jwk)
    n, e, d = b64u_int(jwk["n"]), b64u_int(jwk["e"]), b64u_int(jwk["d"])
    p, q = b64u_int(jwk["p"]), b64u_int(jwk["q"])
    dp, dq, qi = b64u_int(jwk["dp"]), b64u_int(jwk["dq"]), b64u_int(jwk["qi"])
    check("%s: e == 65537" % label, e == 65537)
    check("%s: n is 2048 bits" % label, n.bit_length() == 2048)
    check("%s: n == p*q" % label, n == p * q)
    check("%s: e*d == 1 mod lcm(p-1,q-1)" % label, (e * d) % lcm(p - 1, q - 1) == 1)
    check("%s: dp == d mod (p-1)" % label, dp == d % (p - 1))
    check("%s: dq == d mod (q-1)" % label, dq == d % (q - 1))
    check("%s: qi == q^-1 mod p" % label, (qi * q) % p == 1)

    check("%s: protected header decodes to {\"alg\":\"RS256\"}" % label,
          b64u_decode(v["protected_header_b64"]) == b'{"alg":"RS256"}')
    check("%s: protected header octets match RFC" % label,
          b64u_decode(v["protected_header_b64"]) == bytes(
              [123, 34, 97, 108, 103, 34, 58, 34, 82, 83, 50, 53, 54, 34, 125]))
    payload = b64u_decode(v["payload_b64"])
    check("%s: payload octets match RFC 7515 A.1.1 list" % label, payload == RFC7515_PAYLOAD_OCTETS)
    check("%s: payload text (with CRLFs) as in RFC" % label, payload == RFC7515_PAYLOAD_TEXT)
    claims = json.loads(payload)
    check("%s: payload claims" % label,
          claims == {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True})

    signing_input, sig = check_compact(label, v)
    k = (n.bit_length() + 7) // 8
    check("%s: signature length == modulus length (256)" % label, len(sig) == k == 256)
    em = emsa_pkcs1_v15_sha256(signing_input, k)
    s = int.from_bytes(sig, "big")
    check("%s: RS256 signature verifies with (n, e)" % label, pow(s, e, n).to_bytes(k, "big") == em)
    # RSASSA-PKCS1-v1_5 is deterministic: signing must reproduce the RFC value.
    m = int.from_bytes(em, "big")
    check("%s: signing with d reproduces signature" % label, pow(m, d, n).to_bytes(k, "big") == sig)
    # CRT signing as well (same result expected).
    s1, s2 = pow(m, dp, p), pow(m, dq, q)
    h = (qi * (s1 - s2)) % p
    check("%s: CRT signing (p,q,dp,dq,qi) reproduces signature" % label,
          (s2 + h * q).to_bytes(k, "big") == sig)


# ---------------------------------------------------------------- P-256 (RFC 7515 A.3)

P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
P256_A = P256_P - 3
P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
P256_G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
          0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)


def ec_add(P, Q):
    if P is None:
        return Q
    if Q is None:
        return P
    (x1, y1), (x2, y2) = P, Q
    if x1 == x2 and (y1 + y2) % P256_P == 0:
        return None
    if P == Q:
        lam = (3 * x1 * x1 + P256_A) * pow(2 * y1, -1, P256_P) % P256_P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P256_P) % P256_P
    x3 = (lam * lam - x1 - x2) % P256_P
    return (x3, (lam * (x1 - x3) - y1) % P256_P)


def ec_mul(k, P):
    R = None
    while k:
        if k & 1:
            R = ec_add(R, P)
        P = ec_add(P, P)
        k >>= 1
    return R


def check_es256():
    label = "RFC 7515 A.3"
    v = load("rfc7515-a.3.json")
    check("%s: source" % label, v.get("source") == "RFC 7515 Appendix A.3")
    jwk = v["jwk"]
    check("%s: jwk members" % label, sorted(jwk) == sorted(["kty", "crv", "x", "y", "d"]))
    check("%s: kty EC / crv P-256" % label, jwk["kty"] == "EC" and jwk["crv"] == "P-256")
    check_b64_fields(label + " jwk", jwk)
    for c in ("x", "y", "d"):
        check("%s: %s is 32 octets" % (label, c), len(b64u_decode(jwk[c])) == 32)
    x, y, d = b64u_int(jwk["x"]), b64u_int(jwk["y"]), b64u_int(jwk["d"])
    check("%s: (x,y) on P-256" % label, (y * y - (x ** 3 + P256_A * x + P256_B)) % P256_P == 0)
    check("%s: d*G == (x,y)" % label, ec_mul(d, P256_G) == (x, y))

    check("%s: protected header decodes to {\"alg\":\"ES256\"}" % label,
          b64u_decode(v["protected_header_b64"]) == b'{"alg":"ES256"}')
    payload = b64u_decode(v["payload_b64"])
    check("%s: payload octets match RFC 7515 A.1.1 list" % label, payload == RFC7515_PAYLOAD_OCTETS)

    signing_input, sig = check_compact(label, v)
    check("%s: signature is 64 octets (R || S)" % label, len(sig) == 64)
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    ok = 0 < r < P256_N and 0 < s < P256_N
    if ok:
        z = int.from_bytes(hashlib.sha256(signing_input).digest(), "big")
        w = pow(s, -1, P256_N)
        R = ec_add(ec_mul(z * w % P256_N, P256_G), ec_mul(r * w % P256_N, (x, y)))
        ok = R is not None and R[0] % P256_N == r
    check("%s: ES256 signature verifies (ECDSA P-256 SHA-256)" % label, ok)


# ---------------------------------------------------------------- Ed25519 (RFC 8037 A)
# Straight transcription of the RFC 8032 Section 6 reference algorithm.

ED_P = 2 ** 255 - 19
ED_L = 2 ** 252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)


def ed_add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % ED_P, (P[1] + P[0]) * (Q[1] + Q[0]) % ED_P
    C, D = 2 * P[3] * Q[3] * ED_D % ED_P, 2 * P[2] * Q[2] % ED_P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)


def ed_mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = ed_add(Q, P)
        P = ed_add(P, P)
        s >>= 1
    return Q


def ed_equal(P, Q):
    if (P[0] * Q[2] - Q[0] * P[2]) % ED_P != 0:
        return False
    return (P[1] * Q[2] - Q[1] * P[2]) % ED_P == 0


def ed_recover_x(y, sign):
    if y >= ED_P:
        return None
    x2 = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (ED_P + 3) // 8, ED_P)
    if (x * x - x2) % ED_P != 0:
        x = x * ED_SQRT_M1 % ED_P
    if (x * x - x2) % ED_P != 0:
        return None
    if (x & 1) != sign:
        x = ED_P - x
    return x


ED_GY = 4 * pow(5, ED_P - 2, ED_P) % ED_P
ED_GX = ed_recover_x(ED_GY, 0)
ED_G = (ED_GX, ED_GY, 1, ED_GX * ED_GY % ED_P)


def ed_compress(P):
    zinv = pow(P[2], ED_P - 2, ED_P)
    x, y = P[0] * zinv % ED_P, P[1] * zinv % ED_P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def ed_decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = ed_recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % ED_P)


def ed_expand(secret):
    h = hashlib.sha512(secret).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def ed_pub(secret):
    a, _ = ed_expand(secret)
    return ed_compress(ed_mul(a, ED_G))


def ed_sha512_modq(s):
    return int.from_bytes(hashlib.sha512(s).digest(), "little") % ED_L


def ed_sign(secret, msg):
    a, prefix = ed_expand(secret)
    A = ed_compress(ed_mul(a, ED_G))
    r = ed_sha512_modq(prefix + msg)
    Rs = ed_compress(ed_mul(r, ED_G))
    h = ed_sha512_modq(Rs + A + msg)
    s = (r + h * a) % ED_L
    return Rs + int.to_bytes(s, 32, "little")


def ed_verify(public, msg, sig):
    if len(public) != 32 or len(sig) != 64:
        return False
    A = ed_decompress(public)
    R = ed_decompress(sig[:32])
    if A is None or R is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= ED_L:
        return False
    h = ed_sha512_modq(sig[:32] + public + msg)
    return ed_equal(ed_mul(s, ED_G), ed_add(R, ed_mul(h, A)))


def check_ed25519():
    label = "RFC 8037 A"
    v = load("rfc8037-a.json")
    check("%s: source" % label, v.get("source", "").startswith("RFC 8037 Appendix A"))
    priv, pub = v["private_jwk"], v["public_jwk"]
    check("%s.1: private jwk members" % label, sorted(priv) == ["crv", "d", "kty", "x"])
    check("%s.2: public jwk members" % label, sorted(pub) == ["crv", "kty", "x"])
    check("%s.1/A.2: kty OKP, crv Ed25519" % label,
          priv["kty"] == pub["kty"] == "OKP" and priv["crv"] == pub["crv"] == "Ed25519")
    check("%s.2: public x == private x" % label, priv["x"] == pub["x"])
    check_b64_fields(label + ".1 private jwk", priv)
    d, x = b64u_decode(priv["d"]), b64u_decode(priv["x"])
    check("%s.1: d and x are 32 octets" % label, len(d) == 32 and len(x) == 32)
    check("%s.1: x == Ed25519 public key of d" % label, ed_pub(d) == x)

    canon, digest = thumbprint({"crv": pub["crv"], "kty": pub["kty"], "x": pub["x"]})
    check("%s.3: canonical thumbprint input" % label,
          canon == '{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}')
    check("%s.3: SHA-256 (hex) == 90facafe...2b4b89" % label,
          digest.hex() == "90facafea9b1556698540f70c0117a22ea37bd5cf3ed3c47093c1707282b4b89")
    check("%s.3: computed thumbprint == file thumbprint" % label, b64u_encode(digest) == v["thumbprint"])

    check("%s.4: protected header decodes to {\"alg\":\"EdDSA\"}" % label,
          b64u_decode(v["protected_header_b64"]) == b'{"alg":"EdDSA"}')
    check("%s.4: payload decodes to 'Example of Ed25519 signing'" % label,
          b64u_decode(v["payload_b64"]) == b"Example of Ed25519 signing")
    signing_input, sig = check_compact(label + ".4", v, sig_field=False)
    check("%s.4: JWS signing input" % label,
          signing_input == b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")
    check("%s.4: signature is 64 octets" % label, len(sig) == 64)
    check("%s.4: Ed25519 signing reproduces the RFC signature exactly" % label, ed_sign(d, signing_input) == sig)
    check("%s.5: signature verifies with public key" % label, ed_verify(x, signing_input, sig))
    bad = bytearray(sig)
    bad[0] ^= 1
    check("%s.5: tampered signature is rejected (self-test)" % label, not ed_verify(x, signing_input, bytes(bad)))


# ---------------------------------------------------------------- RFC 7638 3.1

# RFC 7638 Section 3.1 prints the octets of the UTF-8 canonical JSON input.
RFC7638_CANONICAL_OCTETS = bytes([
    123, 34, 101, 34, 58, 34, 65, 81, 65, 66, 34, 44, 34, 107, 116, 121,
    34, 58, 34, 82, 83, 65, 34, 44, 34, 110, 34, 58, 34, 48, 118, 120,
    55, 97, 103, 111, 101, 98, 71, 99, 81, 83, 117, 117, 80, 105, 76, 74,
    88, 90, 112, 116, 78, 57, 110, 110, 100, 114, 81, 109, 98, 88, 69, 112,
    115, 50, 97, 105, 65, 70, 98, 87, 104, 77, 55, 56, 76, 104, 87, 120,
    52, 99, 98, 98, 102, 65, 65, 116, 86, 84, 56, 54, 122, 119, 117, 49,
    82, 75, 55, 97, 80, 70, 70, 120, 117, 104, 68, 82, 49, 76, 54, 116,
    83, 111, 99, 95, 66, 74, 69, 67, 80, 101, 98, 87, 75, 82, 88, 106,
    66, 90, 67, 105, 70, 86, 52, 110, 51, 111, 107, 110, 106, 104, 77, 115,
    116, 110, 54, 52, 116, 90, 95, 50, 87, 45, 53, 74, 115, 71, 89, 52,
    72, 99, 53, 110, 57, 121, 66, 88, 65, 114, 119, 108, 57, 51, 108, 113,
    116, 55, 95, 82, 78, 53, 119, 54, 67, 102, 48, 104, 52, 81, 121, 81,
    53, 118, 45, 54, 53, 89, 71, 106, 81, 82, 48, 95, 70, 68, 87, 50,
    81, 118, 122, 113, 89, 51, 54, 56, 81, 81, 77, 105, 99, 65, 116, 97,
    83, 113, 122, 115, 56, 75, 74, 90, 103, 110, 89, 98, 57, 99, 55, 100,
    48, 122, 103, 100, 65, 90, 72, 122, 117, 54, 113, 77, 81, 118, 82, 76,
    53, 104, 97, 106, 114, 110, 49, 110, 57, 49, 67, 98, 79, 112, 98, 73,
    83, 68, 48, 56, 113, 78, 76, 121, 114, 100, 107, 116, 45, 98, 70, 84,
    87, 104, 65, 73, 52, 118, 77, 81, 70, 104, 54, 87, 101, 90, 117, 48,
    102, 77, 52, 108, 70, 100, 50, 78, 99, 82, 119, 114, 51, 88, 80, 107,
    115, 73, 78, 72, 97, 81, 45, 71, 95, 120, 66, 110, 105, 73, 113, 98,
    119, 48, 76, 115, 49, 106, 70, 52, 52, 45, 99, 115, 70, 67, 117, 114,
    45, 107, 69, 103, 85, 56, 97, 119, 97, 112, 74, 122, 75, 110, 113, 68,
    75, 103, 119, 34, 125,
])

# RFC 7638 Section 3.1 prints the SHA-256 digest octets of the canonical JSON.
RFC7638_DIGEST_OCTETS = bytes([
    55, 54, 203, 177, 120, 124, 184, 48, 156, 119, 238, 140, 55, 5, 197, 225,
    111, 251, 158, 133, 151, 21, 144, 31, 30, 76, 89, 177, 17, 130, 245, 123])


def check_thumbprint_7638():
    label = "RFC 7638 3.1"
    v = load("rfc7638-3.1.json")
    check("%s: source" % label, v.get("source") == "RFC 7638 Section 3.1")
    jwk = v["jwk"]
    check("%s: jwk members" % label, sorted(jwk) == ["alg", "e", "kid", "kty", "n"])
    check("%s: alg/kid as in RFC" % label, jwk["alg"] == "RS256" and jwk["kid"] == "2011-04-29")
    check_b64_fields(label + " jwk", jwk)
    check("%s: n is 2048 bits" % label, b64u_int(jwk["n"]).bit_length() == 2048)
    canon, digest = thumbprint({"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]})
    check("%s: canonical JSON starts {\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7" % label,
          canon.startswith('{"e":"AQAB","kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2'))
    check("%s: canonical JSON octets == RFC octet list (373 octets)" % label,
          canon.encode("utf-8") == RFC7638_CANONICAL_OCTETS)
    check("%s: SHA-256 digest == RFC octet list" % label, digest == RFC7638_DIGEST_OCTETS)
    check("%s: base64url(digest) == thumbprint_b64url" % label, b64u_encode(digest) == v["thumbprint_b64url"])
    check("%s: thumbprint_b64url == NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" % label,
          v["thumbprint_b64url"] == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")


def main():
    for fn in (check_rs256, check_es256, check_ed25519, check_thumbprint_7638):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            check("%s raised %s: %s" % (fn.__name__, type(e).__name__, e), False)
    print()
    if FAILURES:
        print("%d check(s) FAILED" % len(FAILURES))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
