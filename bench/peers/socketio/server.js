// Benchmark peer: what the Node.js systems Countertop replaces do for an order.
// POST /api/orders persists the JSON body in SQLite (better-sqlite3, WAL), then
// broadcasts `order:created` to the Socket.IO room `orders`. A client joins the
// room by emitting `subscribe` with {topics: ["orders"]} and is answered with
// `subscribed`. Usage: node server.js PORT DBFILE
'use strict';
const http = require('http');
const crypto = require('crypto');
const Database = require('better-sqlite3');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 3101);
const db = new Database(process.argv[3] || 'orders.db');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL)`);
const insert = db.prepare('INSERT INTO orders (id, body, status, created_at) VALUES (?, ?, ?, ?)');

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  if (req.method === 'POST' && req.url === '/api/orders') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"validation","message":"bad json"}}');
        return;
      }
      const order = {
        orderId: `ORD-${Date.now()}-${crypto.randomBytes(3).toString('hex')}`,
        items: body.items || [],
        payType: body.payType || 'CARD',
        totalAmount: body.totalAmount || 0,
        status: 'PENDING',
        createdAt: new Date().toISOString(),
      };
      insert.run(order.orderId, JSON.stringify(order), order.status, order.createdAt);
      io.to('orders').emit('order:created', order);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(order));
    });
    return;
  }
  if (req.url.startsWith('/socket.io/')) return; // handled by Socket.IO
  res.writeHead(404);
  res.end();
});

const io = new Server(server, { transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  socket.on('subscribe', (msg) => {
    const topics = (msg && msg.topics) || [];
    for (const t of topics) socket.join(t);
    socket.emit('subscribed', { topics });
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
