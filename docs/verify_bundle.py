#!/usr/bin/env python3
"""A second verifier of Countersign audit bundles, written from docs/audit-bundle.md alone.

It checks what does not need the workflow's rules: the format, the key, every checkpoint's
signature and origin, each entry's place, group and link, the RFC 6962 root at every
checkpoint, entries beyond the last checkpoint, a cut tail, times going backwards, each
signature's record digest, and, under rules that name an identity provider, the provider's
evidence with each signature (its ID token's signature, issuer, audience, subject, nonce,
auth_time and groups). The rest of the rules replay is `countersign audit verify`'s.

    python3 docs/verify_bundle.py BUNDLE.json VERIFIER_KEY

Needs Python 3.9+ and the `cryptography` package (Ed25519, RSA, ECDSA). Exits 0 and prints OK, or exits 1
naming what is wrong.
"""

import base64
import hashlib
import json
import sys
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

FORMAT = "countersign-audit-bundle/1"
TIME_SKEW = timedelta(minutes=2)
PROVIDER_CLOCK_SKEW = 10
ENTRY_FIELDS = {"seq", "group", "key", "at", "actor", "event", "previous"}


class Invalid(Exception):
    pass


def leaf_hash(text):
    return hashlib.sha256(b"\x00" + text.encode("utf-8")).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class Tree:
    """An RFC 6962 tree kept as the roots of its perfect subtrees, largest first."""

    def __init__(self, size=0, frontier=()):
        self.size = size
        self.frontier = list(frontier)
        if len(self.frontier) != bin(size).count("1"):
            raise Invalid("the starting frontier does not fit the starting size")

    def push(self, leaf):
        self.frontier.append(leaf)
        self.size += 1
        # Merge equal-sized subtrees: one merge per trailing one bit of the old size.
        size = self.size
        while size % 2 == 0:
            right = self.frontier.pop()
            left = self.frontier.pop()
            self.frontier.append(node_hash(left, right))
            size //= 2

    def root(self):
        if not self.frontier:
            return hashlib.sha256(b"").digest()
        root = self.frontier[-1]
        for subtree in reversed(self.frontier[:-1]):
            root = node_hash(subtree, root)
        return root


def parse_verifier_key(key):
    name, key_id, encoded = key.split("+", 2)
    raw = base64.b64decode(encoded)
    if len(raw) != 33 or raw[0] != 0x01:
        raise Invalid(f"{key!r} is not an Ed25519 note verifier key")
    expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if expected.hex() != key_id:
        raise Invalid(f"{key!r}: its key id is not the hash of its name and key")
    return name, expected, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note, key_name, key_id, public_key):
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            continue
        name, encoded = line[2:].split(" ")
        signature = base64.b64decode(encoded)
        if name != key_name or signature[:4] != key_id:
            continue
        try:
            public_key.verify(signature[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise Invalid("a checkpoint's signature does not verify")
        origin, size, root = text.splitlines()[:3]
        return origin, int(size), base64.b64decode(root)
    raise Invalid("a checkpoint is not signed by the key")


def time_of(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def canonical(value):
    # RFC 8785 for the values Countersign writes (strings, integers, plain decimals).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def unpadded(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def number(text):
    return int.from_bytes(unpadded(text), "big")


def check_token_signature(token, jwk):
    header_part, payload_part, signature_part = token.split(".")
    signed, signature = f"{header_part}.{payload_part}".encode(), unpadded(signature_part)
    alg = json.loads(unpadded(header_part))["alg"]
    digest = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}.get(alg[2:])
    try:
        if alg[:2] in ("RS", "PS") and digest and jwk["kty"] == "RSA":
            public = rsa.RSAPublicNumbers(number(jwk["e"]), number(jwk["n"])).public_key()
            scheme = padding.PKCS1v15() if alg[:2] == "RS" else padding.PSS(padding.MGF1(digest), digest.digest_size)
            public.verify(signature, signed, scheme, digest)
        elif alg in ("ES256", "ES384") and jwk["kty"] == "EC":
            curve = ec.SECP256R1() if alg == "ES256" else ec.SECP384R1()
            public = ec.EllipticCurvePublicNumbers(number(jwk["x"]), number(jwk["y"]), curve).public_key()
            half = len(signature) // 2
            der = encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
            public.verify(der, signed, ec.ECDSA(digest))
        elif alg == "EdDSA" and jwk["kty"] == "OKP":
            Ed25519PublicKey.from_public_bytes(unpadded(jwk["x"])).verify(signature, signed)
        else:
            raise Invalid(f"a token signed with {alg} by a {jwk['kty']} key")
    except InvalidSignature:
        raise Invalid("the identity provider's token does not verify with the recorded key")
    return json.loads(unpadded(payload_part))


def check_evidence(provider, event):
    decision = event["decision"]
    signature = decision.get("signature") or {}
    evidence = signature.get("identity_evidence")
    if not evidence:
        raise Invalid(f"decision {decision['id']} carries no evidence from the identity provider")
    claims = check_token_signature(evidence["id_token"], evidence["key"])
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if str(claims.get("iss", "")).rstrip("/") != provider["issuer"].rstrip("/") or provider["audience"] not in audiences:
        raise Invalid(f"decision {decision['id']}: the token is not the provider's, for this portal")
    said = claims.get(provider["identity_claim"])
    if not isinstance(said, str) or said.strip().lower() != decision["decided_by"]["subject"].strip().lower():
        raise Invalid(f"decision {decision['id']}: the token is about someone else than the signer")
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int) or auth_time > time_of(decision["decided_at"]).timestamp() + PROVIDER_CLOCK_SKEW:
        raise Invalid(f"decision {decision['id']}: the token's auth_time is missing or after the signature")
    if event.get("reauthentication_asked_at"):
        commitment = hashlib.sha256(
            f"countersign-signature-nonce\n{signature['record_digest']}\n{evidence.get('nonce_salt')}\n".encode()
        ).digest()
        if claims.get("nonce") != base64.urlsafe_b64encode(commitment).decode().rstrip("="):
            raise Invalid(f"decision {decision['id']}: the token's nonce does not commit to the record")
        if auth_time < time_of(event["reauthentication_asked_at"]).timestamp() - PROVIDER_CLOCK_SKEW:
            raise Invalid(f"decision {decision['id']}: signed in before being sent to")
    listed = claims.get(provider["groups_claim"], [])
    listed = listed if isinstance(listed, list) else [listed]
    if not set(signature.get("groups", [])) <= set(listed):
        raise Invalid(f"decision {decision['id']}: groups recorded that the token does not list")


def verify(bundle, key):
    if bundle["format"] != FORMAT:
        raise Invalid(f"the format is {bundle['format']!r}")
    key_name, key_id, public_key = parse_verifier_key(key)
    group = bundle["group"]
    if bundle["origin"] != f"{key_name}/audit/{group}":
        raise Invalid("the origin does not name the key and the group")
    roots = {}
    for note in bundle["checkpoints"]:
        origin, size, root = open_checkpoint(note, key_name, key_id, public_key)
        if origin != bundle["origin"]:
            raise Invalid(f"a checkpoint is of {origin!r}")
        if roots.setdefault(size, root) != root:
            raise Invalid(f"two checkpoints of {size} entries name different roots")
    start = bundle["start"]
    tree = Tree(start["size"], [bytes.fromhex(h) for h in start["frontier"]])
    if start["size"] and roots.get(start["size"]) != tree.root():
        raise Invalid("no checkpoint vouches for the tree before the first entry")
    covered = max(roots, default=0)
    previous, latest, provider = start["previous"], None, None
    for offset, text in enumerate(bundle["entries"]):
        seq = start["size"] + offset
        entry = json.loads(text)
        if set(entry) != ENTRY_FIELDS or entry["seq"] != seq or entry["group"] != group:
            raise Invalid(f"entry {seq}: not an entry of this trail in its place")
        if seq >= covered:
            raise Invalid(f"entry {seq}: appended without the key")
        leaf = leaf_hash(text)
        tree.push(leaf)
        if tree.size in roots and roots[tree.size] != tree.root():
            raise Invalid(f"entry {seq}: changed after it was signed")
        if entry["previous"] != previous:
            raise Invalid(f"entry {seq}: its link to the entry before it is broken")
        previous = leaf.hex()
        at = time_of(entry["at"])
        if latest is not None and at < latest - TIME_SKEW:
            raise Invalid(f"entry {seq}: the trail's times go backwards")
        latest = at if latest is None else max(latest, at)
        event = entry["event"]
        if event["type"] == "policy_in_force":
            provider = event.get("identity_provider")
        if event["type"] == "decided" and provider:
            try:
                check_evidence(provider, event)
            except Invalid as problem:
                raise Invalid(f"entry {seq}: {problem}")
        signature = event.get("decision", {}).get("signature") if event["type"] == "decided" else None
        if signature:
            digest = hashlib.sha256(canonical(event["signed"]).encode("utf-8")).hexdigest()
            if digest != signature["record_digest"]:
                raise Invalid(f"entry {seq}: the record digest is not that of what was signed")
    end = start["size"] + len(bundle["entries"])
    if covered > end:
        raise Invalid(f"a checkpoint names {covered} entries, the bundle holds {end}: its tail was cut off")
    return end


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[4].strip(), file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as file:
        bundle = json.load(file)
    try:
        end = verify(bundle, sys.argv[2])
    except (Invalid, KeyError, ValueError) as problem:
        print(f"FAILED: {problem}")
        return 1
    print(f"{end} entries of {bundle['group']} verified against {len(bundle['checkpoints'])} checkpoints")
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
