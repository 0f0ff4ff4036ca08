"""Figures, ratios and targets from one run, and the Markdown report (BENCHMARKS.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ._common import MB, PEER_TITLES, MiB, format_size, median

PUT_RAW = ("pub_pipelined", "pub_sequential")
READ_RAW = ("read_direct", "read_direct_hdrs", "read_ordered")
LARGE_OPS = ("put", "put_file", "get", "get_bytes", "get_file")
SMALL_OPS = ("put_seq", "get_seq", "put_conc", "get_conc")

RAW_TITLES = {
    "pub_pipelined": "pipelined publish (16 MiB window)",
    "pub_sequential": "sequential `js.publish`",
    "read_direct": "batched Direct Get, `no_hdr`",
    "read_direct_hdrs": "batched Direct Get, headers",
    "read_ordered": "ordered push consumer",
}
OP_TITLES = {
    "put": "put (bytes)",
    "put_file": "put_file",
    "get": "get (stream)",
    "get_bytes": "get_bytes",
    "get_file": "get_file",
    "range_tail": "range read (last 1 MiB, then whole 1 MiB objects)",
}
NOTES_START = "<!-- notes:start -->"
NOTES_END = "<!-- notes:end -->"

SMALL_TITLES = {
    "put_seq": "put, one at a time",
    "get_seq": "get, one at a time",
    "put_conc": "put, {c} at a time",
    "get_conc": "get, {c} at a time",
}


@dataclass
class Figure:
    """One measured op: wall times of every repetition and what each moved."""

    peer: str
    op: str
    chunk_size: int
    size: int
    seconds: list[float]
    bytes: int = 0
    count: int = 0
    unit: str = "MB/s"
    rss_growth_mib: float | None = None
    profile: str = ""
    client_cpu_s: float = 0.0  # CPU time of the worker process, all repetitions
    server_cpu_s: float = 0.0  # CPU time of nats-server during them

    def cpu_per_gb(self, seconds: float) -> float | None:
        """CPU seconds per GB (10^9 bytes) moved, from a total over every repetition."""
        moved = self.bytes * len(self.seconds)
        return seconds / moved * 1e9 if moved and seconds > 0 else None

    @property
    def value(self) -> float:
        """MB/s (or ops/s) of the median repetition."""
        t = median(self.seconds)
        if t <= 0:
            return 0.0
        return self.count / t if self.unit == "ops/s" else self.bytes / t / MB

    @property
    def best(self) -> float:
        t = min(self.seconds) if self.seconds else 0.0
        if t <= 0:
            return 0.0
        return self.count / t if self.unit == "ops/s" else self.bytes / t / MB


@dataclass
class Ratio:
    """natsobj against the ceiling and the peers, for one op, chunk size and object size."""

    chunk_size: int
    size: int
    op: str
    natsobj: float
    ceiling: float | None = None
    ceiling_op: str = ""
    builtin: float | None = None
    js: float | None = None
    go: float | None = None

    @staticmethod
    def of(a: float, b: float | None) -> float | None:
        return a / b if b else None

    @property
    def vs_ceiling(self) -> float | None:
        return self.of(self.natsobj, self.ceiling)

    @property
    def vs_builtin(self) -> float | None:
        return self.of(self.natsobj, self.builtin)

    @property
    def vs_js(self) -> float | None:
        return self.of(self.natsobj, self.js)

    @property
    def vs_go(self) -> float | None:
        return self.of(self.natsobj, self.go)

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "vs_ceiling": self.vs_ceiling,
            "vs_builtin": self.vs_builtin,
            "vs_js": self.vs_js,
            "vs_go": self.vs_go,
        }


@dataclass
class Target:
    what: str
    measured: str
    goal: str
    ok: bool | None  # None: not measured in this run
    note: str = ""


@dataclass
class Results:
    config: dict[str, Any]
    machine: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def find(self, peer: str, op: str, chunk: int | None, size: int | None) -> Figure | None:
        for fig in self.figures:
            if (
                fig.peer == peer
                and fig.op == op
                and (chunk is None or fig.chunk_size == chunk)
                and (size is None or fig.size == size)
            ):
                return fig
        return None

    def value(self, peer: str, op: str, chunk: int | None, size: int | None) -> float | None:
        fig = self.find(peer, op, chunk, size)
        return fig.value if fig is not None else None

    def ceiling(self, ops: tuple[str, ...], chunk: int, size: int) -> tuple[float | None, str]:
        best: tuple[float | None, str] = (None, "")
        for op in ops:
            v = self.value("raw", op, chunk, size)
            if v is not None and (best[0] is None or v > best[0]):
                best = (v, op)
        return best

    @property
    def sizes(self) -> list[int]:
        return list(self.config.get("sizes", []))

    @property
    def chunk_sizes(self) -> list[int]:
        return list(self.config.get("chunk_sizes", []))

    def ratios(self) -> list[Ratio]:
        out: list[Ratio] = []
        for chunk in self.chunk_sizes:
            for size in self.sizes:
                for op in LARGE_OPS:
                    mine = self.value("natsobj", op, chunk, size)
                    if mine is None:
                        continue
                    ceiling, ceiling_op = self.ceiling(
                        PUT_RAW if op.startswith("put") else READ_RAW, chunk, size
                    )
                    out.append(
                        Ratio(
                            chunk_size=chunk,
                            size=size,
                            op=op,
                            natsobj=mine,
                            ceiling=ceiling,
                            ceiling_op=ceiling_op,
                            builtin=self.value("builtin", op, chunk, size),
                            js=self.value("js", op, chunk, size),
                            go=self.value("go", op, chunk, size),
                        )
                    )
        return out

    def small_ratios(self) -> list[Ratio]:
        out: list[Ratio] = []
        for op in SMALL_OPS:
            mine = self.value("natsobj", op, None, None)
            if mine is None:
                continue
            out.append(
                Ratio(
                    chunk_size=0,
                    size=int(self.config.get("small_size", 1024)),
                    op=op,
                    natsobj=mine,
                    builtin=self.value("builtin", op, None, None),
                    js=self.value("js", op, None, None),
                    go=self.value("go", op, None, None),
                )
            )
        return out

    def range_read(self) -> list[tuple[int, int, float, float]]:
        """(chunk, size, tail seconds, whole-1-MiB seconds) per chunk size, medians."""
        out = []
        for chunk in self.chunk_sizes:
            tail = next(
                (
                    f
                    for f in self.figures
                    if f.peer == "natsobj" and f.op == "range_tail" and f.chunk_size == chunk
                ),
                None,
            )
            whole = self.find("natsobj", "range_whole_1mib", chunk, None)
            if tail is not None and whole is not None:
                out.append((chunk, tail.size, median(tail.seconds), median(whole.seconds)))
        return out

    def targets(self) -> list[Target]:
        return _targets(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "config": self.config,
            "elapsed_s": self.elapsed_s,
            "figures": [{**asdict(f), "value": f.value, "best": f.best} for f in self.figures],
            "ratios": [r.to_json() for r in self.ratios()],
            "small_ratios": [r.to_json() for r in self.small_ratios()],
            "range_read": [
                {"chunk_size": c, "size": s, "tail_s": t, "whole_1mib_s": w, "ratio": t / w}
                for c, s, t, w in self.range_read()
            ],
            "targets": [asdict(t) for t in self.targets()],
            "errors": self.errors,
            "notes": self.notes,
        }


# --------------------------------------------------------------------------- targets


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _miss(value: float, goal: float) -> str:
    """How far below ``goal`` ``value`` is, as a percentage of the goal."""
    return f"missed by {(1 - value / goal) * 100:.0f}%"


def _targets(res: Results) -> list[Target]:
    targets: list[Target] = []
    if not res.sizes:
        return targets
    largest = res.sizes[-1]
    big = [s for s in res.sizes if s >= min(64 * MiB, largest)]
    for chunk in res.chunk_sizes:
        c = format_size(chunk)
        for size in big:
            s = format_size(size)
            for op, ops in (("put", PUT_RAW), ("get", READ_RAW)):
                mine = res.value("natsobj", op, chunk, size)
                ceiling, _ = res.ceiling(ops, chunk, size)
                ratio = Ratio.of(mine, ceiling) if mine is not None else None
                ok = None if ratio is None else ratio >= 0.85
                targets.append(
                    Target(
                        f"{op} {s}, chunk {c}: vs raw ceiling",
                        _pct(ratio),
                        ">= 85%",
                        ok,
                        "" if ok is not False or ratio is None else _miss(ratio, 0.85),
                    )
                )
            for op in ("put", "get"):
                mine = res.value("natsobj", op, chunk, size)
                theirs = res.value("js", op, chunk, size)
                ratio = Ratio.of(mine, theirs) if mine is not None else None
                ok = None if ratio is None else ratio >= 5
                targets.append(
                    Target(
                        f"{op} {s}, chunk {c}: vs nats.js",
                        _x(ratio),
                        ">= 5x",
                        ok,
                        "" if ok is not False or ratio is None else _miss(ratio, 5),
                    )
                )
        huge = [s for s in res.sizes if s >= 512 * MiB] or [largest]
        for size in huge:
            s = format_size(size)
            note = "" if size >= 512 * MiB else "(the goal is for >= 512 MiB; this run's largest)"
            for op, goal, what in (
                ("put", 3.0, "put"),
                ("get_file", 10.0, "get into a file (get_file vs get(writeinto=))"),
            ):
                mine = res.value("natsobj", op, chunk, size)
                theirs = res.value("builtin", op, chunk, size)
                ratio = Ratio.of(mine, theirs) if mine is not None else None
                ok = None if ratio is None else ratio >= goal
                targets.append(
                    Target(
                        f"{what} {s}, chunk {c}: vs nats-py built-in",
                        _x(ratio),
                        f">= {goal:.0f}x",
                        ok,
                        note
                        if ok is not False or ratio is None
                        else f"{_miss(ratio, goal)} {note}",
                    )
                )
    for fig in res.figures:
        if fig.peer == "natsobj" and fig.op in ("put_file", "get_file") and fig.size == largest:
            growth = fig.rss_growth_mib
            ok = None if growth is None else growth < 64
            note = "" if largest >= 1024 * MiB else "(the goal is for 1 GiB; this run's largest)"
            targets.append(
                Target(
                    f"{fig.op} {format_size(largest)}, chunk {format_size(fig.chunk_size)}: "
                    "peak RSS growth",
                    "n/a" if growth is None else f"{growth:.0f} MiB",
                    "< 64 MiB",
                    ok,
                    note,
                )
            )
    for op, goal in (("put_conc", 2000.0), ("get_conc", 4000.0)):
        mine = res.value("natsobj", op, None, None)
        if mine is None:
            continue
        others = {
            p: res.value(p, op, None, None)
            for p in ("builtin", "js")
            if res.find(p, op, None, None)
        }
        ahead = all(v is None or mine > v for v in others.values())
        ok = mine >= goal and ahead
        parts = ", ".join(f"{PEER_TITLES[p]} {v:,.0f}" for p, v in others.items() if v)
        why = []
        if mine < goal:
            why.append(_miss(mine, goal))
        if not ahead:
            why.append("behind a peer")
        targets.append(
            Target(
                f"1 KiB objects, {op.split('_')[0]} {res.config.get('concurrency', 64)} at a time",
                f"{mine:,.0f} ops/s" + (f" ({parts})" if parts else ""),
                f">= {goal:,.0f} ops/s and ahead of both peers",
                ok,
                "; ".join(why),
            )
        )
    for chunk, size, tail, whole in res.range_read():
        ratio = tail / whole
        targets.append(
            Target(
                f"range: last 1 MiB of {format_size(size)} vs whole 1 MiB, "
                f"chunk {format_size(chunk)}",
                f"{tail * 1000:.1f} ms vs {whole * 1000:.1f} ms = {ratio:.2f}x",
                "< 2x",
                ratio < 2,
                "" if ratio < 2 else f"missed by {(ratio / 2 - 1) * 100:.0f}%",
            )
        )
    return targets


# --------------------------------------------------------------------------- Markdown


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    aligns = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in aligns]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_markdown(res: Results) -> str:
    m = res.machine
    cfg = res.config
    sizes = ", ".join(format_size(s) for s in res.sizes)
    chunks = ", ".join(format_size(c) for c in res.chunk_sizes)
    conc = int(cfg.get("concurrency", 64))
    reps = int(cfg.get("repeats", 3))
    huge = int(cfg.get("huge_from", 512 * MiB))
    out: list[str] = ["# natsobj benchmarks", ""]
    if cfg.get("quick"):
        out += ["**Quick smoke run: tiny sizes, the figures mean little.**", ""]
    out += [
        f"Measured {m.get('date', '?')} at commit `{m.get('commit', '?')}`; "
        f"the run took {res.elapsed_s / 60:.1f} min.",
        "",
    ]
    dirty = list(m.get("uncommitted") or [])
    if dirty:
        shown = ", ".join(f"`{d}`" for d in dirty[:6]) + (", ..." if len(dirty) > 6 else "")
        out += [f"Uncommitted changes under natsobj/ at the time: {shown}.", ""]
    out += [
        "Reproduce (from the repository root, after `make install` and `npm ci --prefix "
        "tests/interop/js`):",
        "",
        "```sh",
        "make bench   # = " + str(cfg.get("command", "python -m benchmarks.run")),
        "```",
        "",
    ]
    out += _table(
        ["", ""],
        [
            [
                "machine",
                f"{m.get('nproc', '?')} CPUs (nproc), {m.get('cpu', '?')}, "
                f"{m.get('ram', '?')} RAM, {m.get('os', '?')}",
            ],
            [
                "server",
                f"nats-server {m.get('server', '?')}: one embedded process "
                "(`natsobj.EmbeddedServer`), JetStream file storage, loopback, "
                "`max_payload: 8MB` so that 1 MiB chunks fit",
            ],
            [
                "clients",
                f"Python {m.get('python', '?')}, nats-py {m.get('nats_py', '?')}, natsobj "
                f"{m.get('natsobj', '?')}; Node {m.get('node') or 'n/a'}, @nats-io/obj "
                f"{m.get('nats_js_obj') or 'n/a'}; Go nats.go {m.get('nats_go') or 'n/a'} "
                "(`jetstream` object store)",
            ],
            [
                "load average",
                f"{m.get('load_start', '?')} at the start, {m.get('load_end', '?')} at the end "
                "(1 / 5 / 15 min; the suite itself keeps about 1-2 cores busy)",
            ],
            ["chunk sizes", chunks],
            [
                "object sizes",
                f"{sizes}; small objects: {cfg.get('small_count')} x "
                f"{format_size(int(cfg.get('small_size', 1024)))}, one at a time and {conc} "
                "at a time",
            ],
            [
                "figures",
                f"MB/s with MB = 10^6 bytes, or ops/s; each is the **median** of {reps} "
                f"repetitions (objects of {format_size(huge)} and more: 1 repetition)",
            ],
            [
                "ratios",
                "natsobj's figure divided by the other one, same run, same chunk size "
                "(above 1: natsobj is faster)",
            ],
        ],
        "ll",
    )
    out.append("")
    for note in res.notes:
        out += [f"> {note}", ""]
    if res.errors:
        out += ["## Errors", ""]
        out += [f"- `{e.splitlines()[0]}`" for e in res.errors]
        out.append("")

    out += _render_targets(res)
    out += _render_large(res)
    out += _render_raw(res)
    out += _render_put_paths(res)
    out += _render_small(res, conc)
    out += _render_range(res)
    out += _render_cpu(res)
    out += _render_rss(res)
    out += _render_profile(res)
    out += _render_method(res)
    return "\n".join(out).rstrip() + "\n"


def _render_targets(res: Results) -> list[str]:
    targets = res.targets()
    if not targets:
        return []
    mark = {True: "met", False: "**missed**", None: "not measured"}
    rows = [[t.what, t.measured, t.goal, mark[t.ok], t.note] for t in targets]
    met = sum(1 for t in targets if t.ok)
    missed = sum(1 for t in targets if t.ok is False)
    out = [
        "## Targets (issue 3)",
        "",
        f"{met} met, {missed} missed. Why the misses happen is under *Where the time goes* below.",
        "",
    ]
    return [*out, *_table(["target", "measured", "goal", "result", "note"], rows, "lllll"), ""]


def _render_large(res: Results) -> list[str]:
    ratios = res.ratios()
    if not ratios:
        return []
    out = [
        "## Large objects",
        "",
        "The raw ceiling is the best raw nats-py figure of the same direction, chunk size and "
        "size (see the next table). Peers are compared op for op: put (bytes) is nats-py's "
        "`put(bytes)` and nats.js `putBlob`; put_file is nats-py's `put(open file)` and "
        "nats.js `put(ReadableStream of the file)`; get (stream) is nats.js `get()` with the "
        "chunks counted (nats-py has no streaming get); get_bytes is nats-py's `get()` into "
        "memory and nats.js `getBlob` (up to 64 MiB: nats-py's is quadratic); get_file is "
        "nats-py's `get(writeinto=file)` and nats.js `get()` written to a file. nats.go "
        "(`jetstream`): put is `Put` from a `bytes.Reader`, put_file `Put` from the open "
        "file, get `Get` copied to `io.Discard`, get_bytes `GetBytes` (up to 64 MiB, as "
        "nats.js), get_file `Get` copied into a file.",
        "",
    ]
    for chunk in res.chunk_sizes:
        rows = []
        for r in ratios:
            if r.chunk_size != chunk:
                continue
            rows.append(
                [
                    format_size(r.size),
                    OP_TITLES.get(r.op, r.op),
                    f"**{_num(r.natsobj)}**",
                    _num(r.ceiling),
                    _pct(r.vs_ceiling),
                    _num(r.builtin),
                    _x(r.vs_builtin),
                    _num(r.js),
                    _x(r.vs_js),
                    _num(r.go),
                    _x(r.vs_go),
                ]
            )
        out += [f"### Chunk size {format_size(chunk)}", ""]
        out += _table(
            [
                "size",
                "op",
                "natsobj MB/s",
                "raw ceiling MB/s",
                "natsobj / ceiling",
                "nats-py built-in MB/s",
                "natsobj / built-in",
                "nats.js MB/s",
                "natsobj / nats.js",
                "nats.go MB/s",
                "natsobj / nats.go",
            ],
            rows,
            "llrrrrrrrrr",
        )
        out.append("")
    return out


def _render_raw(res: Results) -> list[str]:
    ops = list(RAW_TITLES)
    rows = []
    for chunk in res.chunk_sizes:
        for size in res.sizes:
            values = [res.value("raw", op, chunk, size) for op in ops]
            if all(v is None for v in values):
                continue
            rows.append([format_size(chunk), format_size(size), *(_num(v) for v in values)])
    if not rows:
        return []
    return [
        "## Raw ceiling (nats-py, no object-store logic), MB/s",
        "",
        "The same bytes published as `chunk size` messages to a chunk subject of an object "
        "store bucket, and read back. The pipelined publish keeps at most 16 MiB "
        "unacknowledged (one reply inbox, a wildcard subscription counting the acks); "
        "Direct Get asks for 8 MiB runs. nats-py's socket reads are raised to 1 MiB here, as "
        "natsobj does for itself.",
        "",
        *_table(["chunk", "size", *(RAW_TITLES[o] for o in ops)], rows, "llrrrrr"),
        "",
    ]


PUT_PATH_TITLES = {
    "put_pipelined": "pipelined (default)",
    "put_batched": "batched (`batched_puts`, fast ingest)",
    "put_atomic": "atomic (`atomic_puts`, atomic batch)",
}


def _render_put_paths(res: Results) -> list[str]:
    rows = []
    for chunk in res.chunk_sizes:
        base = res.find("natsobj", "put_pipelined", chunk, None)
        for op, title in PUT_PATH_TITLES.items():
            fig = res.find("natsobj", op, chunk, None)
            if fig is None:
                continue
            client = fig.cpu_per_gb(fig.client_cpu_s)
            server = fig.cpu_per_gb(fig.server_cpu_s)
            rows.append(
                [
                    format_size(chunk),
                    format_size(fig.size),
                    title,
                    _num(fig.value),
                    _x(Ratio.of(fig.value, base.value if base else None)),
                    "-" if client is None else f"{client:.2f}",
                    "-" if server is None else f"{server:.2f}",
                ]
            )
    if not rows:
        return []
    return [
        "## Put paths",
        "",
        "natsobj's `put` of the same bytes into buckets made for each path, so every path "
        "is measured in the same run. Pipelined: acknowledged publishes with at most 16 MiB "
        "unacknowledged. Batched: one fast-ingest batch (nats-server 2.14+, ADR-50), "
        "acknowledged every few chunks. Atomic: one atomic batch of chunks and meta (2.12+, "
        "at most 999 chunks).",
        "",
        *_table(
            [
                "chunk",
                "size",
                "path",
                "MB/s",
                "vs pipelined",
                "client CPU s/GB",
                "server CPU s/GB",
            ],
            rows,
            "lllrrrr",
        ),
        "",
    ]


def _render_small(res: Results, conc: int) -> list[str]:
    ratios = res.small_ratios()
    if not ratios:
        return []
    rows = [
        [
            SMALL_TITLES[r.op].format(c=conc),
            f"**{_num(r.natsobj)}**",
            _num(r.builtin),
            _x(r.vs_builtin),
            _num(r.js),
            _x(r.vs_js),
            _num(r.go),
            _x(r.vs_go),
        ]
        for r in ratios
    ]
    count = res.config.get("small_count")
    size = format_size(int(res.config.get("small_size", 1024)))
    return [
        f"## Small objects ({count} x {size}), ops/s",
        "",
        f"Each repetition puts {count} new objects, then gets them back (bytes in memory). "
        f'"{conc} at a time" is {conc} tasks (anyio task group; in Node, {conc} async workers) '
        "taking the next name as each finishes. natsobj's default chunk size. "
        "nats-py's and nats.js's gets each create an ephemeral ordered push consumer, which "
        "the server removes only later (nats-py's after about 5 s, nats.js's after its "
        "5-minute `inactive_threshold`), and nats-server 2.15.1 refuses a stream's 1,001st "
        "consumer (`maximum consumers limit reached`, although the stream and account "
        "limits are unlimited): those two peers cannot get more than 1,000 objects from a "
        "bucket in a row. So each repetition uses at most 1,000 objects, and before each get "
        "repetition the leftover consumers are deleted, untimed, when that many more would "
        "not fit. natsobj reads with Direct Get and leaves no consumers.",
        "",
        *_table(
            [
                "op",
                "natsobj",
                "nats-py built-in",
                "natsobj / built-in",
                "nats.js",
                "natsobj / nats.js",
                "nats.go",
                "natsobj / nats.go",
            ],
            rows,
        ),
        "",
    ]


def _render_range(res: Results) -> list[str]:
    rr = res.range_read()
    if not rr:
        return []
    rows = [
        [
            format_size(chunk),
            f"last 1 MiB of {format_size(size)}",
            f"{tail * 1000:.1f}",
            f"{whole * 1000:.1f}",
            f"{tail / whole:.2f}x",
        ]
        for chunk, size, tail, whole in rr
    ]
    return [
        "## Range read",
        "",
        "`get_bytes(name, start=size - 1 MiB)` on the largest object against `get_bytes` of a "
        "whole 1 MiB object in the same bucket, interleaved, median wall time.",
        "",
        *_table(["chunk", "read", "range ms", "whole 1 MiB ms", "range / whole"], rows, "llrrr"),
        "",
    ]


CPU_ROWS = (
    ("raw", "pub_pipelined"),
    ("raw", "pub_sequential"),
    ("natsobj", "put"),
    ("natsobj", "put_file"),
    ("builtin", "put"),
    ("builtin", "put_file"),
    ("js", "put"),
    ("js", "put_file"),
    ("go", "put"),
    ("go", "put_file"),
    ("raw", "read_direct"),
    ("raw", "read_direct_hdrs"),
    ("raw", "read_ordered"),
    ("natsobj", "get"),
    ("natsobj", "get_bytes"),
    ("natsobj", "get_file"),
    ("builtin", "get_bytes"),
    ("builtin", "get_file"),
    ("js", "get"),
    ("js", "get_bytes"),
    ("js", "get_file"),
    ("go", "get"),
    ("go", "get_bytes"),
    ("go", "get_file"),
)


def _render_cpu(res: Results) -> list[str]:
    size = int(res.config.get("profile_size", 0))
    if size not in res.sizes:
        return []
    rows = []
    for peer, op in CPU_ROWS:
        row = [PEER_TITLES[peer], RAW_TITLES.get(op, OP_TITLES.get(op, op))]
        found = False
        for chunk in res.chunk_sizes:
            fig = res.find(peer, op, chunk, size)
            client = fig.cpu_per_gb(fig.client_cpu_s) if fig else None
            server = fig.cpu_per_gb(fig.server_cpu_s) if fig else None
            found = found or fig is not None
            row += [
                "-" if client is None else f"{client:.2f}",
                "-" if server is None else f"{server:.2f}",
                "-" if fig is None else _num(fig.value),
            ]
        if found:
            rows.append(row)
    if not rows:
        return []
    header = ["peer", "op"]
    for chunk in res.chunk_sizes:
        c = format_size(chunk)
        header += [f"client CPU s/GB ({c})", f"server CPU s/GB ({c})", f"MB/s ({c})"]
    nproc = res.machine.get("nproc", "?")
    return [
        f"## CPU per GB moved, {format_size(size)} objects",
        "",
        "CPU seconds (user + system, all threads) per 10^9 bytes, summed over the "
        "repetitions: the worker process (client) and nats-server while it ran. Less noisy "
        f"than wall time on a shared machine. With {nproc} cores, client and server together "
        f"cannot use more than {nproc} CPU seconds per second: when both are busy, "
        "throughput is about the core count divided by the sum of the two columns.",
        "",
        *_table(header, rows, "ll" + "r" * (3 * len(res.chunk_sizes))),
        "",
    ]


def _render_rss(res: Results) -> list[str]:
    figs = [f for f in res.figures if f.rss_growth_mib is not None]
    if not figs:
        return []
    columns = sorted({(f.size, f.chunk_size) for f in figs})
    keys: list[tuple[str, str]] = []
    for f in figs:
        if (f.peer, f.op) not in keys:
            keys.append((f.peer, f.op))
    rows = []
    for peer, op in keys:
        row = [PEER_TITLES.get(peer, peer), OP_TITLES.get(op, op)]
        for size, chunk in columns:
            fig = next(
                (
                    f
                    for f in figs
                    if f.peer == peer and f.op == op and f.size == size and f.chunk_size == chunk
                ),
                None,
            )
            row.append(
                "-" if fig is None or fig.rss_growth_mib is None else f"{fig.rss_growth_mib:,.0f}"
            )
        rows.append(row)
    header = ["peer", "op", *(f"{format_size(s)} / chunk {format_size(c)}" for s, c in columns)]
    return [
        "## Peak RSS growth, MiB",
        "",
        "Each op runs in a process of its own. After imports, connecting and loading the test "
        "data the worker resets its peak RSS (`echo 5 > /proc/self/clear_refs`, Linux) and "
        "notes its RSS; the figure is the peak (`VmHWM`) after the op's repetitions minus "
        "that baseline. The puts from bytes load the object into memory before the baseline, "
        "so that copy is **not** counted. natsobj's get_bytes reads into one buffer of the "
        "object's size, so it grows by about the object. nats.js get "
        "buffers what the file writer has not taken yet: its push consumer does not wait "
        "for the reader.",
        "",
        *_table(header, rows, "ll" + "r" * len(columns)),
        "",
    ]


def _render_profile(res: Results) -> list[str]:
    out = ["## Where the time goes", ""]
    profiles = [f for f in res.figures if f.op.startswith("profile_") and f.profile]
    for fig in profiles:
        what = "put" if fig.op == "profile_put" else "get (streamed)"
        out += [
            f"cProfile of natsobj {what} of {format_size(fig.size)} at chunk "
            f"{format_size(fig.chunk_size)} (event-loop thread only; the SHA-256 thread is not "
            f"in it): {fig.value:,.0f} MB/s under the profiler.",
            "",
            "```",
            fig.profile.rstrip(),
            "```",
            "",
        ]
    out += [NOTES_START, "", "(notes are added by hand after a run)", "", NOTES_END, ""]
    return out


def _render_method(res: Results) -> list[str]:
    return [
        "## Method",
        "",
        "- One `natsobj.EmbeddedServer` for the whole run; each peer gets a fresh bucket per "
        "chunk size and object size, created by natsobj (so every peer writes to the same "
        "stream configuration) and deleted afterwards.",
        "- Each measurement runs in a worker process: `python -m benchmarks.worker` for raw "
        "nats-py, natsobj and nats-py's built-in store, `node benchmarks/js/bench.mjs` for "
        "nats.js (timed inside Node, start-up excluded), `.gocache/bin/gobench` (built from "
        "`benchmarks/go`) for nats.go (timed inside Go, start-up excluded). Objects from the "
        "`put` op are read by the get ops. Every get checks the byte count; natsobj and the "
        "peers also check the SHA-256 digest.",
        "- The test data are random bytes in a file on disk, written once per size; the puts "
        "from bytes read it into memory before timing.",
        "- Large objects: each op in its own process (peak RSS belongs to it alone); smaller "
        "objects: all of a peer's ops in one process.",
        "- nats-py's built-in get into memory is only run up to 64 MiB: it grows a `bytes` by "
        "concatenation, quadratic in the object size.",
        "- CPU time: the worker's own (`getrusage`, Node `process.cpuUsage()`, every thread) "
        "and the server's (`/proc/<pid>/stat`) are read around each timed repetition.",
        "- Everything else on the machine keeps running: the load average above says how "
        "busy it was. Only ratios from the same run mean much.",
        f"- Run time of this report: {res.elapsed_s:.0f} s.",
        "",
    ]
