// A load balancer in front of several Countersign replicas, as in a deployment: one public
// address, requests spread round-robin. A test may pin a request to one replica with the
// header `x-replica: <index>`, to show that what one replica did, another one sees.
//
//   BALANCER_PORT=3105 REPLICA_PORTS=3106,3107 node replicas/balancer.mjs
import http from 'node:http';

const port = Number(process.env.BALANCER_PORT ?? 3105);
const replicas = (process.env.REPLICA_PORTS ?? '').split(',').filter(Boolean).map(Number);
if (replicas.length === 0) throw new Error('REPLICA_PORTS names no replica');
let next = 0;

http
  .createServer((request, response) => {
    const pinned = request.headers['x-replica'];
    const replica = pinned === undefined ? replicas[next++ % replicas.length] : replicas[Number(pinned)];
    if (replica === undefined) {
      response.writeHead(400).end(`no replica ${pinned}`);
      return;
    }
    // The Host header is passed on unchanged: the replicas answer for the balancer's address.
    const upstream = http.request(
      { host: '127.0.0.1', port: replica, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502);
      response.end(String(error));
    });
    request.pipe(upstream);
  })
  .listen(port, '127.0.0.1');
