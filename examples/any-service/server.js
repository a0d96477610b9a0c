// A small HTTP service NOT written for the lab: its own port (5000) and health path (/healthz),
// no graceful shutdown (SIGTERM ends it at once, with whatever is in flight), and its version only
// in its image tag (IMAGE_TAG, set by the Dockerfile's build argument). The balancer discovers its
// replicas by DNS and the deployer drains each one in the balancer before stopping it.
const http = require('node:http');
const os = require('node:os');

const port = Number(process.env.PORT || 5000);
const version = process.env.IMAGE_TAG || 'unknown';
const instance = os.hostname();

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok');
  }
  // Drain the body (POSTs), then answer with the version and the instance.
  req.resume();
  req.on('end', () => {
    const body = JSON.stringify({ version, instance, method: req.method, path: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
// Longer than the balancer's idle upstream sockets (4 s), so the balancer always closes first.
server.keepAliveTimeout = 15_000;
server.listen(port, () => console.log(`example web ${version} on :${port}`));
// No graceful shutdown: SIGTERM ends the process at once, requests in flight and all (the handler
// is only there because Node as PID 1, without `init: true`, would ignore SIGTERM altogether).
process.on('SIGTERM', () => process.exit(0));
