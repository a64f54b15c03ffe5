"""User-Agent enrichment (device type, browser, OS) and bot detection, with ua-parser's maintained regexes.

Imported lazily by the collector only: ua-parser (Rust engine, `ua-parser[regex]`) costs about
100 ms to set up, which the read functions never pay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import ua_parser

MAX_USER_AGENT = 1024  # longer strings are cut before parsing (real browsers send ~150 characters)

# Automation, headless browsers and synthetic monitoring: not people, whatever else the string says.
_AUTOMATION = re.compile(
    r"headless|phantomjs|slimerjs|puppeteer|playwright|selenium|webdriver|cypress|lighthouse"
    r"|pagespeed|gtmetrix|pingdom|uptime|statuscake|site24x7|newrelic|datadog|synthetic|prerender"
    r"|rendertron",
    re.IGNORECASE,
)
# Crawlers that ua-parser does not name: anything calling itself a bot, crawler, spider or scraper
# ("CUBOT" is a phone brand, not a bot).
_CRAWLER = re.compile(
    r"(?<!cu)bot\b|crawl|spider|slurp|scrap|archiver|facebookexternalhit|embedly|validator",
    re.IGNORECASE,
)
# Every browser's User-Agent starts like this; HTTP libraries and command-line tools (curl, wget,
# python-requests, Go-http-client, okhttp, ...) do not.
_BROWSER_PREFIX = re.compile(r"^(?:Mozilla|Opera)/\d", re.IGNORECASE)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook", re.IGNORECASE)
_MOBILE = re.compile(r"mobi|iphone|ipod|android|windows phone|blackberry|opera mini|iemobile", re.IGNORECASE)
_OS_NAMES = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS"}


@dataclass(frozen=True)
class UserAgentInfo:
    """What the User-Agent says: a bot (with the reason), or a browser's device, name and OS."""

    bot_reason: str | None
    device_type: str | None
    browser: str | None
    os: str | None

    @property
    def is_bot(self) -> bool:
        return self.bot_reason is not None


def _known(value: str | None) -> str | None:
    return value if value and value != "Other" else None


def _bot_reason(user_agent: str, result: ua_parser.Result) -> str | None:
    if not user_agent.strip():
        return "no user agent"
    if result.device is not None and result.device.family == "Spider":
        return "crawler"
    if _AUTOMATION.search(user_agent):
        return "headless or automated browser"
    if _CRAWLER.search(user_agent):
        return "crawler"
    if not _BROWSER_PREFIX.match(user_agent):
        return "not a browser"
    return None


def _device_type(user_agent: str, result: ua_parser.Result) -> str:
    brand = result.device.brand if result.device is not None else None
    is_android = "android" in user_agent.lower()
    if (
        _TABLET.search(user_agent)
        or brand == "Generic_Android_Tablet"
        or (is_android and "mobile" not in user_agent.lower())
    ):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"


def _os_name(result: ua_parser.Result) -> str | None:
    if result.os is None:
        return None
    name = _known(result.os.family)
    if name == "iOS" and result.device is not None and result.device.family == "iPad":
        return "iPadOS"
    return _OS_NAMES.get(name, name) if name else None


@lru_cache(maxsize=2048)
def classify(user_agent: str) -> UserAgentInfo:
    """Bot or browser; for a browser, `device_type` (desktop / mobile / tablet), browser and OS names."""
    user_agent = user_agent[:MAX_USER_AGENT]
    result = ua_parser.parse(user_agent)
    reason = _bot_reason(user_agent, result)
    if reason is not None:
        return UserAgentInfo(bot_reason=reason, device_type=None, browser=None, os=None)
    browser = _known(result.user_agent.family) if result.user_agent is not None else None
    return UserAgentInfo(
        bot_reason=None,
        device_type=_device_type(user_agent, result),
        browser=browser,
        os=_os_name(result),
    )
