"""template.yaml's dashboard: a private bucket behind CloudFront, the API under /api/* on the same
origin (uncached; cookie, query, Authorization and the viewer's country and city forwarded), and the
same deep-link rule as the local gateway."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ghostid_local.cfn_yaml import load_template
from ghostid_local.gateway import web_file

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ARN = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${WebDistribution}"
RESOURCES: dict[str, Any] = load_template(ROOT / "template.yaml")["Resources"]
OUTPUTS: dict[str, Any] = load_template(ROOT / "template.yaml")["Outputs"]


def _props(logical_id: str) -> Any:
    return RESOURCES[logical_id]["Properties"]


def _distribution() -> Any:
    return _props("WebDistribution")["DistributionConfig"]


def _api_behaviour() -> Any:
    (behaviour,) = [b for b in _distribution()["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    return behaviour


def test_the_bucket_is_private_and_readable_by_this_distribution_only() -> None:
    bucket = _props("WebBucket")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert "WebsiteConfiguration" not in bucket
    statements = _props("WebBucketPolicy")["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "ReadByThisDistributionOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${WebBucket.Arn}/*"},
            "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": SOURCE_ARN}}},
        }
    ]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    web_origin = next(o for o in _distribution()["Origins"] if o["Id"] == "web")
    assert web_origin["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    assert _props("WebOriginAccessControl")["OriginAccessControlConfig"]["SigningBehavior"] == "always"


def test_the_api_is_the_same_origin_under_api_and_never_cached() -> None:
    behaviour = _api_behaviour()
    api_origin = next(o for o in _distribution()["Origins"] if o["Id"] == behaviour["TargetOriginId"])
    assert api_origin["DomainName"] == {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
    assert (
        behaviour["ViewerProtocolPolicy"] == "https-only"
    )  # a redirect would turn the collector's POST into a GET
    cache = _props(behaviour["CachePolicyId"]["Ref"])["CachePolicyConfig"]
    assert (cache["DefaultTTL"], cache["MinTTL"]) == (0, 0) and cache["MaxTTL"] <= 1
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    # Authorization reaches the origin only through the cache key; with the cookie and the query in
    # it too, no answer can ever be served to another caller.
    assert key["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}
    assert key["CookiesConfig"] == {"CookieBehavior": "whitelist", "Cookies": ["session"]}
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "all"}


def test_the_origin_request_policy_forwards_what_the_collector_and_the_routes_read() -> None:
    policy = _props(_api_behaviour()["OriginRequestPolicyId"]["Ref"])["OriginRequestPolicyConfig"]
    headers = set(policy["HeadersConfig"]["Headers"])
    assert {"CloudFront-Viewer-Country", "CloudFront-Viewer-City", "User-Agent", "Origin"} <= headers
    assert "Authorization" not in headers  # CloudFront refuses it here (400): it is in the cache key
    assert "Host" not in headers  # API Gateway answers only to its own host name
    assert policy["CookiesConfig"] == {"CookieBehavior": "whitelist", "Cookies": ["session"]}
    assert policy["QueryStringsConfig"] == {"QueryStringBehavior": "all"}


def test_the_page_is_the_default_behaviour_with_the_deep_link_function() -> None:
    default = _distribution()["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == "web"
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["FunctionAssociations"] == [
        {
            "EventType": "viewer-request",
            "FunctionARN": {"Fn::GetAtt": ["WebSpaRewriteFunction", "FunctionARN"]},
        }
    ]
    assert "CustomErrorResponses" not in _distribution()  # they would turn the API's 404s into the page
    assert {"DashboardUrl", "WebBucketName", "WebDistributionId"} <= set(OUTPUTS)


DEEP_LINK_CASES = [
    "/",
    "/login",
    "/leads",
    "/visitor/gv_a1b2c3d4_e5f6a7b8",
    "/session/gs_123",
    "/breakdown/page",
    "/assets/app-ABC123.js",
    "/assets/app-ABC123.css",
    "/index.html",
    "/robots.txt",
]


def test_cloudfront_and_the_local_gateway_agree_on_which_paths_are_the_page(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    code = _props("WebSpaRewriteFunction")["FunctionCode"]
    script = (
        code
        + "\nconsole.log(JSON.stringify(JSON.parse(process.argv[1]).map("
        + ("u => handler({request: {uri: u}}).uri)))")
    )
    cloudfront = json.loads(
        subprocess.run(
            ["node", "-e", script, json.dumps(DEEP_LINK_CASES)], check=True, capture_output=True, text=True
        ).stdout
    )
    (tmp_path / "assets").mkdir()
    for name in ("index.html", "assets/app-ABC123.js", "assets/app-ABC123.css"):
        (tmp_path / name).write_text(name)
    for path, rewritten in zip(DEEP_LINK_CASES, cloudfront, strict=True):
        local = web_file(tmp_path, path)
        expected = (
            (tmp_path / rewritten.lstrip("/")).read_text()
            if (tmp_path / rewritten.lstrip("/")).is_file()
            else None
        )
        assert (local[3].decode() if local else None) == expected, path
    assert cloudfront[:6] == ["/index.html"] * 6
    assert cloudfront[6:8] == DEEP_LINK_CASES[6:8]
    assert web_file(tmp_path, "/api/stats") is None  # the API routes answer it
