"""A crawl frontier shared by any number of workers, in Redis: queue, seen set, leases, politeness.

Plain class over a Redis client (no Scrapy here; crawler/scheduler.py is the Scrapy glue). Every
step that reads and writes is one Lua script, so two workers never take the same request:

- `push`: a request whose key (the canonical URL; None for a request that must be repeated,
  such as a retry) is new goes into its domain's queue (a sorted set by priority, then arrival);
  a request counted against its source's `max_pages` is refused once the source has that many,
  whichever worker scheduled them (the count lives in `P:scheduled`);
- `pop`: a worker takes the next request of the domain served longest ago (domains in turn), and
  the request moves to the in-flight hash under that worker's name;
- `ack`: the worker is done with it (its page was handed on); it leaves the in-flight hash;
- a worker proves it is alive with a key that expires (`heartbeat`); `requeue_dead` puts the
  in-flight requests of a worker whose key expired (killed, or cut off) back at the head of
  their queues. So a worker killed with -9 loses nothing: what it had taken comes back after
  `lease` seconds, and another worker fetches it. A worker that was only slow and comes back
  may fetch it a second time (at least once, never lost).
- `reserve`: the time at which a worker may send its next request to a domain. The domain's
  next free time lives in Redis and is read with the server's clock, so all workers together
  keep one rate per domain (`delay` seconds apart) whatever their number and their clocks.

Keys live under one prefix (one crawl): `P:seen`, `P:domains`, `P:q:<domain>`, `P:inflight`,
`P:queued`, `P:seq`, `P:scheduled`, `P:alive:<worker>`, `P:next:<domain>`, and `P:finished`,
which alone is left when the crawl has ended (a new crawl needs a new name, or `--fresh`).
The scripts touch keys they build from the prefix, so the frontier needs one Redis server,
not a Redis Cluster.
Other keys under the prefix (the grouping service's stream, pipelines/storage/pagestream.py)
are not the frontier's: `mark_finished` and `clear` leave them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import redis

# the frontier's own keys under its prefix: names, and name patterns
FRONTIER_KEYS = ("seen", "domains", "inflight", "queued", "seq", "scheduled")
FRONTIER_PATTERNS = ("q:*", "alive:*", "next:*")

_PUSH = """
-- KEYS: seen, domains, queued, seq, finished, scheduled; ARGV: prefix, key ('' = no dedup),
-- domain, priority, blob, source, cap (0 = not counted). Returns 1 queued, 0 seen before (or
-- the crawl has finished: its seen set is gone, nothing is queued), 2 refused: the source has
-- `cap` requests already. A refused key is not marked seen (the count only grows, so it stays
-- refused; but it is not a page any worker fetched).
if redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
if ARGV[2] ~= '' and redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 1 then return 0 end
local cap = tonumber(ARGV[7])
if cap > 0 and tonumber(redis.call('HGET', KEYS[6], ARGV[6]) or '0') >= cap then return 2 end
if ARGV[2] ~= '' then redis.call('SADD', KEYS[1], ARGV[2]) end
if cap > 0 then redis.call('HINCRBY', KEYS[6], ARGV[6], 1) end
local seq = redis.call('INCR', KEYS[4])
-- higher priority first, then first come first served
local score = -tonumber(ARGV[4]) * 1e12 + seq
redis.call('ZADD', ARGV[1] .. ':q:' .. ARGV[3], score, seq .. '\\n' .. ARGV[5])
local t = redis.call('TIME')
redis.call('ZADD', KEYS[2], 'NX', tonumber(t[1]) + tonumber(t[2]) / 1e6, ARGV[3])
redis.call('INCR', KEYS[3])
return 1
"""

_POP = """
-- KEYS: domains, inflight, queued; ARGV: prefix, worker
while true do
  local d = redis.call('ZRANGE', KEYS[1], 0, 0)
  if not d[1] then return false end
  local dom = d[1]
  local q = ARGV[1] .. ':q:' .. dom
  local got = redis.call('ZPOPMIN', q)
  if got[1] then
    local t = redis.call('TIME')
    if redis.call('ZCARD', q) == 0 then
      redis.call('ZREM', KEYS[1], dom)
    else
      redis.call('ZADD', KEYS[1], tonumber(t[1]) + tonumber(t[2]) / 1e6, dom)
    end
    local member, score = got[1], got[2]
    local nl = string.find(member, '\\n', 1, true)
    local seq = string.sub(member, 1, nl - 1)
    redis.call('HSET', KEYS[2], seq, ARGV[2] .. '\\n' .. dom .. '\\n' .. score .. '\\n' .. member)
    redis.call('DECR', KEYS[3])
    return member
  end
  redis.call('ZREM', KEYS[1], dom)
end
"""

_REQUEUE_DEAD = """
-- KEYS: inflight, domains, queued; ARGV: prefix
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  local seq, v = all[i], all[i + 1]
  local a = string.find(v, '\\n', 1, true)
  local worker = string.sub(v, 1, a - 1)
  if redis.call('EXISTS', ARGV[1] .. ':alive:' .. worker) == 0 then
    local b = string.find(v, '\\n', a + 1, true)
    local c = string.find(v, '\\n', b + 1, true)
    local dom = string.sub(v, a + 1, b - 1)
    local score = string.sub(v, b + 1, c - 1)
    redis.call('ZADD', ARGV[1] .. ':q:' .. dom, score, string.sub(v, c + 1))
    redis.call('ZADD', KEYS[2], 0, dom)  -- served first: it waited longest
    redis.call('HDEL', KEYS[1], seq)
    redis.call('INCR', KEYS[3])
    n = n + 1
  end
end
return n
"""

_RESERVE = """
-- KEYS: next; ARGV: delay. Returns the wait in microseconds before the request may go.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
if free < now then free = now end
redis.call('SET', KEYS[1], string.format('%d', free + tonumber(ARGV[1]) * 1000000), 'PX', 600000)
return free - now
"""


class Pushed(enum.Enum):
    """What `push` did with a request; true only when it was queued."""

    QUEUED = 1
    SEEN = 0  # seen before by some worker (or the crawl has finished)
    OVER_LIMIT = 2  # its source has `max_pages` requests already

    def __bool__(self) -> bool:
        return self is Pushed.QUEUED


@dataclass(frozen=True)
class Taken:
    """A request a worker took: its sequence number (what `ack` needs) and its blob."""

    seq: str
    blob: bytes


class RedisFrontier:
    """The shared frontier of one crawl (`prefix`), as seen by one worker (`worker`)."""

    def __init__(
        self, client: redis.Redis, prefix: str, worker: str, *, lease: float = 15.0
    ) -> None:
        if "\n" in worker or not worker:
            raise ValueError(f"bad worker name {worker!r}")
        self.r = client
        self.prefix = prefix
        self.worker = worker
        self.lease = lease
        self._push = client.register_script(_PUSH)
        self._pop = client.register_script(_POP)
        self._requeue = client.register_script(_REQUEUE_DEAD)
        self._reserve = client.register_script(_RESERVE)

    def _k(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def push(
        self,
        blob: bytes,
        domain: str,
        key: str | None,
        priority: int = 0,
        *,
        source: str = "",
        cap: int = 0,
    ) -> Pushed:
        """Queue a request, unless its key was seen before or the crawl has finished (a worker
        that joins late: the seen set is gone), or, when `cap` > 0, its `source` has `cap`
        counted requests already (the source's `max_pages`, over all workers)."""
        if "\n" in domain:
            raise ValueError(f"bad domain {domain!r}")
        names = ("seen", "domains", "queued", "seq", "finished", "scheduled")
        keys = [self._k(n) for n in names]
        args = [self.prefix, key or "", domain, priority, blob, source, max(int(cap), 0)]
        return Pushed(int(self._push(keys=keys, args=args)))

    def scheduled(self, source: str) -> int:
        """How many counted requests of `source` were queued, by all workers."""
        return int(self.r.hget(self._k("scheduled"), source) or 0)

    def pop(self) -> Taken | None:
        """Take the next request (domains in turn), or None when nothing is queued."""
        keys = [self._k("domains"), self._k("inflight"), self._k("queued")]
        member = self._pop(keys=keys, args=[self.prefix, self.worker])
        if member is None:
            return None
        seq, _, blob = bytes(member).partition(b"\n")
        return Taken(seq.decode(), blob)

    def ack(self, *seqs: str) -> None:
        """The requests of these sequence numbers are done (one round trip for all)."""
        if seqs:
            self.r.hdel(self._k("inflight"), *seqs)

    def heartbeat(self) -> None:
        """This worker is alive for `lease` more seconds."""
        self.r.set(self._k(f"alive:{self.worker}"), "1", px=int(self.lease * 1000))

    def leave(self) -> None:
        """This worker stops: whatever it still holds goes back to the queue at once."""
        self.r.delete(self._k(f"alive:{self.worker}"))
        self.requeue_dead()

    def requeue_dead(self) -> int:
        """Put the in-flight requests of workers that stopped proving they are alive back."""
        keys = [self._k("inflight"), self._k("domains"), self._k("queued")]
        return int(self._requeue(keys=keys, args=[self.prefix]))

    def reserve(self, domain: str, delay: float) -> float:
        """Seconds to wait before sending a request to `domain`, `delay` after the last one
        any worker reserved there; the slot is this worker's once the call returns."""
        if delay <= 0:
            return 0.0
        return int(self._reserve(keys=[self._k(f"next:{domain}")], args=[delay])) / 1e6

    def queued(self) -> int:
        return int(self.r.get(self._k("queued")) or 0)

    def in_flight(self) -> int:
        return int(self.r.hlen(self._k("inflight")))

    def done(self) -> bool:
        """Nothing queued and nothing in flight anywhere: the crawl is over."""
        pipe = self.r.pipeline()
        pipe.get(self._k("queued"))
        pipe.hlen(self._k("inflight"))
        queued, flying = pipe.execute()
        return int(queued or 0) == 0 and int(flying) == 0

    def seen_count(self) -> int:
        return int(self.r.scard(self._k("seen")))

    def mark_finished(self) -> None:
        """Record that the crawl ended; the first worker to end says so, and drops the rest of
        the crawl's keys (the seen set of a large crawl is most of its memory in Redis).

        The mark stays: under the same name, a new crawl would otherwise start from an empty
        seen set without knowing that a crawl had run (crawler/worker.py refuses the name)."""
        if self.r.set(self._k("finished"), self.worker, nx=True):
            rest = self._keys()
            if rest:
                self.r.delete(*rest)

    def finished_by(self) -> str | None:
        """The worker that saw this crawl end, or None while it may still run."""
        value = self.r.get(self._k("finished"))
        return value.decode() if value is not None else None

    def live_workers(self) -> list[str]:
        start = len(self._k("alive:"))
        return sorted(k.decode()[start:] for k in self.r.scan_iter(self._k("alive:*")))

    def _keys(self) -> list[bytes | str]:
        """The frontier's keys that exist (not `finished`)."""
        keys: list[bytes | str] = [self._k(n) for n in FRONTIER_KEYS]
        for pattern in FRONTIER_PATTERNS:
            keys.extend(self.r.scan_iter(self._k(pattern)))
        return keys

    def clear(self) -> int:
        """Delete the frontier of this crawl, its `finished` mark too (a fresh start under the
        same name); how many keys were deleted."""
        return int(self.r.delete(*self._keys(), self._k("finished")))
