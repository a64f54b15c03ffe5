"""Sites and memberships: `pk=SITE#<id>`, `sk=SITE` for the site, `sk=MEMBER#<user>` per member.

Member items carry `user_id`, so the sparse index `ByMember` (user_id -> pk) lists a user's sites.
"""

from __future__ import annotations

import json
from typing import Any

from ghostid.dal.client import batch_get, dynamodb, put_if, query_all
from ghostid.dal.codec import key
from ghostid.models.sites import LeadRules, Site
from ghostid.settings import sites_table

BY_MEMBER = "ByMember"


def _site_pk(site_id: int) -> str:
    return f"SITE#{site_id}"


def put_site(site: Site) -> None:
    dynamodb().put_item(TableName=sites_table(), Item=_site_item(site))


def create_site(site: Site) -> bool:
    """Registers a new site; False (and nothing written) when the id is taken."""
    return put_if(
        {
            "TableName": sites_table(),
            "Item": _site_item(site),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    )


def list_sites() -> list[Site]:
    """Every site (a Scan: for the operator's command line, never for a route)."""
    request = {
        "TableName": sites_table(),
        "FilterExpression": "sk = :site",
        "ExpressionAttributeValues": {":site": {"S": "SITE"}},
    }
    return sorted((_site_of(item) for item in query_all(request)), key=lambda s: s.site_id)


def _site_item(site: Site) -> dict[str, Any]:
    return {
        **key(_site_pk(site.site_id), "SITE"),
        "site_id": {"N": str(site.site_id)},
        "domain": {"S": site.domain},
        "name": {"S": site.name},
        "lead_rules": {"S": site.lead_rules.model_dump_json()},
        "active": {"BOOL": site.active},
        "timezone": {"S": site.timezone},
        **({"extra_domains": {"L": [{"S": d} for d in site.extra_domains]}} if site.extra_domains else {}),
    }


def get_site(site_id: int) -> Site | None:
    item = dynamodb().get_item(TableName=sites_table(), Key=key(_site_pk(site_id), "SITE")).get("Item")
    return _site_of(item) if item is not None else None


def _site_of(item: dict[str, Any]) -> Site:
    return Site(
        site_id=int(item["site_id"]["N"]),
        domain=item["domain"]["S"],
        name=item.get("name", {}).get("S", ""),
        lead_rules=LeadRules(**json.loads(item["lead_rules"]["S"])) if "lead_rules" in item else LeadRules(),
        active=item.get("active", {}).get("BOOL", True),
        extra_domains=tuple(d["S"] for d in item.get("extra_domains", {}).get("L", [])),
        timezone=item.get("timezone", {}).get("S", "UTC"),
    )


def member_site_ids(user_id: str) -> list[int]:
    """The sites the user is a member of (index ByMember; eventually consistent, so a membership added
    a moment ago may be missing for a second; access itself is always checked with `is_member`)."""
    request: dict[str, Any] = {
        "TableName": sites_table(),
        "IndexName": BY_MEMBER,
        "KeyConditionExpression": "user_id = :user",
        "ExpressionAttributeValues": {":user": {"S": user_id}},
    }
    return sorted(int(item["pk"]["S"].removeprefix("SITE#")) for item in query_all(request))


def site_and_membership(site_id: int, user_id: str) -> tuple[Site | None, bool]:
    """The site and whether the user is its member, in one request (both sit in the site's partition)."""
    pk = _site_pk(site_id)
    found = batch_get(sites_table(), [(pk, "SITE"), (pk, f"MEMBER#{user_id}")])
    site = found.get((pk, "SITE"))
    return (_site_of(site) if site is not None else None), (pk, f"MEMBER#{user_id}") in found


def is_member(site_id: int, user_id: str) -> bool:
    response = dynamodb().get_item(
        TableName=sites_table(), Key=key(_site_pk(site_id), f"MEMBER#{user_id}"), ProjectionExpression="pk"
    )
    return "Item" in response


def add_member(site_id: int, user_id: str) -> None:
    dynamodb().put_item(
        TableName=sites_table(),
        Item={**key(_site_pk(site_id), f"MEMBER#{user_id}"), "user_id": {"S": user_id}},
    )


def remove_member(site_id: int, user_id: str) -> None:
    dynamodb().delete_item(TableName=sites_table(), Key=key(_site_pk(site_id), f"MEMBER#{user_id}"))
