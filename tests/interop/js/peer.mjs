#!/usr/bin/env node
// A command-line nats.js object store peer for natsobj's interop tests.
//
// It drives @nats-io/obj 3.4.0 (the official JavaScript object store) and prints exactly
// one JSON line on stdout. On failure it prints {"error": "..."} and exits with code 1.
//
//   node peer.mjs COMMAND [ARGS] --server URL --bucket B [OPTIONS]
//
//   create                                   create (or open) the bucket     -> status JSON
//   status                                   bucket status                   -> status JSON
//   put NAME [--file PATH] [--chunk-size N] [--description D]
//            [--header K=V]... [--meta K=V]...  data from --file or stdin    -> info JSON
//   get NAME --out PATH                      write the bytes to PATH (follows links)
//                                            -> {"size", "digest", "sha256_hex", "info"}
//                                            (an error with "not_found": true if missing)
//   info NAME                                -> info JSON, or null if there is no meta
//                                            (nats.js returns delete markers too)
//   list                                     -> array of info JSON (deleted ones omitted)
//   delete NAME                              -> {"success", "purged"}
//   link NAME --target-bucket TB --target T  link() to object T in bucket TB -> info JSON
//   link-bucket NAME --target-bucket TB      linkStore() to bucket TB        -> info JSON
//   rename OLD NEW                           update(OLD, {name: NEW})        -> info JSON of NEW
//   update NAME [--description D]            update(NAME, {description: D})  -> info JSON
//   watch --count N [--timeout MS] [--include-history]
//                                            the first N watch entries       -> array
//
// Info JSON has the stored meta fields (name, description, headers as {K: [v, ...]},
// options, metadata, bucket, nuid, size, chunks, digest, deleted, mtime, revision) plus
// "is_link". Fields the stored meta does not have are null.

import { createReadStream, createWriteStream } from "node:fs";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { once } from "node:events";
import { connect, headers } from "@nats-io/transport-node";
import { Objm } from "@nats-io/obj";

class UsageError extends Error {}

const REPEATABLE = new Set(["header", "meta"]);
const FLAGS = new Set(["include-history"]);

function parseArgs(argv) {
  const positional = [];
  const opts = { header: [], meta: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    let key = a.slice(2);
    let value;
    const eq = key.indexOf("=");
    if (eq >= 0 && !REPEATABLE.has(key.slice(0, eq))) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else if (FLAGS.has(key)) {
      value = true;
    } else {
      if (i + 1 >= argv.length) {
        throw new UsageError(`option --${key} needs a value`);
      }
      value = argv[++i];
    }
    if (REPEATABLE.has(key)) {
      opts[key].push(value);
    } else {
      opts[key] = value;
    }
  }
  return { positional, opts };
}

function keyValues(list, what) {
  return list.map((kv) => {
    const eq = kv.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(`--${what} wants K=V, got ${JSON.stringify(kv)}`);
    }
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

function need(value, what) {
  if (value === undefined || value === null || value === "") {
    throw new UsageError(`missing ${what}`);
  }
  return value;
}

function orNull(v) {
  return v === undefined ? null : v;
}

// Serialize an ObjectInfo (ObjectInfoImpl from info()/put()/get(), or the raw JSON objects
// list()/watch() yield) into plain JSON. `raw` values win so that "missing" stays null.
function infoJson(oi) {
  if (oi === null || oi === undefined) {
    return null;
  }
  const raw = oi.info ?? oi;
  let hdrs = raw.headers;
  if (hdrs && typeof hdrs.toRecord === "function") {
    hdrs = hdrs.toRecord();
  }
  const link = raw.options?.link;
  return {
    name: orNull(raw.name),
    description: orNull(raw.description),
    headers: orNull(hdrs),
    options: orNull(raw.options),
    metadata: orNull(raw.metadata),
    bucket: orNull(raw.bucket),
    nuid: orNull(raw.nuid),
    size: orNull(raw.size),
    chunks: orNull(raw.chunks),
    digest: orNull(raw.digest),
    deleted: orNull(raw.deleted),
    mtime: orNull(raw.mtime),
    revision: orNull(raw.revision),
    is_link: link !== undefined && link !== null,
  };
}

function statusJson(st) {
  return {
    bucket: st.bucket,
    description: st.description,
    ttl: st.ttl,
    storage: st.storage,
    replicas: st.replicas,
    sealed: st.sealed,
    size: st.size,
    metadata: orNull(st.metadata),
    compression: st.compression,
  };
}

async function openStore(objm, bucket) {
  return await objm.open(bucket);
}

async function run(nc, command, positional, opts) {
  const objm = new Objm(nc);
  const bucket = need(opts.bucket, "--bucket");
  switch (command) {
    case "create": {
      const os = await objm.create(bucket);
      return statusJson(await os.status());
    }
    case "status": {
      const os = await openStore(objm, bucket);
      return statusJson(await os.status());
    }
    case "put": {
      const name = need(positional[0], "object NAME");
      const os = await openStore(objm, bucket);
      const meta = { name };
      if (opts.description !== undefined) {
        meta.description = opts.description;
      }
      if (opts["chunk-size"] !== undefined) {
        const n = Number.parseInt(opts["chunk-size"], 10);
        if (!Number.isInteger(n) || n <= 0) {
          throw new UsageError(`bad --chunk-size ${opts["chunk-size"]}`);
        }
        meta.options = { max_chunk_size: n };
      }
      if (opts.header.length > 0) {
        const h = headers();
        for (const [k, v] of keyValues(opts.header, "header")) {
          h.append(k, v);
        }
        meta.headers = h;
      }
      if (opts.meta.length > 0) {
        meta.metadata = Object.fromEntries(keyValues(opts.meta, "meta"));
      }
      const source = opts.file !== undefined
        ? createReadStream(opts.file)
        : process.stdin;
      const rs = Readable.toWeb(source);
      return infoJson(await os.put(meta, rs));
    }
    case "get": {
      const name = need(positional[0], "object NAME");
      const out = need(opts.out, "--out PATH");
      const os = await openStore(objm, bucket);
      const r = await os.get(name);
      if (r === null) {
        const e = new Error(`object not found: ${name}`);
        e.notFound = true;
        throw e;
      }
      const sha = createHash("sha256");
      const ws = createWriteStream(out);
      let size = 0;
      const reader = r.data.getReader();
      while (true) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        if (value && value.length) {
          size += value.length;
          sha.update(value);
          if (!ws.write(value)) {
            await once(ws, "drain");
          }
        }
      }
      ws.end();
      await once(ws, "finish");
      const err = await r.error;
      if (err) {
        throw err;
      }
      const d = sha.digest();
      return {
        size,
        // padded base64url, as the object store writes it
        digest: `SHA-256=${d.toString("base64").replace(/\+/g, "-").replace(/\//g, "_")}`,
        sha256_hex: d.toString("hex"),
        info: infoJson(r.info),
      };
    }
    case "info": {
      const name = need(positional[0], "object NAME");
      const os = await openStore(objm, bucket);
      return infoJson(await os.info(name));
    }
    case "list": {
      const os = await openStore(objm, bucket);
      return (await os.list()).map(infoJson);
    }
    case "delete": {
      const name = need(positional[0], "object NAME");
      const os = await openStore(objm, bucket);
      const r = await os.delete(name);
      return { success: r.success, purged: r.purged };
    }
    case "link": {
      const name = need(positional[0], "link NAME");
      const tb = need(opts["target-bucket"], "--target-bucket");
      const target = need(opts.target, "--target");
      const os = await openStore(objm, bucket);
      const tos = tb === bucket ? os : await openStore(objm, tb);
      const ti = await tos.info(target);
      if (ti === null) {
        throw new Error(`link target not found: ${tb}/${target}`);
      }
      return infoJson(await os.link(name, ti));
    }
    case "link-bucket": {
      const name = need(positional[0], "link NAME");
      const tb = need(opts["target-bucket"], "--target-bucket");
      const os = await openStore(objm, bucket);
      const tos = await openStore(objm, tb);
      return infoJson(await os.linkStore(name, tos));
    }
    case "rename": {
      const oldName = need(positional[0], "OLD name");
      const newName = need(positional[1], "NEW name");
      const os = await openStore(objm, bucket);
      const meta = { name: newName };
      if (opts.description !== undefined) {
        meta.description = opts.description;
      }
      await os.update(oldName, meta);
      return infoJson(await os.info(newName));
    }
    case "update": {
      const name = need(positional[0], "object NAME");
      const os = await openStore(objm, bucket);
      const meta = {};
      if (opts.description !== undefined) {
        meta.description = opts.description;
      }
      await os.update(name, meta);
      return infoJson(await os.info(name));
    }
    case "watch": {
      const count = Number.parseInt(need(opts.count, "--count"), 10);
      const timeout = Number.parseInt(opts.timeout ?? "10000", 10);
      const os = await openStore(objm, bucket);
      const iter = await os.watch({ includeHistory: opts["include-history"] === true });
      const got = [];
      const timer = setTimeout(() => iter.stop(), timeout);
      for await (const e of iter) {
        got.push({ ...infoJson(e), is_update: e.isUpdate });
        if (got.length >= count) {
          break;
        }
      }
      clearTimeout(timer);
      iter.stop();
      return got;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function fail(err) {
  const out = { error: err?.message ?? String(err) };
  if (err?.name && err.name !== "Error") {
    out.type = err.name;
  }
  if (err?.notFound) {
    out.not_found = true;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exitCode = 1;
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  let nc = null;
  try {
    const { positional, opts } = parseArgs(rest);
    need(command, "COMMAND");
    const server = need(opts.server, "--server");
    nc = await connect({ servers: server, timeout: 5000 });
    const result = await run(nc, command, positional, opts);
    process.stdout.write(`${JSON.stringify(result ?? null)}\n`);
  } catch (err) {
    fail(err);
  } finally {
    if (nc !== null) {
      try {
        await nc.close();
      } catch {
        // already closed
      }
    }
  }
}

await main();
