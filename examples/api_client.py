"""An API client that steps up when the API answers with an RFC 9470 challenge.

    python -m examples.api_client https://api.example.com/transfer <access-token>

The step-up callback here prints the authorization URL for the challenge's ``acr_values``
and ``max_age`` and reads the redirect URL back from the terminal (a CLI has no browser
callback); a web backend would send its user through the same request instead.
"""

from __future__ import annotations

import sys
from urllib.parse import parse_qsl, urlsplit

import httpx

from stepauth.assurance import Challenge
from stepauth.sdk import RelyingParty, StepUpAuth


def step_up_with(rp: RelyingParty) -> object:
    def step_up(challenge: Challenge) -> str:
        # the challenge is in the IdP's vocabulary (vendor profiles): read it back through it
        request = rp.authorization_request(rp.profile.requirement(challenge))
        print(f"Step-up needed ({' '.join(challenge.acr_values)}). Open:\n{rp.begin(request)}")
        redirected = input("Paste the URL you were redirected to: ")
        params = dict(parse_qsl(urlsplit(redirected).query))
        tokens = rp.finish(params, request)
        if tokens.access_token is None:
            raise SystemExit("the OP returned no access token")
        return tokens.access_token

    return step_up


def main(url: str, token: str) -> int:
    from examples._config import rp_from_env

    auth = StepUpAuth(token, step_up_with(rp_from_env()))  # type: ignore[arg-type]
    with httpx.Client(auth=auth) as client:
        response = client.get(url)
    print(response.status_code, response.text)
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
