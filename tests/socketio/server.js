'use strict';
// The real Socket.IO 4.x server (npm socket.io, pinned in package.json) that
// examples/socketio_client.c is tested against (tests/socketio/run.py).
//
//   node server.js PING_INTERVAL_MS PING_TIMEOUT_MS
//
// Listens on 127.0.0.1, a free port, and prints "listening on 127.0.0.1:PORT"; then one
// line per thing the test checks on the server's side ("connect SID NSP",
// "answer SID ARGS-JSON", "disconnect SID NSP REASON MS" with MS since the client's last
// "mute" event, or -1). Ends on SIGTERM, or by itself after a minute.
const http = require('http');
const { Server } = require('socket.io');

const [pingInterval, pingTimeout] = process.argv.slice(2).map(Number);
const httpServer = http.createServer();
const io = new Server(httpServer, { pingInterval, pingTimeout, transports: ['websocket'] });

function say(...words) {
  process.stdout.write(words.join(' ') + '\n');
}

// The same handlers on every namespace the test uses.
function serve(nsp) {
  nsp.on('connection', (socket) => {
    let mutedAt = -1;
    say('connect', socket.id, nsp.name);
    // Rooms: join one, then every "chat" goes to the others in it (not back to the sender).
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack('joined', room);
    });
    socket.on('chat', (room, ...args) => socket.to(room).emit('chat', ...args));
    // An ack round trip started by the client: the arguments come back in the ack.
    socket.on('echo', (...args) => {
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args);
    });
    // An ack round trip started by the server: it asks, the client's ack is the answer.
    socket.on('ask', (question) => {
      socket.timeout(10000).emit('question', question, { from: 'server' }, (err, ...answer) => {
        if (err) {
          say('answer', socket.id, 'timeout');
          return;
        }
        say('answer', socket.id, JSON.stringify(answer));
        socket.emit('answered', ...answer);
      });
    });
    // Binary: a Buffer comes back as a binary attachment.
    socket.on('blob', (n) => socket.emit('blob', 'bytes', Buffer.alloc(n, 0x61), { n }));
    // The server ends the connection: the client must report it.
    socket.on('kick-me', () => setTimeout(() => socket.disconnect(true), 10));
    // The client says it stops answering pings; the server must drop it on time.
    socket.on('muted', () => { mutedAt = Date.now(); });
    socket.on('disconnect', (reason) => {
      say('disconnect', socket.id, nsp.name, reason.replace(/ /g, '_'),
        mutedAt < 0 ? -1 : Date.now() - mutedAt);
    });
  });
}

serve(io.of('/'));
serve(io.of('/chat'));
// A namespace that wants a token in the connect's auth payload.
const priv = io.of('/private');
priv.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === 'sesame ✓') next();
  else next(new Error('not authorized'));
});
serve(priv);

httpServer.listen(0, '127.0.0.1', () => say('listening on 127.0.0.1:' + httpServer.address().port));
process.on('SIGTERM', () => { io.close(); process.exit(0); });
setTimeout(() => { say('server: overall timeout'); process.exit(3); }, 60000).unref();
