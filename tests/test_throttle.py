"""AutoThrottle lowers a site's delay on 304 answers as on 200s, never on errors."""

from __future__ import annotations

from scrapy.core.downloader import Slot
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawler.throttle import AutoThrottle


def delay_after(status: int) -> float:
    crawler = get_crawler(
        settings_dict={
            "AUTOTHROTTLE_ENABLED": True,
            "AUTOTHROTTLE_START_DELAY": 1.0,
            "AUTOTHROTTLE_TARGET_CONCURRENCY": 4.0,
        }
    )
    throttle = AutoThrottle(crawler)
    throttle.mindelay, throttle.maxdelay = throttle._min_delay(), throttle._max_delay()
    slot = Slot(concurrency=8, delay=1.0, jitter=0)
    response = Response("http://site.test/a", status=status, request=Request("http://site.test/a"))
    throttle._adjust_delay(slot, 0.004, response)
    return slot.delay


def test_304_lowers_the_delay_like_200() -> None:
    assert delay_after(200) < 1.0
    assert delay_after(304) == delay_after(200)


def test_errors_still_do_not_lower_it() -> None:
    assert delay_after(500) == 1.0
    assert delay_after(404) == 1.0
