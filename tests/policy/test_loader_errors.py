"""Every loader check names its key and line (one row per check)."""

from __future__ import annotations

import pytest

from stepauth.policy import PolicyError, parse_policy

BASE = '[actions.open]\nacr = "phr"\n'
PAY = '[actions.pay]\nkind = "payment"\nacr = "phr"\n'


@pytest.mark.parametrize(
    ("text", "key", "line", "message"),
    [
        ("[policy]\nversion = 2\n" + BASE, "policy.version", 2, "unsupported version"),
        ("[policy]\nversion = true\n" + BASE, "policy.version", 2, "unsupported version"),
        ('[policy]\ncurrency = "euro"\n' + BASE, "policy.currency", 2, "ISO 4217"),
        ("[policy]\ndescription = 3\n" + BASE, "policy.description", 2, "must be a string"),
        ("[policy]\nowner = 'x'\n" + BASE, "policy.owner", 2, "unknown field 'owner'"),
        ("actions = 3\n", "actions", 1, "must be a table"),
        ('[actions."open door"]\nacr = "phr"\n', "actions.open door", 1, "an action name"),
        ('[actions]\nopen = "phr"\n', "actions.open", 2, "must be a table"),
        ("[actions.open]\nacr = 3\n", "actions.open.acr", 2, "must be a level"),
        ('[actions.open]\nacr = "phr"\nmax_age = -1\n', "actions.open.max_age", 3, "non-negative"),
        ('[actions.open]\nacr = "phr"\nmax_age = 1.5\n', "actions.open.max_age", 3, "non-negative"),
        ('[actions.open]\nacr = "phr"\nbind = "yes"\n', "actions.open.bind", 3, "true or false"),
        ('[actions.open]\nacr = "phr"\nkind = "wire"\n', "actions.open.kind", 3, "unknown kind"),
        (
            '[actions.open]\nacr = "phr"\nexemptions = ["tra"]\n',
            "actions.open.exemptions",
            3,
            "not exemptable",
        ),
        (PAY + 'exemptions = "tra"\n', "actions.pay.exemptions", 4, "must be a list"),
        (
            PAY + 'exemptions = ["account_information"]\n[exemptions.account_information]\n',
            "actions.pay.exemptions",
            4,
            "applies to account_access actions, not payment",
        ),
        (
            PAY + 'exemptions = ["tra", "tra"]\n[exemptions.tra]\n',
            "actions.pay.exemptions",
            4,
            "twice",
        ),
        (
            '[actions.x]\nkind = "recurring_series"\nacr = "phr"\nexemptable = true\n',
            "actions.x.exemptable",
            4,
            "RTS Art. 14",
        ),
        (
            BASE + 'upgrade = {when = "has_hardware_key", acr = "phrh"}\n',
            "actions.open.upgrade",
            3,
            "array of tables",
        ),
        (
            BASE + '[[actions.open.upgrade]]\nwhen = "is_admin"\nacr = "phrh"\n',
            "actions.open.upgrade[0].when",
            4,
            "must be one of",
        ),
        (
            BASE + '[[actions.open.upgrade]]\nwhen = "new_device"\nacr = "phrh"\nwhy = 1\n',
            "actions.open.upgrade[0].why",
            6,
            "unknown field",
        ),
        (BASE + 'rules = {name = "x"}\n', "actions.open.rules", 3, "unknown field"),
        (BASE + "[rules]\nname = 'x'\n", "rules", 3, "array of tables"),
        (BASE + '[[rules]]\nsignal = "new_device"\n', "rules[0].name", 3, "needs a name"),
        (
            BASE + '[[rules]]\nname = "a"\nsignal = "new_device"\n[[rules]]\nname = "a"\n'
            'signal = "new_payee"\n',
            "rules[1].name",
            7,
            "duplicate rule name",
        ),
        (
            BASE + '[[rules]]\nname = "a"\nsignal = "new_device"\nthreshold = 1\n',
            "rules[0].threshold",
            6,
            "takes no threshold",
        ),
        (
            BASE + '[[rules]]\nname = "a"\nsignal = "velocity_above"\n',
            "rules[0].threshold",
            3,
            "needs a threshold",
        ),
        (
            BASE + '[[rules]]\nname = "a"\nsignal = "velocity_above"\nthreshold = 2.5\n',
            "rules[0].threshold",
            6,
            "whole number",
        ),
        (
            BASE + '[[rules]]\nname = "a"\nsignal = "risk_score_above"\nthreshold = 2\n',
            "rules[0].threshold",
            6,
            "between 0 and 1",
        ),
        (
            BASE + '[[rules]]\nname = "a"\nsignal = "amount_above"\nthreshold = "lots"\n',
            "rules[0].threshold",
            6,
            "non-negative decimal",
        ),
        (
            BASE + '[[rules]]\nname = "a"\nsignal = "amount_above"\nthreshold = "-1"\n',
            "rules[0].threshold",
            6,
            "non-negative",
        ),
        (
            BASE + '[[rules]]\nname = "a"\nsignal = "new_device"\nactions = "open"\n',
            "rules[0].actions",
            6,
            "list of action names",
        ),
        (
            BASE + '[[rules]]\nname = "a"\nsignal = "new_device"\nacr = "max"\n',
            "rules[0].acr",
            6,
            "unknown level 'max'",
        ),
        (
            BASE + "[exemptions]\ncontactless = {}\n",
            "exemptions.contactless",
            4,
            "unknown exemption",
        ),
        (BASE + "[exemptions]\ntra = 1\n", "exemptions.tra", 4, "must be a table"),
        (
            BASE + '[exemptions.low_value]\ncounter = "both"\n',
            "exemptions.low_value.counter",
            4,
            '"amount"',
        ),
        (
            BASE + "[exemptions.low_value]\nmax_count = 4.0\n",
            "exemptions.low_value.max_count",
            4,
            "whole number",
        ),
        (
            BASE + '[exemptions.low_value]\nmax_cumulative_amount = "100.01"\n',
            "exemptions.low_value.max_cumulative_amount",
            4,
            "RTS limit 100",
        ),
        (
            BASE + '[exemptions.tra]\npayment_type = "sepa"\n',
            "exemptions.tra.payment_type",
            4,
            "must be one of",
        ),
        (
            BASE + '[exemptions.tra]\nfraud_rate = "101"\n',
            "exemptions.tra.fraud_rate",
            4,
            "percentage",
        ),
        (
            BASE + "[exemptions.account_information]\nmax_days = 365\n",
            "exemptions.account_information.max_days",
            4,
            "at most 180",
        ),
    ],
)
def test_loader_error(text: str, key: str, line: int, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert info.value.key == key
    assert info.value.line == line
    assert message in info.value.description
