#!/usr/bin/env node
// The nats.js side of natsobj's benchmark suite: @nats-io/obj 3.4 timed inside Node.
//
//   node benchmarks/js/bench.mjs SPEC_JSON
//
// SPEC_JSON is a benchmarks._common.WorkerSpec. Prints one JSON line on stdout, in the shape
// the Python workers print: {"baseline_rss_kib": N, "ops": {op: {"seconds": [...], "bytes",
// "count", "peak_rss_kib", "extra"}}}. Node start-up, connecting and loading the test data
// happen before the baseline and are not timed.
//
// Ops on large objects: put (putBlob from a Uint8Array in memory), put_file (put from a
// ReadableStream of the data file), get (get() streamed, chunks only counted), get_bytes
// (getBlob), get_file (get() streamed into a file). Small objects: put_seq/get_seq one at a
// time, put_conc/get_conc with `concurrency` async workers taking the next name in turn.
//
// The packages come from tests/interop/js/node_modules (the interop peer's lockfile), or
// from $NATSOBJ_JS_PEER_DIR.

import {
  createReadStream,
  createWriteStream,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const peerDir = process.env.NATSOBJ_JS_PEER_DIR ?? resolve(here, "../../tests/interop/js");
const require = createRequire(join(peerDir, "package.json"));
const { connect } = require("@nats-io/transport-node");
const { Objm } = require("@nats-io/obj");
const { jetstreamManager } = require("@nats-io/jetstream");

// Peak RSS in KiB: VmHWM on Linux (reset by resetPeakRss), else the lifetime maxRSS.
function statusKiB(key) {
  try {
    const m = readFileSync("/proc/self/status", "utf8").match(new RegExp(`${key}:\\s+(\\d+)`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const peakRssKiB = () => statusKiB("VmHWM") ?? process.resourceUsage().maxRSS;

// Start measuring peak RSS from now; returns the baseline (as in benchmarks/_common.py).
function resetPeakRss() {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    return peakRssKiB();
  }
  return statusKiB("VmRSS") ?? peakRssKiB();
}

// CPU seconds (user + system) of a process, from /proc; 0 when unknown.
let serverPid = 0;
function serverCpuS() {
  if (!serverPid) {
    return 0;
  }
  try {
    const text = readFileSync(`/proc/${serverPid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 1).trim().split(/\s+/);
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
  } catch {
    return 0;
  }
}

function ownCpuS() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

async function timed(result, repeats, run, before = null) {
  for (let i = 0; i < repeats; i++) {
    if (before) {
      await before();
    }
    const cpu = ownCpuS();
    const server = serverCpuS();
    const start = performance.now();
    await run(i);
    result.seconds.push((performance.now() - start) / 1000);
    const extra = result.extra;
    extra.client_cpu_s = (extra.client_cpu_s ?? 0) + ownCpuS() - cpu;
    extra.server_cpu_s = (extra.server_cpu_s ?? 0) + serverCpuS() - server;
  }
  result.peak_rss_kib = peakRssKiB();
  return result;
}

const newResult = (bytes, count) => ({ seconds: [], bytes, count, peak_rss_kib: 0, extra: {} });

async function drain(stream, sink) {
  const reader = stream.getReader();
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) {
      return size;
    }
    if (value && value.length) {
      size += value.length;
      if (sink && !sink.write(value)) {
        await once(sink, "drain");
      }
    }
  }
}

async function getStream(os, name, sink) {
  const r = await os.get(name);
  if (r === null) {
    throw new Error(`object ${name} not found`);
  }
  const [err, size] = await Promise.all([r.error, drain(r.data, sink)]);
  if (err) {
    throw err;
  }
  return size;
}

async function pool(names, concurrency, op) {
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      await op(names[next++]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
}

// Each get makes an ordered push consumer with a 5-minute inactive_threshold, and
// nats-server 2.15 refuses more than 1,000 consumers on a stream ("maximum consumers limit
// reached"): before each get repetition (untimed) delete the leftovers if needed.
const CONSUMER_LIMIT = 1000;

async function makeRoom(jsm, stream, needed) {
  const names = [];
  for await (const ci of jsm.consumers.list(stream)) {
    names.push(ci.name);
  }
  if (names.length + needed <= CONSUMER_LIMIT) {
    return;
  }
  for (const name of names) {
    try {
      await jsm.consumers.delete(stream, name);
    } catch {
      // gone already
    }
  }
}

async function runSmall(spec, os, jsm, baseline) {
  const data = new Uint8Array(randomBytes(spec.size));
  const results = {};
  const meta = (name) => ({ name, options: { max_chunk_size: spec.chunk_size } });
  for (const op of spec.ops) {
    const [kind, mode] = op.split("_");
    const concurrency = mode === "seq" ? 1 : spec.concurrency;
    const fn = kind === "put"
      ? async (name) => {
        await os.putBlob(meta(name), data);
      }
      : async (name) => {
        const got = await os.getBlob(name);
        if (got === null || got.length !== data.length) {
          throw new Error(`${name}: got ${got?.length} bytes of ${data.length}`);
        }
      };
    const reps = Array.from(
      { length: spec.repeats },
      (_, r) => Array.from({ length: spec.count }, (_, i) => `${mode}${r}-${i}`),
    );
    results[op] = await timed(
      newResult(0, spec.count),
      spec.repeats,
      (r) => pool(reps[r], concurrency, fn),
      kind === "get" ? () => makeRoom(jsm, `OBJ_${spec.bucket}`, spec.count) : null,
    );
  }
  return { baseline_rss_kib: baseline, ops: results };
}

async function runLarge(spec, os) {
  const meta = (name) => ({ name, options: { max_chunk_size: spec.chunk_size } });
  const data = spec.ops.includes("put") ? new Uint8Array(readFileSync(spec.data_file)) : null;
  const baseline = resetPeakRss();
  const out = join(spec.out_dir, `js-${process.pid}.out`);
  const results = {};
  const expect = (got, what) => {
    if (got !== spec.size) {
      throw new Error(`${what}: ${got} bytes of ${spec.size}`);
    }
  };
  for (const op of spec.ops) {
    const result = newResult(spec.size, 0);
    switch (op) {
      case "put":
        await timed(result, spec.repeats, async (i) => {
          await os.putBlob(meta(`obj-${i}`), data);
        });
        break;
      case "put_file":
        await timed(result, spec.repeats, async (i) => {
          const source = createReadStream(spec.data_file, { highWaterMark: 1024 * 1024 });
          await os.put(meta(`file-${i}`), Readable.toWeb(source));
        });
        break;
      case "get":
        await timed(result, spec.repeats, async () => {
          expect(await getStream(os, "obj-0", null), "get");
        });
        break;
      case "get_bytes":
        await timed(result, spec.repeats, async () => {
          const got = await os.getBlob("obj-0");
          expect(got?.length, "getBlob");
        });
        break;
      case "get_file":
        await timed(result, spec.repeats, async () => {
          const sink = createWriteStream(out);
          await getStream(os, "obj-0", sink);
          sink.end();
          await once(sink, "finish");
          const got = statSync(out).size;
          unlinkSync(out);
          expect(got, "get into a file");
        });
        break;
      default:
        throw new Error(`js: unknown op ${op}`);
    }
    results[op] = result;
  }
  return { baseline_rss_kib: baseline, ops: results };
}

async function main() {
  const spec = JSON.parse(process.argv[2] ?? "null");
  if (spec === null) {
    throw new Error("usage: node bench.mjs SPEC_JSON");
  }
  serverPid = spec.server_pid ?? 0;
  const nc = await connect({ servers: spec.url, timeout: 30_000 });
  try {
    const os = await new Objm(nc).open(spec.bucket);
    const small = spec.ops[0].endsWith("_seq") || spec.ops[0].endsWith("_conc");
    const jsm = await jetstreamManager(nc);
    const output = small
      ? await runSmall(spec, os, jsm, resetPeakRss())
      : await runLarge(spec, os);
    process.stdout.write(`${JSON.stringify(output)}\n`);
  } finally {
    await nc.close();
  }
}

await main();
