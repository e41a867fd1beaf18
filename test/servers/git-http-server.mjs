// A read-only git smart-HTTP server: Node http in front of `git http-backend` (CGI), which speaks
// protocol v0 and v2 like github.com. Adapted from /work/shared/emulators/git-http-server.mjs.
//
// Env: GIT_PROJECT_ROOT (holds <owner>/<repo>.git), GIT_HTTP_PORT (on 127.0.0.1),
//      GIT_HTTP_PRIVATE_OWNER + GIT_HTTP_TOKEN: repos of that owner need Basic auth with the token
//      as password (GitHub's convention: user "x-access-token").
// object-info: Debian's git 2.39 always advertises it; later git does only with
// transfer.advertiseObjectInfo=true. This server applies the later rule, so clients meet both kinds.
// Extra route for tests: GET /_stats/<owner>/<repo> → {"requests":n,"bytes":n}, the response body
// bytes this server sent for that repository, so tests can prove how little a client downloaded.
import { execFileSync, spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";

const root = path.resolve(process.env.GIT_PROJECT_ROOT ?? ".");
const port = Number(process.env.GIT_HTTP_PORT);
const privateOwner = process.env.GIT_HTTP_PRIVATE_OWNER;
const token = process.env.GIT_HTTP_TOKEN;
const stats = new Map();

function statsOf(owner, repo) {
  const key = `${owner}/${repo.replace(/\.git$/, "")}`;
  let entry = stats.get(key);
  if (!entry) stats.set(key, (entry = { requests: 0, bytes: 0 }));
  return entry;
}

/** 401 without credentials, 403 with wrong ones, as GitHub answers for private repositories. */
function authorized(req, res) {
  const header = req.headers.authorization ?? "";
  if (!header.startsWith("Basic ")) {
    res.writeHead(401, { "www-authenticate": 'Basic realm="GitHub"' }).end("Authentication required");
    return false;
  }
  const password = Buffer.from(header.slice(6), "base64").toString("utf8").split(":").slice(1).join(":");
  if (password !== token) {
    res.writeHead(403).end("Invalid username or token");
    return false;
  }
  return true;
}

const OBJECT_INFO_PKT = Buffer.from("0010object-info\n");

function advertisesObjectInfo(repoDir) {
  try {
    const value = execFileSync("git", ["--git-dir", repoDir, "config", "--bool", "transfer.advertiseObjectInfo"], {
      env: { PATH: process.env.PATH, HOME: root },
    });
    return value.toString().trim() === "true";
  } catch {
    return false; // unset, or no such repository (http-backend answers that one)
  }
}

/** Drops the object-info line from a v2 capability advertisement. */
function withoutObjectInfo(body) {
  const at = body.indexOf(OBJECT_INFO_PKT);
  return at < 0 ? body : Buffer.concat([body.subarray(0, at), body.subarray(at + OBJECT_INFO_PKT.length)]);
}

function cgi(req, res, url, counter, filterAdvertisement) {
  const env = {
    PATH: process.env.PATH,
    HOME: root,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_ADDR: req.socket.remoteAddress ?? "",
    REMOTE_USER: "",
    SERVER_PROTOCOL: "HTTP/1.1",
    GATEWAY_INTERFACE: "CGI/1.1",
  };
  if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
  if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = req.headers["content-encoding"];
  if (req.headers["git-protocol"]) env.GIT_PROTOCOL = env.HTTP_GIT_PROTOCOL = req.headers["git-protocol"];
  const backend = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "inherit"] });
  req.pipe(backend.stdin);
  backend.stdin.on("error", () => {});
  // A client that hangs up early must not leave http-backend writing into a dead pipe.
  res.on("close", () => backend.kill("SIGTERM"));
  let head = Buffer.alloc(0);
  let headersDone = false;
  // The advertisement is a few hundred bytes: held whole so one line can be taken out.
  let advertisement = filterAdvertisement ? Buffer.alloc(0) : undefined;
  const send = (chunk) => {
    if (advertisement) return void (advertisement = Buffer.concat([advertisement, chunk]));
    counter.bytes += chunk.length;
    if (!res.write(chunk)) {
      backend.stdout.pause();
      res.once("drain", () => backend.stdout.resume());
    }
  };
  backend.stdout.on("data", (chunk) => {
    if (headersDone) return send(chunk);
    head = Buffer.concat([head, chunk]);
    let end = head.indexOf("\r\n\r\n");
    let separator = 4;
    if (end < 0) ((end = head.indexOf("\n\n")), (separator = 2));
    if (end < 0) return;
    let status = 200;
    const headers = {};
    for (const line of head.subarray(0, end).toString().split(/\r?\n/)) {
      const match = /^([^:]+):\s*(.*)$/.exec(line);
      if (!match) continue;
      if (match[1].toLowerCase() === "status") status = parseInt(match[2], 10);
      else headers[match[1]] = match[2];
    }
    if (advertisement) delete headers["Content-Length"];
    res.writeHead(status, headers);
    headersDone = true;
    const rest = head.subarray(end + separator);
    if (rest.length > 0) send(rest);
  });
  backend.on("close", (code) => {
    if (!headersDone) return void res.writeHead(500).end(`git http-backend failed (${code})`);
    if (advertisement) {
      const body = withoutObjectInfo(advertisement);
      counter.bytes += body.length;
      res.write(body);
    }
    res.end();
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  const statsMatch = /^\/_stats\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (req.method === "GET" && statsMatch) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(statsOf(statsMatch[1], statsMatch[2])));
    return;
  }
  const repoMatch = /^\/([^/]+)\/([^/]+)\/(info\/refs|git-upload-pack|git-receive-pack|HEAD|objects\/.*)$/.exec(url.pathname);
  if (!repoMatch) return void res.writeHead(404).end("Not Found");
  if (repoMatch[3] === "git-receive-pack" || url.searchParams.get("service") === "git-receive-pack") {
    return void res.writeHead(403).end("read-only");
  }
  if (privateOwner && decodeURIComponent(repoMatch[1]) === privateOwner && !authorized(req, res)) return;
  const counter = statsOf(decodeURIComponent(repoMatch[1]), decodeURIComponent(repoMatch[2]));
  counter.requests++;
  const v2Advertisement = repoMatch[3] === "info/refs" && /version=2/.test(req.headers["git-protocol"] ?? "");
  const repoDir = path.join(root, decodeURIComponent(repoMatch[1]), decodeURIComponent(repoMatch[2]));
  cgi(req, res, url, counter, v2Advertisement && !advertisesObjectInfo(repoDir));
});

server.listen(port, "127.0.0.1", () => console.log(`git smart-http on http://127.0.0.1:${port}/ (root ${root})`));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1500).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
