#!/usr/bin/env node
// The nats.js object store (@nats-io/obj 3.4.0) as a peer of natsobj's conformance suite.
//
//   node peer.mjs --server URL
//
// It speaks the line protocol of tests/interop/peers/process_peer.py: one JSON request per
// line on stdin, one JSON answer per request on stdout, in order; it exits at the end of
// stdin. One connection serves every request, so a test run starts Node once per module.

import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { connect, headers as msgHeaders } from "@nats-io/transport-node";
import { Objm } from "@nats-io/obj";

// JetStream's err_code for a write to a sealed stream ("invalid operation on sealed stream").
const SEALED_STREAM = 10109;

class PeerError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function notFound(bucket, name) {
  return new PeerError("not_found", `object not found: ${bucket}/${name}`);
}

function serverArg(argv) {
  const i = argv.indexOf("--server");
  if (i < 0 || i + 1 >= argv.length) {
    throw new Error("usage: node peer.mjs --server URL");
  }
  return argv[i + 1];
}

// The stored meta fields, as nats.js read them (absent ones null).
function infoJson(oi) {
  const raw = oi.info ?? oi;
  return {
    name: raw.name ?? null,
    description: raw.description ?? null,
    headers: raw.headers ?? null,
    metadata: raw.metadata ?? null,
    options: raw.options ?? null,
    bucket: raw.bucket ?? null,
    nuid: raw.nuid ?? null,
    size: raw.size ?? null,
    chunks: raw.chunks ?? null,
    digest: raw.digest ?? null,
    deleted: raw.deleted ?? null,
  };
}

function statusJson(st) {
  return {
    bucket: st.bucket,
    description: st.description ?? "",
    sealed: st.sealed ?? false,
    storage: st.storage,
    replicas: st.replicas,
    size: st.size,
  };
}

// The protocol's meta ({name, description, headers: {K: [v]}, metadata}) for nats.js.
// `replace` sets every field, so that update() replaces them all (as nats.go does).
function objectMeta(m, replace) {
  const meta = { name: m.name };
  if (replace || m.description) {
    meta.description = m.description ?? "";
  }
  const hdrs = Object.entries(m.headers ?? {});
  if (replace || hdrs.length > 0) {
    meta.headers = msgHeaders();
    for (const [key, values] of hdrs) {
      for (const value of values) {
        meta.headers.append(key, value);
      }
    }
  }
  if (replace || Object.keys(m.metadata ?? {}).length > 0) {
    meta.metadata = m.metadata ?? {};
  }
  return meta;
}

async function collect(watcher) {
  for await (const entry of watcher.iter) {
    watcher.events.push(infoJson(entry));
    watcher.wake();
  }
}

// The first `count` events not taken yet, waiting at most `timeoutMs` for them.
async function take(watcher, count, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (watcher.events.length < count && Date.now() < deadline) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, deadline - Date.now());
      watcher.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  if (watcher.events.length < count) {
    throw new Error(`${watcher.events.length} of ${count} watch events in ${timeoutMs} ms`);
  }
  return watcher.events.splice(0, count);
}

class Peer {
  constructor(nc) {
    this.objm = new Objm(nc);
    this.watchers = new Map();
    this.nextWatcher = 1;
  }

  open(bucket) {
    return this.objm.open(bucket);
  }

  async handle(req) {
    const { bucket } = req;
    switch (req.op) {
      case "create": {
        const os = await this.objm.create(bucket, { description: req.description });
        return statusJson(await os.status());
      }
      case "status":
        return statusJson(await (await this.open(bucket)).status());
      case "seal":
        return statusJson(await (await this.open(bucket)).seal());
      case "put": {
        const meta = objectMeta(req.meta, false);
        if (req.chunk_size) {
          meta.options = { max_chunk_size: req.chunk_size };
        }
        const os = await this.open(bucket);
        return infoJson(await os.put(meta, Readable.toWeb(createReadStream(req.file))));
      }
      case "get": {
        const r = await (await this.open(bucket)).get(req.name);
        if (r === null) {
          throw notFound(bucket, req.name);
        }
        const out = createWriteStream(req.out);
        for await (const chunk of r.data) {
          if (!out.write(chunk)) {
            await once(out, "drain");
          }
        }
        out.end();
        await once(out, "finish");
        const err = await r.error;
        if (err) {
          throw err;
        }
        return null;
      }
      case "info": {
        // nats.js info() also returns deletion markers.
        const info = await (await this.open(bucket)).info(req.name);
        if (info === null || (info.deleted && !req.show_deleted)) {
          throw notFound(bucket, req.name);
        }
        return infoJson(info);
      }
      case "list":
        return (await (await this.open(bucket)).list()).map(infoJson);
      case "delete": {
        const r = await (await this.open(bucket)).delete(req.name);
        if (!r.success) {
          throw notFound(bucket, req.name);
        }
        return null;
      }
      case "update":
        await (await this.open(bucket)).update(req.name, objectMeta(req.meta, true));
        return null;
      case "link": {
        const os = await this.open(bucket);
        const target = await (await this.open(req.target_bucket)).info(req.target);
        if (target === null) {
          throw notFound(req.target_bucket, req.target);
        }
        return infoJson(await os.link(req.name, target));
      }
      case "link-bucket": {
        const os = await this.open(bucket);
        return infoJson(await os.linkStore(req.name, await this.open(req.target_bucket)));
      }
      case "watch": {
        // includeHistory: the newest entry of every object first, then changes.
        const iter = await (await this.open(bucket)).watch({ includeHistory: true });
        const watcher = { iter, events: [], wake: () => {} };
        collect(watcher).catch((err) => {
          process.stderr.write(`watch ${bucket}: ${err}\n`);
        });
        const id = this.nextWatcher++;
        this.watchers.set(id, watcher);
        return { watch: id };
      }
      case "watch-take":
        return await take(this.watcher(req.watch), req.count, req.timeout_ms);
      case "watch-stop":
        this.watcher(req.watch).iter.stop();
        this.watchers.delete(req.watch);
        return null;
      default:
        throw new Error(`unknown op ${JSON.stringify(req.op)}`);
    }
  }

  watcher(id) {
    const watcher = this.watchers.get(id);
    if (watcher === undefined) {
      throw new Error(`no watcher ${id}`);
    }
    return watcher;
  }

  stop() {
    for (const watcher of this.watchers.values()) {
      watcher.iter.stop();
    }
  }
}

function errorJson(err) {
  const message = err?.message ?? String(err);
  let kind = err?.kind ?? "other";
  if (message === "link is a bucket") {
    kind = "link_is_bucket";
  } else if (err?.code === SEALED_STREAM) {
    kind = "sealed";
  }
  return { kind, message };
}

async function main() {
  const nc = await connect({ servers: serverArg(process.argv.slice(2)), timeout: 5000 });
  const peer = new Peer(nc);
  try {
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      let req = null;
      let answer;
      try {
        req = JSON.parse(line);
        answer = { id: req.id, result: (await peer.handle(req)) ?? null };
      } catch (err) {
        answer = { id: req?.id ?? null, error: errorJson(err) };
      }
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    }
  } finally {
    peer.stop();
    await nc.close();
  }
}

await main();
