#!/usr/bin/env python3
"""An independent RFC 9449 client for the interop test (test/e2e/dpop-interop.test.ts).

Written from the RFCs, not from Veilgate's SDK: it builds a DPoP proof (RFC 9449 §4.2) with
an Ed25519 key (RFC 8037), `ath` = base64url(SHA-256(access token)) exactly as §4.2 says for
one token, and the Veilgate request statement (spec/protocol.md §9.1) canonicalised per
RFC 8785 for the values a query holds (strings, integers, short decimals, arrays, objects),
then POSTs the query. Reads one JSON object on stdin:
  {"url", "apiKey", "d", "x", "body", "participants"}
and prints {"status": …, "body": …} on stdout. Needs the `cryptography` package.
"""
import base64, hashlib, json, os, sys, time, urllib.request, urllib.error
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jcs(value) -> str:
    # RFC 8785 §3.2: sorted member names (UTF-16 code units; ASCII here), no whitespace,
    # ECMAScript number serialisation (integers and short decimals as repr gives them).
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(value[k]) for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return json.dumps(value, ensure_ascii=False)


def main() -> None:
    args = json.load(sys.stdin)
    key = Ed25519PrivateKey.from_private_bytes(unb64u(args["d"]))
    body = args["body"]
    tokens = body["tokens"]
    assert len(tokens) == 1, "this client speaks plain RFC 9449: one access token"
    statement = {
        "v": 1, "keyId": body["keyId"], "query": body["query"], "purpose": body["purpose"],
        "rho": body.get("rho", 0), "participants": sorted(set(args["participants"])),
        "tokens": sorted(hashlib.sha256(t.encode()).hexdigest() for t in tokens),
    }
    header = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": args["x"]}}
    claims = {
        "jti": b64u(os.urandom(16)), "htm": "POST", "htu": args["url"], "iat": int(time.time()),
        "ath": b64u(hashlib.sha256(tokens[0].encode("ascii")).digest()),  # RFC 9449 §4.2
        "vg_req": b64u(hashlib.sha256(jcs(statement).encode()).digest()),
    }
    signing_input = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    proof = signing_input + "." + b64u(key.sign(signing_input.encode()))
    request = urllib.request.Request(args["url"], data=json.dumps(body).encode(), method="POST", headers={
        "content-type": "application/json", "authorization": "Bearer " + args["apiKey"], "DPoP": proof,
    })
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            print(json.dumps({"status": response.status, "body": json.loads(response.read())}))
    except urllib.error.HTTPError as error:
        print(json.dumps({"status": error.code, "body": json.loads(error.read() or b"{}")}))


if __name__ == "__main__":
    main()
