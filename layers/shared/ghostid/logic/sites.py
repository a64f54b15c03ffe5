"""A site's settings as the read routes need them."""

from __future__ import annotations

from ghostid.dal import sites as sites_dal
from ghostid.models.sites import LeadRules


def lead_rules(site_id: int) -> LeadRules:
    site = sites_dal.get_site(site_id)
    return site.lead_rules if site else LeadRules()
