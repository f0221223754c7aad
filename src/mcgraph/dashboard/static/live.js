// A small graphql-transport-ws client: connection_init (with the token), connection_ack,
// subscribe / next / error / complete, ping / pong. When the socket drops it reconnects
// with a growing, jittered delay and subscribes again; each subscription's variables are
// asked for afresh then, so `events(after:)` resumes from the last cursor the page saw.

const PROTOCOL = "graphql-transport-ws";
const FORBIDDEN = 4403; // the server refused the token: reconnecting would not help
const SILENCE_MS = 45_000; // the server pings every 15 s; this long without a word, the socket is dead
const MAX_DELAY_MS = 30_000;

export class LiveConnection {
  /**
   * @param {string} token the API token, sent in connection_init
   * @param {{onState: (state: string) => void, onRefused: (why: string) => void}} hooks
   */
  constructor(token, { onState, onRefused }) {
    this.token = token;
    this.onState = onState;
    this.onRefused = onRefused;
    this.subscriptions = new Map(); // id -> {document, variables: () => object, next, end}
    this.nextId = 1;
    this.attempt = 0;
    this.socket = null;
    this.ready = false;
    this.stopped = false;
    this.watchdog = null;
    this.retry = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.watchdog);
    this.socket?.close(1000, "signed out");
    this.socket = null;
  }

  /**
   * Subscribes now (or once connected), and again after every reconnection; returns the id.
   * `next(payload)` gets each result; `end(errors)` is called once the server ends it.
   */
  subscribe(document, variables, { next, end }) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { document, variables, next, end });
    if (this.ready) this.sendSubscribe(id);
    return id;
  }

  unsubscribe(id) {
    if (this.subscriptions.delete(id) && this.ready) this.send({ id, type: "complete" });
  }

  connect() {
    const url = new URL("/graphql", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url, PROTOCOL);
    this.socket = socket;
    this.ready = false;
    this.onState(this.attempt ? "reconnecting" : "connecting");
    socket.addEventListener("open", () => {
      this.send({ type: "connection_init", payload: { authorization: `Bearer ${this.token}` } });
    });
    socket.addEventListener("message", (message) => this.receive(JSON.parse(message.data)));
    socket.addEventListener("close", (closed) => this.closed(socket, closed));
    this.heard();
  }

  receive(message) {
    this.heard();
    switch (message.type) {
      case "connection_ack":
        this.ready = true;
        this.attempt = 0;
        this.onState("live");
        for (const id of this.subscriptions.keys()) this.sendSubscribe(id);
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next":
        this.subscriptions.get(message.id)?.next(message.payload);
        break;
      case "error":
      case "complete": {
        // ended by the server (an error, SLOW_SUBSCRIBER); one we completed ourselves is gone already
        const ended = this.subscriptions.get(message.id);
        this.subscriptions.delete(message.id);
        ended?.end(message.payload || []);
        break;
      }
      default:
        break;
    }
  }

  closed(socket, { code, reason }) {
    if (socket !== this.socket || this.stopped) return;
    clearTimeout(this.watchdog);
    this.ready = false;
    if (code === FORBIDDEN) {
      this.onState("offline");
      this.onRefused(reason || "The token was refused.");
      return;
    }
    this.attempt += 1;
    this.onState("reconnecting");
    const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** (this.attempt - 1));
    this.retry = setTimeout(() => this.connect(), delay / 2 + Math.random() * delay / 2);
  }

  heard() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.socket?.close(4408, "no ping from the server"), SILENCE_MS);
  }

  sendSubscribe(id) {
    const { document, variables } = this.subscriptions.get(id);
    this.send({ id, type: "subscribe", payload: { query: document, variables: variables() } });
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }
}
