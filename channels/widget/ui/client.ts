/**
 * The widget's connection to its node: the session (kept in localStorage), the socket with its
 * resume from the last message id seen, and messages typed while offline, sent again on
 * reconnect under the same client id (the node takes each in once).
 */

export interface Message {
  id: number;
  role: "user" | "assistant" | "creator" | "system";
  text: string;
  at: number;
  quickReplies?: { label: string; payload: string }[];
  citations?: { title: string; url?: string }[];
  cid?: string;
}

export type ClientEvent =
  | { type: "messages"; messages: Message[]; live: boolean }
  | { type: "history"; messages: Message[]; more: boolean }
  | { type: "delta"; id: number; text: string }
  | { type: "typing"; on: boolean }
  | { type: "status"; cid: string; status: string }
  | { type: "connection"; online: boolean };

export interface Identity {
  id: string;
  hash: string;
  name?: string;
}

export class WidgetClient {
  #ws?: WebSocket;
  #last = 0;
  #pending = new Map<string, { text: string; payload?: string }>();
  #retry = 0;
  #stopped = false;
  #timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly o: {
      base: string;
      key: string;
      identity?: Identity;
      emit: (e: ClientEvent) => void;
    },
  ) {}

  get #store() {
    try {
      return globalThis.localStorage;
    } catch {
      return undefined; // storage blocked (third-party contexts): the session lasts the page
    }
  }

  #tokenKey = () => `coachd:${this.o.key}:token`;

  hasSession(): boolean {
    return !!this.#store?.getItem(this.#tokenKey()) || !!this.o.identity;
  }

  async #session(): Promise<string> {
    const res = await fetch(
      `${this.o.base}/widget/v1/sessions?key=${encodeURIComponent(this.o.key)}`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          ...(this.#store?.getItem(this.#tokenKey())
            ? { token: this.#store.getItem(this.#tokenKey()) }
            : {}),
          ...(this.o.identity ? { user: this.o.identity } : {}),
        }),
      },
    );
    if (!res.ok) throw new Error(`session refused: ${res.status}`);
    const { token } = await res.json();
    this.#store?.setItem(this.#tokenKey(), token);
    return token;
  }

  async start(): Promise<void> {
    if (this.#ws || this.#stopped) return;
    const token = await this.#session();
    this.#open(token);
  }

  #open(token: string) {
    const url = `${this.o.base.replace(/^http/, "ws")}/widget/v1/socket?key=${
      encodeURIComponent(this.o.key)
    }`;
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.onopen = () => {
      ws.send(
        JSON.stringify({
          type: "hello",
          v: 1,
          token,
          ...(this.#last ? { after: this.#last } : {}),
        }),
      );
    };
    ws.onmessage = (e) => this.#frame(JSON.parse(e.data));
    ws.onclose = (e) => {
      this.#ws = undefined;
      this.o.emit({ type: "connection", online: false });
      if (this.#stopped || e.code === 4403) return;
      if (e.code === 4401) this.#store?.removeItem(this.#tokenKey());
      const wait = Math.min(10_000, 500 * 2 ** this.#retry++);
      this.#timer = setTimeout(() => {
        this.start().catch(() => this.#ws || this.#reschedule());
      }, wait);
    };
  }

  #reschedule() {
    const wait = Math.min(10_000, 500 * 2 ** this.#retry++);
    this.#timer = setTimeout(() => this.start().catch(() => this.#reschedule()), wait);
  }

  // deno-lint-ignore no-explicit-any -- frames from the node
  #frame(f: any) {
    switch (f.type) {
      case "ready":
        this.#retry = 0;
        this.o.emit({ type: "connection", online: true });
        for (const [cid, m] of this.#pending) this.#sendMessage(cid, m.text, m.payload);
        break;
      case "history":
        if (f.before === undefined && f.messages.length) this.#last = f.messages.at(-1).id;
        this.o.emit({ type: "history", messages: f.messages, more: f.more });
        break;
      case "message":
        this.#last = Math.max(this.#last, f.message.id);
        if (f.message.cid) this.#pending.delete(f.message.cid);
        this.o.emit({ type: "messages", messages: [f.message], live: f.live });
        break;
      case "delta":
        this.o.emit({ type: "delta", id: f.id, text: f.text });
        break;
      case "typing":
        this.o.emit({ type: "typing", on: f.on });
        break;
      case "status":
        if (f.status !== "received") this.#pending.delete(f.cid);
        this.o.emit({ type: "status", cid: f.cid, status: f.status });
        break;
    }
  }

  /** Sends (now, or once connected) a message; returns its client id. */
  send(text: string, payload?: string): string {
    const cid = randomId();
    this.#pending.set(cid, { text, payload });
    this.#sendMessage(cid, text, payload);
    if (!this.#ws) this.start().catch(() => this.#reschedule());
    return cid;
  }

  #sendMessage(cid: string, text: string, payload?: string) {
    if (this.#ws?.readyState === WebSocket.OPEN) {
      this.#ws.send(
        JSON.stringify({ type: "message", cid, text, ...(payload ? { payload } : {}) }),
      );
    }
  }

  history(before: number) {
    this.#ws?.send(JSON.stringify({ type: "history", before }));
  }

  read(upTo: number) {
    if (this.#ws?.readyState === WebSocket.OPEN) {
      this.#ws.send(JSON.stringify({ type: "read", upTo }));
    }
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#ws?.close();
  }
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
