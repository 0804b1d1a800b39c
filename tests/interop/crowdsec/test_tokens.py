import base64

from shieldwall.interop.crowdsec.tokens import issue, verify

SECRET = b"s" * 32


def test_a_token_names_its_machine_until_it_expires() -> None:
    token = issue(SECRET, "cs-agent", 1000.0, 3600)
    assert verify(SECRET, token, 1000.0) == "cs-agent"
    assert verify(SECRET, token, 4600.0) is None


def test_forged_or_mangled_tokens_are_refused() -> None:
    token = issue(SECRET, "cs-agent", 1000.0, 3600)
    header, body, signature = token.split(".")
    other = base64.urlsafe_b64encode(b'{"sub":"root","exp":9999999999,"iat":0}').rstrip(b"=")
    for forged in (
        issue(b"another secret", "cs-agent", 1000.0, 3600),
        f"{header}.{other.decode()}.{signature}",
        f"{header}.{body}.",
        "eyJhbGciOiJub25lIn0." + body + ".",
        token + "x", "", "a.b", "x" * 5000, "\udcff.\udcff.\udcff",
    ):
        assert verify(SECRET, forged, 1000.0) is None
