"""assess() with levels defined as data: a PSD2 SCA level from TOML, excluded and restricted
methods, three-category rules with an authenticator (docs/concepts.md, custom ladders).
"""

from __future__ import annotations

import tomllib

from stepauth.assurance import AuthEvent, Category, Need, assess, ladder_from_data
from tests.assurance.factories import MINUTE, NOW, PSD2_TOML, passkey, password, recovery, sms, totp

KNOW, POSS, INH = Category.KNOWLEDGE, Category.POSSESSION, Category.INHERENCE
PSD2 = "urn:openbanking:psd2:sca"


def test_custom_psd2_level_from_toml() -> None:
    """Open Banking UK Security Profile (acr urn:openbanking:psd2:sca) / PSD2 Art. 4: two
    independent categories within 5 minutes.
    """
    ladder = ladder_from_data(tomllib.loads(PSD2_TOML))
    fresh = assess([password(MINUTE), totp(0)], [PSD2], now=NOW, ladder=ladder)
    assert fresh.acr == PSD2
    assert fresh.amr == ("pwd", "otp", "mfa")
    stale = assess([password(10 * MINUTE), totp(0)], [PSD2], now=NOW, ladder=ladder)
    assert not stale.met
    assert Need(categories=frozenset({KNOW})) in stale.missing[PSD2]


def test_custom_level_excludes_restricted_and_named_methods() -> None:
    ladder = ladder_from_data(tomllib.loads(PSD2_TOML))
    for second in (sms(0), recovery(0), AuthEvent(("tel",), NOW)):
        result = assess([password(0), second], [PSD2], now=NOW, ladder=ladder)
        assert not result.met
        assert result.missing[PSD2] == (
            Need(categories=frozenset({POSS})),
            Need(categories=frozenset({INH})),
        )
    assert assess([passkey(0)], [PSD2], now=NOW, ladder=ladder).acr == PSD2  # phr above it


def test_custom_rule_with_three_categories_and_an_authenticator() -> None:
    ladder = ladder_from_data(
        {
            "levels": [
                {
                    "acr": "all-three",
                    "max_age": 600,
                    "rule": {"any_of": [{"categories": 3, "multi_factor": True}]},
                },
            ]
        }
    )
    needs = assess([password(0)], ["all-three"], now=NOW, ladder=ladder).missing["all-three"]
    # A multi-factor key adds possession and knowledge-or-inherence: nothing more is named.
    assert needs == (Need(multi_factor=True),)
    fpt_key = AuthEvent(("pop", "fpt"), NOW, attrs={"uv": True})
    assert assess([fpt_key, password(0)], ["all-three"], now=NOW, ladder=ladder).met
    only_key = assess([passkey(0)], ["all-three"], now=NOW, ladder=ladder)
    assert only_key.missing["all-three"] == (Need(categories=frozenset({INH})),)
    nothing = assess([], ["all-three"], now=NOW, ladder=ladder).missing["all-three"]
    assert nothing == (
        Need(categories=frozenset({KNOW}), multi_factor=True),
        Need(categories=frozenset({INH}), multi_factor=True),
    )
