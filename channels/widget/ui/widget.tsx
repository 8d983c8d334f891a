/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The Coachd chat widget. A creator pastes one line:
 * `<script src="https://<node>/widget.js" data-key="<widget key>" async></script>`
 * and the widget renders inside its own shadow root: a launcher bubble with the unread count, a
 * panel with the creator's name, colours and greeting, quick replies, answers streaming in,
 * sources, "talk to a human", history across page loads, keyboard and screen-reader friendly,
 * phone layout, light and dark.
 */
import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { type ClientEvent, type Identity, type Message, WidgetClient } from "./client.ts";
import { styles } from "./styles.ts";

interface Look {
  title: string;
  color: string;
  textColor: string;
  greeting: string;
  quickReplies: string[];
  theme: "auto" | "light" | "dark";
  position: "right" | "left";
  handoff: boolean;
}

interface Pending {
  cid: string;
  text: string;
  failed?: string;
}

const HANDOFF_TEXT = "I'd like to talk to a human, please.";

function App({ look, base, widgetKey, identity, host }: {
  look: Look;
  base: string;
  widgetKey: string;
  identity?: Identity;
  host: HTMLElement;
}) {
  const [open, setOpen] = useState(false);
  const [messages, setMessages] = useState<Message[]>([]);
  const [pending, setPending] = useState<Pending[]>([]);
  const [streams, setStreams] = useState<Record<number, string>>({});
  const [typing, setTyping] = useState(false);
  const [more, setMore] = useState(false);
  const [online, setOnline] = useState(true);
  const [draft, setDraft] = useState("");
  const [lastRead, setLastRead] = useState(() => Number(read(`coachd:${widgetKey}:read`) ?? 0));
  const logRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const launcherRef = useRef<HTMLButtonElement>(null);
  const typingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const client = useMemo(() =>
    new WidgetClient({
      base,
      key: widgetKey,
      identity,
      emit: (e: ClientEvent) => {
        if (e.type === "messages" || e.type === "history") {
          setMessages((cur) => merge(cur, e.messages));
          if (e.type === "history") setMore(e.more);
          const done = e.messages.filter((m) => m.role !== "user").map((m) => m.id);
          if (done.length) {
            setStreams((s) => {
              const next = { ...s };
              for (const id of done) delete next[id];
              return next;
            });
            if (e.type === "messages") setTyping(false);
          }
          const cids = new Set(e.messages.map((m) => m.cid).filter(Boolean));
          setPending((p) => p.filter((x) => !cids.has(x.cid)));
        } else if (e.type === "delta") {
          setTyping(false);
          setStreams((s) => ({ ...s, [e.id]: (s[e.id] ?? "") + e.text }));
        } else if (e.type === "typing") {
          setTyping(e.on);
          clearTimeout(typingTimer.current);
          if (e.on) typingTimer.current = setTimeout(() => setTyping(false), 20_000);
        } else if (e.type === "status" && e.status !== "received") {
          setPending((p) =>
            p.map((x) =>
              x.cid === e.cid
                ? {
                  ...x,
                  failed: e.status === "rate_limited"
                    ? "Too many messages; wait a minute."
                    : "Not sent.",
                }
                : x
            )
          );
        } else if (e.type === "connection") {
          setOnline(e.online);
        }
      },
    }), []);

  // A returning visitor reconnects at once (for the unread count); a new one when they open.
  useEffect(() => {
    if (client.hasSession()) client.start().catch(() => {});
    return () => client.stop();
  }, []);

  useEffect(() => {
    if (look.theme !== "auto") {
      host.classList.toggle("dark", look.theme === "dark");
      return;
    }
    const q = globalThis.matchMedia?.("(prefers-color-scheme: dark)");
    const apply = () => host.classList.toggle("dark", !!q?.matches);
    apply();
    q?.addEventListener("change", apply);
    return () => q?.removeEventListener("change", apply);
  }, []);

  const newest = messages.at(-1)?.id ?? 0;
  useEffect(() => {
    if (!open) return;
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
    if (newest > lastRead) {
      setLastRead(newest);
      write(`coachd:${widgetKey}:read`, String(newest));
      client.read(newest);
    }
  }, [open, messages, streams, typing, pending]);

  useEffect(() => {
    if (open) {
      client.start().catch(() => setOnline(false));
      inputRef.current?.focus();
    }
  }, [open]);

  const unread = open ? 0 : messages.filter((m) => m.role !== "user" && m.id > lastRead).length;

  const send = (text: string, payload?: string) => {
    const t = text.trim();
    if (!t) return;
    const cid = client.send(t, payload);
    setPending((p) => [...p, { cid, text: t }]);
  };
  const close = () => {
    setOpen(false);
    launcherRef.current?.focus();
  };
  const last = messages.at(-1);
  const replies = last && last.role !== "user" && last.quickReplies?.length
    ? last.quickReplies
    : messages.some((m) => m.role === "user") || pending.length
    ? []
    : look.quickReplies.map((r) => ({ label: r, payload: r }));

  return (
    <div onKeyDown={(e) => e.key === "Escape" && open && close()}>
      {open && (
        <section class="panel" role="dialog" aria-label={`Chat with ${look.title}`}>
          <header>
            <h2>{look.title}</h2>
            {look.handoff && (
              <button type="button" onClick={() => send(HANDOFF_TEXT)}>Talk to a human</button>
            )}
            <button type="button" class="x" aria-label="Close chat" onClick={close}>×</button>
          </header>
          <div class="log" ref={logRef} role="log" aria-live="polite" aria-relevant="additions">
            {more && (
              <button
                type="button"
                class="more"
                onClick={() => client.history(messages[0]?.id ?? 1)}
              >
                Earlier messages
              </button>
            )}
            <div class="m assistant">
              <div class="who">{look.title}</div>
              {look.greeting}
            </div>
            {messages.map((m) => <Bubble key={m.id} m={m} title={look.title} />)}
            {Object.entries(streams).map(([id, text]) => (
              <div key={`s${id}`} class="m assistant" aria-busy="true">
                <div class="who">{look.title}</div>
                {text}
              </div>
            ))}
            {pending.map((p) => (
              <div key={p.cid} class={`m user ${p.failed ? "" : "pending"}`}>
                {p.text}
                {p.failed && <div class="src" role="alert">{p.failed}</div>}
              </div>
            ))}
            {typing && (
              <div class="typing" role="status" aria-label={`${look.title} is typing`}>
                <i />
                <i />
                <i />
              </div>
            )}
          </div>
          {replies.length > 0 && (
            <div class="qr" role="group" aria-label="Suggested replies">
              {replies.map((r) => (
                <button
                  type="button"
                  key={r.payload}
                  onClick={() => send(r.label, r.payload)}
                >
                  {r.label}
                </button>
              ))}
            </div>
          )}
          {!online && <div class="off" role="status">Reconnecting…</div>}
          <form
            onSubmit={(e) => {
              e.preventDefault();
              send(draft);
              setDraft("");
            }}
          >
            <label class="sr" for="coachd-input">Message</label>
            <textarea
              id="coachd-input"
              ref={inputRef}
              rows={1}
              value={draft}
              placeholder="Write a message…"
              maxLength={4000}
              onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) {
                  e.preventDefault();
                  send(draft);
                  setDraft("");
                }
              }}
            />
            <button type="submit">Send</button>
          </form>
        </section>
      )}
      <button
        type="button"
        class="launch"
        ref={launcherRef}
        aria-expanded={open}
        aria-label={open
          ? "Close chat"
          : `Chat with ${look.title}${unread ? `, ${unread} unread` : ""}`}
        onClick={() => (open ? close() : setOpen(true))}
      >
        <svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true">
          <path
            fill="currentColor"
            d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"
          />
        </svg>
        {unread > 0 && <span class="badge" aria-hidden="true">{unread}</span>}
      </button>
    </div>
  );
}

function Bubble({ m, title }: { m: Message; title: string }) {
  const who = m.role === "user" ? "You" : m.role === "creator" ? `${title} (in person)` : title;
  return (
    <div class={`m ${m.role}`}>
      <div class={m.role === "user" ? "sr" : "who"}>{who}</div>
      {m.text}
      {m.citations?.length
        ? (
          <div class="src">
            Sources: {m.citations.map((c, i) =>
              c.url
                ? <a key={i} href={c.url} target="_blank" rel="noopener noreferrer">{c.title}</a>
                : <span key={i}>{c.title}</span>
            )}
          </div>
        )
        : null}
    </div>
  );
}

function merge(cur: Message[], add: Message[]): Message[] {
  const byId = new Map(cur.map((m) => [m.id, m]));
  for (const m of add) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function read(k: string): string | null {
  try {
    return globalThis.localStorage.getItem(k);
  } catch {
    return null;
  }
}

function write(k: string, v: string) {
  try {
    globalThis.localStorage.setItem(k, v);
  } catch { /* storage blocked */ }
}

async function boot(script: HTMLScriptElement) {
  const widgetKey = script.dataset.key;
  if (!widgetKey) return;
  const base = new URL(script.src).origin;
  const res = await fetch(`${base}/widget/v1/config?key=${encodeURIComponent(widgetKey)}`);
  if (!res.ok) return; // not allowed on this site, or no such widget: show nothing
  const { look } = await res.json() as { look: Look };
  const d = script.dataset;
  const identity = d.userId && d.userHash
    ? { id: d.userId, hash: d.userHash, ...(d.userName ? { name: d.userName } : {}) }
    : undefined;
  const host = document.createElement("coachd-widget");
  const root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = styles(look);
  root.appendChild(style);
  document.body.appendChild(host);
  render(
    <App look={look} base={base} widgetKey={widgetKey} identity={identity} host={host} />,
    root,
  );
}

const current = document.currentScript as HTMLScriptElement | null;
if (current) boot(current).catch(() => {});
