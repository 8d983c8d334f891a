/** The widget's styles, inside its shadow root: nothing leaks in from the page or out to it. */
export const styles = (o: { color: string; textColor: string; position: "right" | "left" }) => `
:host{all:initial;--c:${o.color};--ct:${o.textColor};--bg:#fff;--fg:#1c1e21;--mut:#65676b;--bub:#f0f2f5;--bd:#dadde1;
font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg)}
:host(.dark){--bg:#18191a;--fg:#e4e6eb;--mut:#b0b3b8;--bub:#3a3b3c;--bd:#3e4042}
*{box-sizing:border-box}
.launch{position:fixed;bottom:20px;${o.position}:20px;width:56px;height:56px;border-radius:50%;border:0;
background:var(--c);color:var(--ct);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000;display:grid;place-items:center}
.launch:focus-visible,button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#e03131;color:#fff;font-size:12px;
font-weight:700;display:grid;place-items:center;padding:0 5px}
.panel{position:fixed;bottom:88px;${o.position}:20px;width:370px;height:min(600px,calc(100vh - 110px));background:var(--bg);color:var(--fg);
border:1px solid var(--bd);border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;z-index:2147483000}
header{background:var(--c);color:var(--ct);padding:12px 14px;display:flex;align-items:center;gap:8px}
header h2{font-size:16px;margin:0;flex:1;font-weight:600}
header button{background:transparent;border:1px solid currentColor;color:inherit;border-radius:8px;padding:4px 8px;cursor:pointer;font:inherit;font-size:13px}
header .x{border:0;font-size:20px;line-height:1;padding:2px 6px}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}
.m{max-width:85%;padding:8px 11px;border-radius:14px;background:var(--bub);white-space:pre-wrap;word-wrap:break-word}
.m.user{align-self:flex-end;background:var(--c);color:var(--ct)}
.m.creator{border:2px solid var(--c)}
.who{font-size:11px;color:var(--mut);margin-bottom:2px}
.m.pending{opacity:.6}
.src{margin-top:6px;font-size:12px;color:var(--mut)}
.src a,.src span{color:inherit;margin-right:6px}
.qr{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px}
.qr button{border:1px solid var(--c);background:transparent;color:var(--fg);border-radius:16px;padding:5px 11px;cursor:pointer;font:inherit;font-size:13px}
.typing{align-self:flex-start;padding:10px 12px;background:var(--bub);border-radius:14px;display:flex;gap:4px}
.typing i{width:7px;height:7px;border-radius:50%;background:var(--mut);animation:b 1.2s infinite}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes b{0%,80%,100%{opacity:.3}40%{opacity:1}}
@media (prefers-reduced-motion:reduce){.typing i{animation:none}}
.more{align-self:center;background:transparent;border:0;color:var(--mut);cursor:pointer;font:inherit;font-size:13px;text-decoration:underline}
form{display:flex;gap:8px;border-top:1px solid var(--bd);padding:10px}
textarea{flex:1;resize:none;border:1px solid var(--bd);border-radius:10px;padding:8px 10px;font:inherit;background:var(--bg);color:var(--fg);max-height:120px}
form button{background:var(--c);color:var(--ct);border:0;border-radius:10px;padding:0 14px;cursor:pointer;font:inherit;font-weight:600}
.off{font-size:12px;text-align:center;color:var(--mut);padding:4px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
@media (max-width:480px){.panel{inset:0;width:100%;height:100%;border-radius:0;border:0}}
`;
