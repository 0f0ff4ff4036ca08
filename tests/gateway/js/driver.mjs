#!/usr/bin/env node
// @supabase/storage-js (pinned in package.json) driven through every bucket and file call
// against a running `natsobj serve`, for tests/gateway/test_supabase_storage_js.py.
//
//   node driver.mjs < plan.json > results.json
//
// The plan: {phase, url, dir, buckets: {priv, pub, other}, tokens: {service, authenticated,
// anon}}. Phase "main" makes every call but the last; phase "end" empties and deletes a
// bucket (the test reads the objects back in between).
// `dir` holds big.bin (the bytes to upload); downloads are reported as {size, sha256}.
// The output is one JSON object, step name -> what the call returned: {data} or {error}
// (a StorageError as JSON: name, message, status, statusCode, code). A step never throws:
// the Python test asserts on every step, so one failure does not hide the others.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { StorageClient } from "@supabase/storage-js";

const plan = JSON.parse(readFileSync(0, "utf8"));
const big = readFileSync(`${plan.dir}/big.bin`);
const small = Buffer.from("hello from storage-js\n");
const { priv, pub, other } = plan.buckets;
const out = {};

function client(token) {
  const headers = token ? { apikey: token, Authorization: `Bearer ${token}` } : {};
  return new StorageClient(plan.url, headers);
}

const admin = client(plan.tokens.service);
const user = client(plan.tokens.authenticated);
const anon = client(plan.tokens.anon);
const nobody = client(null);

function digest(bytes) {
  return { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}

function errorJson(error) {
  if (error && typeof error.toJSON === "function") return error.toJSON();
  return { name: error?.name ?? "Error", message: String(error?.message ?? error) };
}

// Whatever a value is, something JSON can carry: bytes become their digest.
async function plain(value) {
  if (value instanceof Blob) return { blob: digest(Buffer.from(await value.arrayBuffer())), type: value.type };
  if (value instanceof ReadableStream) {
    const chunks = [];
    for await (const chunk of value) chunks.push(Buffer.from(chunk));
    return { stream: digest(Buffer.concat(chunks)) };
  }
  return value ?? null;
}

async function step(name, call) {
  try {
    const { data, error } = await call();
    out[name] = error ? { error: errorJson(error), data: await plain(data) } : { data: await plain(data) };
  } catch (error) {
    out[name] = { thrown: errorJson(error) };
  }
}

// A URL fetched as a browser would: status, the headers a client looks at, the body digest.
async function fetched(name, url, init = {}) {
  try {
    const response = await fetch(url, init);
    const body = Buffer.from(await response.arrayBuffer());
    const headers = {};
    for (const key of ["content-type", "content-length", "content-disposition", "cache-control", "etag", "last-modified", "content-range"]) {
      headers[key] = response.headers.get(key);
    }
    let json = null;
    if ((headers["content-type"] ?? "").startsWith("application/json")) json = JSON.parse(body.toString());
    out[name] = { status: response.status, headers, body: digest(body), json };
  } catch (error) {
    out[name] = { thrown: errorJson(error) };
  }
}

if (plan.phase === "main") {
// ---------------------------------------------------------------- buckets
await step("createBucket.priv", () =>
  admin.createBucket(priv, { public: false, fileSizeLimit: "5MB", allowedMimeTypes: ["application/*", "text/*", "image/png"] }));
await step("createBucket.pub", () => admin.createBucket(pub, { public: true }));
await step("createBucket.other", () => admin.createBucket(other));
await step("createBucket.again", () => admin.createBucket(priv));
await step("createBucket.byUser", () => user.createBucket(`${priv}-no`));
await step("createBucket.badName", () => admin.createBucket("bad/name"));
await step("getBucket", () => admin.getBucket(priv));
await step("getBucket.byUser", () => user.getBucket(pub));
await step("getBucket.missing", () => admin.getBucket(`${priv}-missing`));
await step("listBuckets", () => admin.listBuckets());
await step("listBuckets.options", () =>
  admin.listBuckets({ limit: 2, offset: 0, search: priv.slice(0, -1), sortColumn: "name", sortOrder: "desc" }));
await step("listBuckets.byAnon", () => anon.listBuckets());
await step("updateBucket", () =>
  admin.updateBucket(priv, { public: false, fileSizeLimit: 4_000_000, allowedMimeTypes: ["application/*", "text/*", "image/png"] }));
await step("getBucket.updated", () => admin.getBucket(priv));
await step("updateBucket.byUser", () => user.updateBucket(priv, { public: true }));

// ---------------------------------------------------------------- uploads
const files = user.from(priv);
await step("upload.buffer", () =>
  files.upload("dir/big.bin", big, { contentType: "application/x-big", cacheControl: "120", metadata: { owner: "js", n: "1" } }));
await step("upload.taken", () => files.upload("dir/big.bin", small));
await step("upload.upsert", () => files.upload("dir/big.bin", big, { upsert: true, contentType: "application/x-big", cacheControl: "120", metadata: { owner: "js", n: "2" } }));
await step("upload.blob", () => files.upload("dir/blob.txt", new Blob([small], { type: "text/plain" }), { cacheControl: "60", metadata: { via: "form" } }));
await step("upload.arrayBuffer", () =>
  files.upload("dir/sub/array.bin", big.buffer.slice(big.byteOffset, big.byteOffset + 1000), { contentType: "application/octet-stream" }));
await step("upload.nodeStream", () =>
  files.upload("stream/node.bin", Readable.from([big.subarray(0, 70_000), big.subarray(70_000)]), { contentType: "application/octet-stream" }));
await step("upload.webStream", () =>
  files.upload("stream/web.bin", new Blob([big]).stream(), { contentType: "application/octet-stream" }));
const form = new FormData();
form.append("metadata", JSON.stringify({ from: "formdata" }));
form.append("file", new Blob([small], { type: "text/markdown" }), "notes.md");
await step("upload.formData", () => files.upload("notes.md", form));
await step("upload.tooLarge", () => files.upload("huge.bin", Buffer.alloc(4_000_001), { contentType: "application/octet-stream" }));
await step("upload.badMime", () => files.upload("x.gif", small, { contentType: "image/gif" }));
await step("upload.byAnon", () => anon.from(priv).upload("anon.txt", small));
await step("upload.noBucket", () => user.from(`${priv}-missing`).upload("a.txt", small));
await step("update", () => files.update("dir/blob.txt", Buffer.from("updated\n"), { contentType: "text/plain" }));
await step("update.missingIsCreated", () => files.update("dir/new.txt", small, { contentType: "text/plain" }));

// ---------------------------------------------------------------- reads
await step("info", () => files.info("dir/big.bin"));
await step("info.missing", () => files.info("dir/none.bin"));
await step("exists", () => files.exists("dir/big.bin"));
await step("exists.missing", () => files.exists("dir/none.bin"));
await step("download", () => files.download("dir/big.bin"));
await step("download.stream", () => files.download("dir/big.bin").asStream());
await step("download.cacheNonce", () => files.download("dir/blob.txt", { cacheNonce: 7 }));
await step("download.missing", () => files.download("dir/none.bin"));
await step("download.byAnonPrivate", () => anon.from(priv).download("dir/big.bin"));

await step("upload.pub", () => admin.from(pub).upload("p/pic.png", big.subarray(0, 5000), { contentType: "image/png" }));
await step("download.byAnonPublic", () => anon.from(pub).download("p/pic.png"));
await step("download.noTokenPublic", () => nobody.from(pub).download("p/pic.png"));
await step("info.byAnonPublic", () => anon.from(pub).info("p/pic.png"));
const publicUrl = nobody.from(pub).getPublicUrl("p/pic.png").data.publicUrl;
const publicDownload = nobody.from(pub).getPublicUrl("p/pic.png", { download: "save as.png" }).data.publicUrl;
const privateUrl = nobody.from(priv).getPublicUrl("dir/big.bin").data.publicUrl;
out["getPublicUrl"] = { data: { publicUrl, publicDownload, privateUrl } };
await fetched("fetch.publicUrl", publicUrl);
await fetched("fetch.publicUrl.download", publicDownload);
await fetched("fetch.publicUrl.private", privateUrl);
const seen = out["fetch.publicUrl"].headers ?? {};
await fetched("fetch.ifModifiedSince", publicUrl, { headers: { "If-Modified-Since": seen["last-modified"] ?? "" } });
await fetched("fetch.ifModifiedSince.old", publicUrl, { headers: { "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT" } });
await fetched("fetch.ifNoneMatch", publicUrl, { headers: { "If-None-Match": seen.etag ?? "" } });
await fetched("fetch.range", publicUrl, { headers: { Range: "bytes=100-199" } });

// ---------------------------------------------------------------- signed URLs
await step("createSignedUrl", () => files.createSignedUrl("dir/big.bin", 60));
await step("createSignedUrl.download", () => files.createSignedUrl("dir/big.bin", 60, { download: "named.bin" }));
await step("createSignedUrl.downloadTrue", () => files.createSignedUrl("dir/big.bin", 60, { download: true }));
await step("createSignedUrl.missing", () => files.createSignedUrl("dir/none.bin", 60));
await step("createSignedUrl.byAnonPrivate", () => anon.from(priv).createSignedUrl("dir/big.bin", 60));
await step("upload.spaced", () => files.upload("dir/my file é.txt", small, { contentType: "text/plain" }));
await step("createSignedUrl.spaced", () => files.createSignedUrl("dir/my file é.txt", 60));
if (out["createSignedUrl.spaced"].data) await fetched("fetch.createSignedUrl.spaced", out["createSignedUrl.spaced"].data.signedUrl);
await step("download.spaced", () => files.download("dir/my file é.txt"));
await step("remove.spaced", () => files.remove(["dir/my file é.txt"]));
await step("createSignedUrls", () => files.createSignedUrls(["dir/big.bin", "dir/none.bin", "dir/blob.txt"], 60, { download: true }));
for (const key of ["createSignedUrl", "createSignedUrl.download", "createSignedUrl.downloadTrue"]) {
  const signed = out[key].data?.signedUrl;
  if (signed) await fetched(`fetch.${key}`, signed);
}
const batch = out["createSignedUrls"].data ?? [];
if (batch[2]?.signedUrl) await fetched("fetch.createSignedUrls", batch[2].signedUrl);

await step("createSignedUploadUrl", () => files.createSignedUploadUrl("signed/up.bin"));
const up = out["createSignedUploadUrl"].data;
if (up) {
  await step("uploadToSignedUrl", () => files.uploadToSignedUrl("signed/up.bin", up.token, big, { contentType: "application/octet-stream" }));
  await step("uploadToSignedUrl.replay", () => files.uploadToSignedUrl("signed/up.bin", up.token, small));
  await step("uploadToSignedUrl.otherPath", () => files.uploadToSignedUrl("signed/other.bin", up.token, small));
}
await step("createSignedUploadUrl.upsert", () => files.createSignedUploadUrl("signed/form.txt", { upsert: true }));
const upForm = out["createSignedUploadUrl.upsert"].data;
if (upForm) {
  await step("uploadToSignedUrl.blob", () => nobody.from(priv).uploadToSignedUrl("signed/form.txt", upForm.token, new Blob([small], { type: "text/plain" })));
  await step("uploadToSignedUrl.upsertAgain", () => nobody.from(priv).uploadToSignedUrl("signed/form.txt", upForm.token, Buffer.from("second\n"), { contentType: "text/plain" }));
}

// ---------------------------------------------------------------- list
await step("list.root", () => files.list());
await step("list.dir", () => files.list("dir"));
await step("list.limitOffset", () => files.list("dir", { limit: 1, offset: 1 }));
await step("list.sortDesc", () => files.list("dir", { sortBy: { column: "name", order: "desc" } }));
await step("list.sortUpdatedDesc", () => files.list("dir", { sortBy: { column: "updated_at", order: "desc" } }));
await step("list.sortCreated", () => files.list("stream", { sortBy: { column: "created_at", order: "asc" } }));
await step("list.search", () => files.list("dir", { search: "blo" }));
await step("list.byAnon", () => anon.from(priv).list());
await step("listV2.first", () => files.listV2({ prefix: "dir/", limit: 2, with_delimiter: true }));
const next = out["listV2.first"].data?.nextCursor;
if (next) await step("listV2.next", () => files.listV2({ prefix: "dir/", limit: 2, with_delimiter: true, cursor: next }));
await step("listV2.flat", () => files.listV2({ prefix: "dir/", sortBy: { column: "name", order: "desc" } }));

// ---------------------------------------------------------------- move, copy, remove
await step("copy", () => files.copy("dir/big.bin", "copies/big.bin"));
await step("copy.taken", () => files.copy("dir/big.bin", "copies/big.bin"));
await step("copy.otherBucket", () => files.copy("dir/big.bin", "from-priv/big.bin", { destinationBucket: other }));
await step("copy.newMetadata", () =>
  files.copy("dir/big.bin", "copies/plain.bin", { copyMetadata: false, metadata: { cacheControl: "max-age=5", mimetype: "application/x-copied" } }));
await step("info.copied", () => files.info("copies/plain.bin"));
await step("move", () => files.move("stream/node.bin", "moved/node.bin"));
await step("move.missing", () => files.move("stream/node.bin", "moved/again.bin"));
await step("move.otherBucket", () => files.move("stream/web.bin", "from-priv/web.bin", { destinationBucket: other }));
await step("move.taken", () => files.move("dir/blob.txt", "dir/big.bin"));
await step("remove", () => files.remove(["copies/big.bin", "dir/none.bin", "dir/new.txt"]));
await step("remove.byAnon", () => anon.from(priv).remove(["dir/big.bin"]));
await step("purgeCache", () => admin.from(priv).purgeCache("dir/big.bin"));
await step("purgeBucketCache", () => admin.purgeBucketCache(priv));
await step("purgeCache.byUser", () => user.from(priv).purgeCache("dir/big.bin"));
// Lifecycle rules are not in supabase/storage's server (nor natsobj's): its 404.
await step("getBucketLifecycle", () => admin.getBucketLifecycle(priv));
await step("updateBucketLifecycle", () => admin.updateBucketLifecycle(priv, { rules: [] }));
await step("deleteBucketLifecycle", () => admin.deleteBucketLifecycle(priv));

}

if (plan.phase === "end") {
// ---------------------------------------------------------------- empty and delete
await step("deleteBucket.notEmpty", () => admin.deleteBucket(other));
await step("emptyBucket.byUser", () => user.emptyBucket(other));
await step("emptyBucket", () => admin.emptyBucket(other));
await step("list.emptied", () => user.from(other).list());
await step("deleteBucket", () => admin.deleteBucket(other));
await step("deleteBucket.missing", () => admin.deleteBucket(other));

}

process.stdout.write(JSON.stringify(out));
