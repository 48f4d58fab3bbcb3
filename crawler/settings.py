"""Scrapy settings for the `news` spider (the default settings module in scrapy.cfg).

Project settings (not Scrapy's own) are upper-case names below the Scrapy block; `make crawl`
and `python -m crawler.run` override them from the command line.
"""

BOT_NAME = "syndication-tracker"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
USER_AGENT = "SyndicationTracker/0.1 (+https://example.invalid/syndication-tracker)"

# Politeness on by default: robots.txt, AutoThrottle, a per-domain concurrency cap.
# BENCH_MODE = True turns it off for benchmarks (see crawler/run.py).
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
# FIELD-NOTES: with the asyncio reactor the default of 100 starts that many tasks per callback;
# about 8 doubled loopback throughput.
CONCURRENT_ITEMS = 8
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control: an HTTP server on a local port that runs code sent to it, and a
# job file under ~/.local/state/scrapy for every crawl (left behind when a run is killed). A
# scheduled crawler wants neither.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATEFORMAT = "%H:%M:%S"
# Every status is recorded in `pages`, so the spider sees 4xx/5xx itself.
HTTPERROR_ALLOW_ALL = True

# Pages over 5 MB are never extracted (pipelines/core/extract.py): a body, compressed or expanded,
# over DOWNLOAD_MAXSIZE is dropped while it arrives, so a decompression bomb costs at most that
# much memory (Scrapy's default, 1 GiB, let a 10 MB gzip bomb take 1.25 GB). The page still
# gets a `pages` row with the error.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 6 * 1024 * 1024
# 429/503 with Retry-After: wait as asked up to this many seconds, else do not retry this run.
RETRY_AFTER_MAX = 60.0

DOWNLOADER_MIDDLEWARES = {
    # RFC 9309: a robots.txt answering 5xx (or not at all) means "disallow all" for the run
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,
    # Retry-After honoured (bounded by RETRY_AFTER_MAX)
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryMiddleware": 550,
    # a redirect loop ends with an error the page is recorded with
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.RedirectMiddleware": 600,
    "crawler.middlewares.ConfiguredProxyMiddleware": 740,  # before HttpProxyMiddleware (750)
    "crawler.middlewares.ConditionalGetMiddleware": 760,
}
ITEM_PIPELINES = {
    "pipelines.stages.pages.StorePagesPipeline": 100,
    "pipelines.stages.extract.ExtractPipeline": 200,
    "pipelines.stages.group.GroupPipeline": 400,
    "pipelines.stages.write.WritePipeline": 500,
}
EXTENSIONS = {
    "crawler.progress.ProgressLine": 500,
    # 304 answers count as successful for the delay (crawler/throttle.py)
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.throttle.AutoThrottle": 0,
}

# --- project settings ---------------------------------------------------------------------
DATA_DIR = "data"  # where the datasets go
SOURCES_FILE = "sources.yaml"  # default sources config
PROXY = None  # HTTP proxy for every request (else the sources file's `proxy`, else http_proxy)
BENCH_MODE = False  # politeness off: no AutoThrottle, no per-domain cap
EXTRACT_WORKERS = 0  # extraction processes; 0 = one per core
PROGRESS_INTERVAL = 5.0  # seconds between progress lines; 0 turns them off
RUN_ID = None  # set by crawler.run; generated when missing
CONDITIONAL_GET = True  # ask for pages seen before with If-None-Match / If-Modified-Since
# A known article linked from a page that answered 304 is asked for again only after this many
# days (0: never; a changed listing page, feed or sitemap always leads to its links again).
REVISIT_AFTER_DAYS = 7.0
DEMO_DAY = None  # crawl this day of the demo web instead of the sources file's demo_web.day
# Set by crawler.run, which locks and prepares the data folder before the crawl starts; a crawl
# started otherwise (`scrapy crawl news`) does both in its write stage.
DATA_FOLDER_PREPARED = False
