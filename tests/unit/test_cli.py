"""The `ghostid` command's access commands (PRODUCT §13): users and API keys."""

from __future__ import annotations

import io

import pytest
from ghostid.dal import sites as sites_dal
from ghostid.dal import users as users_dal
from ghostid.logic import auth, passwords
from ghostid.models.sites import Site
from ghostid_local import cli, target

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def tables_of_the_test(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command talks to the test's tables (moto), not to a local stack."""
    monkeypatch.setattr(target, "use_local", lambda endpoint=None: "moto")
    sites_dal.put_site(Site(site_id=4, domain="a.example"))
    sites_dal.put_site(Site(site_id=5, domain="b.example"))


def ghostid(*args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(args), out=out, err=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def test_user_create_and_set_password() -> None:
    code, out, _ = ghostid(
        "user", "create", "--email", "Jane@Example.com", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert code == 0 and "jane@example.com created" in out
    user = users_dal.get_user("jane@example.com")
    assert user is not None and passwords.verify_password(user.password_hash, PASSWORD)
    assert PASSWORD not in out
    code, _, err = ghostid(
        "user", "create", "--email", "jane@example.com", "--password-stdin", stdin=PASSWORD
    )
    assert (code, err) == (2, "ghostid: user jane@example.com exists; use: ghostid user set-password\n")
    new = "a different long password"
    assert (
        ghostid("user", "set-password", "--email", "jane@example.com", "--password-stdin", stdin=new)[0] == 0
    )
    user = users_dal.get_user("jane@example.com")
    assert user is not None and passwords.verify_password(user.password_hash, new)
    code, _, err = ghostid(
        "user", "set-password", "--email", "nobody@example.com", "--password-stdin", stdin=new
    )
    assert code == 2 and "no user nobody@example.com" in err


def test_passwords_from_the_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([PASSWORD, PASSWORD + "?"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    code, _, err = ghostid("user", "create", "--email", "jane@example.com")
    assert (code, err) == (2, "ghostid: the passwords differ\n")
    answers = iter([PASSWORD, PASSWORD])
    assert ghostid("user", "create", "--email", "jane@example.com")[0] == 0
    code, _, err = ghostid(
        "user", "create", "--email", "joe@example.com", "--password-stdin", stdin="short\n"
    )
    assert code == 2 and "12 to 1024 characters" in err


def test_api_keys_are_shown_once_listed_and_revoked() -> None:
    code, out, _ = ghostid("apikey", "create", "--site", "4", "--name", "reporting")
    key = out.strip()
    assert code == 0 and key.startswith("gk_") and len(key) == 46
    assert ghostid("apikey", "list", "--site", "5")[1].splitlines() == ["NAME  CREATED  LAST USED  REVOKED"]
    listed = ghostid("apikey", "list", "--site", "4")[1].splitlines()
    assert key not in "".join(listed)  # never shown again
    assert listed[1].split()[0] == "reporting" and listed[1].split()[-2:] == ["-", "-"]
    auth.authenticate(None, f"Bearer {key}")
    assert ghostid("apikey", "list", "--site", "4")[1].splitlines()[1].split()[-1] == "-"
    assert ghostid("apikey", "list", "--site", "4")[1].splitlines()[1].count("Z") == 2  # created, last used
    code, _, err = ghostid("apikey", "create", "--site", "4", "--name", "reporting")
    assert code == 2 and "has a live key named reporting" in err
    assert ghostid("apikey", "revoke", "--site", "5", "--name", "reporting")[0] == 2  # another site's name
    code, out, _ = ghostid("apikey", "revoke", "--site", "4", "--name", "reporting")
    assert (code, out) == (0, "revoked 1 key named reporting of site 4\n")
    assert ghostid("apikey", "list", "--site", "4")[1].splitlines()[1].count("Z") == 3  # revoked at
    assert ghostid("apikey", "create", "--site", "4", "--name", "reporting")[0] == 0  # the name is free again


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("apikey", "create", "--site", "7", "--name", "x"), "site 7 does not exist"),
        (("apikey", "create", "--site", "4", "--name", "two words"), "1 to 64 printable characters"),
        (("apikey", "revoke", "--site", "4", "--name", "nothing"), "no live key named nothing"),
    ],
)
def test_api_key_mistakes(args: tuple[str, ...], message: str) -> None:
    code, _, err = ghostid(*args)
    assert code == 2 and message in err


def test_no_dynamodb_at_the_endpoint_is_a_short_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import EndpointConnectionError

    def unreachable(*_: object) -> int:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:8000/")

    monkeypatch.setattr(cli, "_apikey", unreachable)
    code, out, err = ghostid("apikey", "list", "--site", "4")
    assert (code, out) == (2, "")
    assert err.startswith("ghostid: no DynamoDB at http://127.0.0.1:8000/: start `make serve`")
    assert "Traceback" not in err and err.count("\n") == 1
