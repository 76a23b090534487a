"""RFC 9470 §3 challenges in WWW-Authenticate (RFC 9110 §11.6.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepauth.assurance import (
    AssuranceError,
    Challenge,
    InvalidChallenge,
    build_challenge,
    parse_challenges,
)

SU_05_ACR = (
    'Bearer error="insufficient_user_authentication", '
    'error_description="A different authentication level is required", '
    'acr_values="myACR"'
)
SU_05_MAX_AGE = (
    'Bearer error="insufficient_user_authentication", '
    'error_description="More recent authentication is required", '
    'max_age="5"'
)


def test_rfc9470_example_acr_values_byte_for_byte() -> None:
    """first example of RFC 9470 §3 (single-line form)."""
    header = build_challenge(
        error_description="A different authentication level is required", acr_values=["myACR"]
    )
    assert header == SU_05_ACR


def test_rfc9470_example_max_age_byte_for_byte() -> None:
    """second example of RFC 9470 §3: max_age as a quoted-string."""
    header = build_challenge(error_description="More recent authentication is required", max_age=5)
    assert header == SU_05_MAX_AGE


def test_rfc9470_examples_parse() -> None:
    (first,) = parse_challenges(SU_05_ACR)
    assert first.is_step_up
    assert first.acr_values == ("myACR",)
    assert first.max_age is None
    assert first.error_description == "A different authentication level is required"
    (second,) = parse_challenges(SU_05_MAX_AGE)
    assert second.max_age == 5
    assert second.acr_values == ()


def test_rfc9470_folded_example_parses() -> None:
    """The RFC prints the header folded over lines; the SP/HTAB between params is OWS."""
    folded = SU_05_ACR.replace(", ", ",\t  ")
    assert parse_challenges(folded) == parse_challenges(SU_05_ACR)


@pytest.mark.parametrize("value", ["5", '"5"', "0", '"0"', "0005"])
def test_max_age_as_token_or_quoted_string(value: str) -> None:
    """RFC 9470 §3: ``max_age=5`` and ``max_age="5"`` both mean five seconds."""
    (challenge,) = parse_challenges(
        f"Bearer error=insufficient_user_authentication, max_age={value}"
    )
    assert challenge.max_age == int(value.strip('"'))


@pytest.mark.parametrize(
    "value",
    ["-1", '"-1"', "5.0", '"5.0"', "abc", '"abc"', '""', '" 5"', "+5", "1e3", '"٥"', "9" * 13],
)
def test_max_age_must_be_a_non_negative_integer(value: str) -> None:
    """RFC 9470 §3: negative, fractional, non-numeric or empty values are rejected."""
    with pytest.raises(InvalidChallenge) as caught:
        parse_challenges(f"Bearer error=insufficient_user_authentication, max_age={value}")
    assert caught.value.error == "invalid_challenge"
    assert isinstance(caught.value, AssuranceError)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ,  ,",
        'Bearer error="unterminated',
        'Bearer error="ends with backslash\\',
        'Bearer a="b" , =',
        'Bearer realm="a" junk',
        'Bearer realm="a", realm="b"',
        'Bearer REALM="a", realm="b"',
        "=x",
        'Bearer\trealm="a"',
        'Bearer realm="a\x00"',
        'Bearer realm="line\r\nSet-Cookie: x"',
        "Basic abc== trailing",
        "Bearer @@@",
        'realm="x"',
    ],
)
def test_malformed_headers_raise_one_typed_error(header: str) -> None:
    with pytest.raises(InvalidChallenge):
        parse_challenges(header)


def test_non_string_header() -> None:
    with pytest.raises(InvalidChallenge):
        parse_challenges(b"Bearer")  # type: ignore[arg-type]


def test_several_challenges_in_one_header() -> None:
    """RFC 9110 §11.6.1: a list of challenges, token68 and auth-param forms mixed."""
    header = (
        'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple", '
        "Negotiate abc+/==, Bearer error=insufficient_user_authentication, "
        'acr_values="phr  phrh", max_age=300, DPoP algs="ES256", Empty'
    )
    newauth, basic, negotiate, bearer, dpop, empty = parse_challenges(header)
    assert newauth.scheme == "Newauth"
    assert newauth.realm == "apps"
    assert dict(newauth.params) == {"type": "1", "title": 'Login to "apps"'}
    assert basic == Challenge(scheme="Basic", realm="simple")
    assert negotiate.token68 == "abc+/=="
    assert bearer.is_step_up
    assert bearer.acr_values == ("phr", "phrh")
    assert bearer.max_age == 300
    assert dpop.params == {"algs": "ES256"}
    assert empty == Challenge(scheme="Empty")


def test_param_names_are_case_insensitive_and_bws_is_allowed() -> None:
    (challenge,) = parse_challenges('Bearer Error = "insufficient_user_authentication" ,Max_Age= 7')
    assert challenge.is_step_up
    assert challenge.max_age == 7


def test_token68_with_padding_at_the_end() -> None:
    """RFC 9110 §11.2: ``name=`` with nothing after it is a token68, not an auth-param."""
    assert parse_challenges("Basic dXNlcjpwYXNz=")[0].token68 == "dXNlcjpwYXNz="
    assert parse_challenges("Bearer error=")[0].token68 == "error="
    assert parse_challenges("Basic abc= x")[0].params == {"abc": "x"}  # BWS after "="
    assert parse_challenges("Basic a=, Bearer")[1].scheme == "Bearer"


def test_escaping_round_trip() -> None:
    """RFC 9110 §5.6.4: DQUOTE and backslash travel as quoted-pairs."""
    realm = 'say "hi" \\ bye'
    header = build_challenge(acr_values=['a"b'], realm=realm, params={"title": "\\"})
    assert header == (
        'Bearer realm="say \\"hi\\" \\\\ bye", error="insufficient_user_authentication", '
        'acr_values="a\\"b", title="\\\\"'
    )
    (parsed,) = parse_challenges(header)
    assert parsed.realm == realm
    assert parsed.acr_values == ('a"b',)
    assert parsed.params == {"title": "\\"}


def test_challenge_freezes_lists_and_dicts() -> None:
    params = {"a": "1"}
    challenge = Challenge(acr_values=["phr"], params=params)  # type: ignore[arg-type]
    params["a"] = "2"
    assert challenge.acr_values == ("phr",)
    assert challenge.params == {"a": "1"}
    with pytest.raises(TypeError):
        challenge.params["a"] = "3"  # type: ignore[index]


def test_build_with_scope_params_and_no_error() -> None:
    header = build_challenge(error=None, scope="openid payments", params={"resource": "https://rs"})
    assert header == 'Bearer scope="openid payments", resource="https://rs"'
    assert build_challenge(error=None) == "Bearer"
    assert str(Challenge(scheme="DPoP", error="invalid_token")) == 'DPoP error="invalid_token"'
    assert str(Challenge(scheme="Basic", token68="abc==")) == "Basic abc=="


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scheme": "Bear er"},
        {"scheme": ""},
        {"acr_values": ["a b"]},
        {"acr_values": [""]},
        {"max_age": -1},
        {"max_age": True},
        {"error_description": "line\r\nInjected: yes"},
        {"error_description": "caf\u00e9"},
        {"error_description": 'RFC 6750 forbids "quotes"'},
        {"error": "back\\slash"},
        {"scope": "openid  payments"},
        {"scope": " openid"},
        {"scope": 'a"b'},
        {"realm": "tab\tand\x7f"},
        {"params": {"max_age": "1"}},
        {"params": {"bad name": "1"}},
    ],
)
def test_build_refuses_what_it_cannot_write_safely(kwargs: dict[str, object]) -> None:
    """Header injection (CR/LF) and ambiguous values raise instead of being written."""
    with pytest.raises(InvalidChallenge):
        build_challenge(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "challenge",
    [
        Challenge(scheme="Basic", token68="a b"),
        Challenge(scheme="Basic", token68="==="),
        Challenge(scheme="Basic", token68="abc", params={"realm": "x"}),
    ],
)
def test_malformed_token68_is_refused(challenge: Challenge) -> None:
    with pytest.raises(InvalidChallenge):
        str(challenge)


_printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
_nqschar = _printable.filter(lambda v: '"' not in v and "\\" not in v)
_nqchar = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'),
    min_size=1,
    max_size=10,
)
_acr = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12
)
_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-", min_size=1, max_size=8).filter(
    lambda n: n not in {"realm", "error", "error_description", "scope", "acr_values", "max_age"}
)


@given(
    scheme=st.sampled_from(["Bearer", "DPoP", "bearer", "X-Custom"]),
    error=st.one_of(st.none(), _nqschar),
    error_description=st.one_of(st.none(), _nqschar),
    acr_values=st.lists(_acr, max_size=3).map(tuple),
    max_age=st.one_of(st.none(), st.integers(0, 10**11)),
    scope=st.one_of(st.none(), st.lists(_nqchar, min_size=1, max_size=3).map(" ".join)),
    realm=st.one_of(st.none(), _printable),
    params=st.dictionaries(_names, _printable, max_size=3),
)
def test_build_parse_round_trip(
    scheme: str,
    error: str | None,
    error_description: str | None,
    acr_values: tuple[str, ...],
    max_age: int | None,
    scope: str | None,
    realm: str | None,
    params: dict[str, str],
) -> None:
    """RFC 9470 §3: whatever build_challenge writes, parse_challenges reads back."""
    challenge = Challenge(
        scheme=scheme,
        error=error,
        error_description=error_description,
        acr_values=acr_values,
        max_age=max_age,
        scope=scope,
        realm=realm,
        params=params,
    )
    header = str(challenge)
    assert parse_challenges(header) == (challenge,)
    # Several challenges in one header round-trip too.
    assert parse_challenges(f'{header}, Basic realm="x"')[0] == challenge


def test_header_injection_through_challenge_values_is_refused() -> None:
    """CR/LF in any value would split the response header: build refuses, never escapes."""
    for field in ("realm", "error_description", "scope"):
        with pytest.raises(InvalidChallenge):
            build_challenge(**{field: "x\r\nSet-Cookie: session=attacker"})  # type: ignore[arg-type]
    with pytest.raises(InvalidChallenge):
        build_challenge(acr_values=["phr\r\nX: y"])
    with pytest.raises(InvalidChallenge):
        build_challenge(params={"title": "a\nb"})
