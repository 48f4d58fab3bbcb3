"""The Scrapy glue: the crawl's item pipelines, in ITEM_PIPELINES order (pages, extract, group,
write), and the run context they share. Thin: the work is done in pipelines.core and
pipelines.storage."""
