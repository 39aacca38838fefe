"""The resilience page's static parts: its inline style, its script and the result dialog.

Apart from ``html.py``, which writes the report's data into the page, because these never
change with the report: no value from a report reaches them, and they load nothing (the
page's Content-Security-Policy forbids every fetch, and nothing here asks for one).
"""

from __future__ import annotations

from typing import Final

__all__ = ["CSS", "DIALOG", "SCRIPT"]

DIALOG: Final = """\
<dialog id="detail" aria-labelledby="detail-title">
<div class="dialog-head"><h2 id="detail-title"></h2>
<button type="button" class="close" id="detail-close" aria-label="Close">&times;</button></div>
<div id="detail-body"></div>
</dialog>
"""

CSS: Final = """
:root{--bg:#f7f7f5;--panel:#fff;--fg:#1d2026;--muted:#5f6670;--line:#dde1e6;--focus:#1a73e8;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;font-size:14px;line-height:1.45}
@media (prefers-color-scheme:dark){:root{--bg:#17191c;--panel:#202327;--fg:#e6e8eb;--muted:#9aa2ab;--line:#343a40}}
body{margin:0;background:var(--bg);color:var(--fg)}
main{max-width:1500px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:24px;margin:0 0 2px}
h2{font-size:17px;margin:30px 0 10px}
h3.test-h{font-size:14px;margin:22px 0 6px;font-weight:normal}
h4{margin:16px 0 6px;font-size:14px}
code,.test,.test-h{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.sub{color:var(--muted);margin:0 0 14px}
.muted{color:var(--muted)}
.note{background:#fff4d6;color:#5c4300;border-radius:6px;padding:8px 12px}
.status{padding:12px 16px;border-radius:8px;font-weight:600;border-left:6px solid;margin:0 0 14px;font-size:15px}
.status.bad{background:#fdecea;border-color:#c62828;color:#7f1d1d}
.status.warn{background:#fff6dc;border-color:#e0a800;color:#5c4300}
.status.good{background:#e7f4e8;border-color:#2e7d32;color:#1b4d20}
.counts{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:0}
.chip{padding:3px 11px;border-radius:999px;font-size:13px;cursor:default}
.chip b{font-variant-numeric:tabular-nums}
.chip.zero{opacity:.4}
.toolbar{display:flex;gap:18px;align-items:center;margin:0 0 10px;color:var(--muted)}
.toolbar input[type=search]{font:inherit;padding:3px 8px;border:1px solid var(--line);border-radius:5px;
background:var(--panel);color:var(--fg);min-width:240px}
.grid-wrap{overflow:auto;max-height:80vh;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
table.grid{border-collapse:separate;border-spacing:3px;padding:4px}
.grid thead th{position:sticky;top:0;z-index:2;background:var(--panel);font-size:12px;color:var(--muted);
font-weight:600;padding:6px 3px;white-space:nowrap}
.grid th.test{position:sticky;left:0;z-index:1;background:var(--panel);text-align:left;font-weight:normal;
min-width:280px;max-width:520px;padding:0 12px 0 4px;overflow-wrap:anywhere}
.grid th.corner{left:0;z-index:3;text-align:left}
.path{color:var(--muted)}
.name{font-weight:600}
.cell{display:block;min-width:64px;text-align:center;padding:6px 4px;border-radius:5px;font-size:12px;
font-weight:600;text-decoration:none;white-space:nowrap;box-sizing:border-box}
a.cell:hover{filter:brightness(.92)}
.cell:focus-visible,.close:focus-visible{outline:3px solid var(--focus);outline-offset:1px}
.count{text-align:center;color:var(--muted);font-variant-numeric:tabular-nums;min-width:40px}
.count.bad{color:#b71c1c;font-weight:700}
tfoot th,tfoot td{padding-top:6px;font-size:12px}
tr[hidden]{display:none}
.v-ok{background:#d6eed8;color:#1b4d20}
.v-truncated{background:#c62828;color:#fff}
.v-crashed{background:#7f1515;color:#fff}
.v-hung{background:#6a1b9a;color:#fff}
.v-retried{background:#c2410c;color:#fff}
.v-early{background:#a94f00;color:#fff}
.v-storm{background:#ad1457;color:#fff}
.v-corrupted{background:#4527a0;color:#fff}
.v-gave-up{background:#ffdf80;color:#5c4300}
.v-na{background:#eceef1;color:#6b737c}
.v-absent{background:transparent;color:#9aa1a9;border:1px dashed #c3c9cf}
.v-unknown{background:#8a9199;color:#fff}
.badge{display:inline-block;padding:1px 8px;border-radius:4px;font-size:12px;font-weight:600}
dl.legend{display:grid;grid-template-columns:max-content 1fr;gap:6px 14px;margin:0}
dl.legend dd,dl.legend dt{margin:0}
details.result{background:var(--panel);border:1px solid var(--line);border-radius:8px;margin:6px 0;padding:0 14px}
details.result>summary{cursor:pointer;padding:9px 0;list-style-position:outside}
details.result:target{outline:3px solid var(--focus)}
.fault-name{font-weight:600;margin:0 6px}
.summary-reason{color:var(--muted)}
.detail-body dl{display:grid;grid-template-columns:max-content 1fr;gap:5px 16px;margin:10px 0}
.detail-body dt{color:var(--muted);margin:0}
.detail-body dd{margin:0;overflow-wrap:anywhere}
.verdict-line{margin:10px 0}
table.attempts{border-collapse:collapse;width:100%;margin-bottom:14px;font-size:13px}
table.attempts th,table.attempts td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;
vertical-align:top;font-variant-numeric:tabular-nums}
table.attempts th{color:var(--muted);font-weight:600}
.status-ok{color:#1b5e20;font-weight:600}
.status-bad{color:#b71c1c;font-weight:600}
.extra{display:block;color:var(--muted)}
.outcome-passed{color:#1b5e20;font-weight:600}
.outcome-failed,.outcome-error{color:#b71c1c;font-weight:600}
dl.run-details{display:grid;grid-template-columns:max-content 1fr;gap:5px 16px}
dl.run-details dd{margin:0;overflow-wrap:anywhere}
dialog{border:none;border-radius:12px;padding:0 22px 14px;width:min(900px,92vw);max-height:86vh;
background:var(--panel);color:var(--fg);box-shadow:0 18px 50px rgba(0,0,0,.35)}
dialog::backdrop{background:rgba(20,24,30,.45)}
.dialog-head{position:sticky;top:0;background:var(--panel);display:flex;gap:12px;align-items:flex-start;
justify-content:space-between;padding:16px 0 8px;border-bottom:1px solid var(--line)}
.dialog-head h2{margin:0;font-size:15px;overflow-wrap:anywhere;font-weight:600}
.close{font:inherit;font-size:22px;line-height:1;border:none;background:none;color:var(--muted);cursor:pointer;
padding:0 4px}
#detail-body .detail-body+.detail-body{border-top:2px solid var(--line);margin-top:8px}
"""

SCRIPT: Final = """
(() => {
  const dialog = document.getElementById("detail");
  const title = document.getElementById("detail-title");
  const body = document.getElementById("detail-body");
  const grid = document.getElementById("grid");
  let opener = null;
  function open(cell) {
    const parts = [];
    for (const id of cell.dataset.results.split(" ")) {
      const source = document.getElementById(id);
      if (source) parts.push(source.querySelector(".detail-body").cloneNode(true));
    }
    title.textContent = cell.getAttribute("aria-label");
    body.replaceChildren(...parts);
    opener = cell;
    dialog.showModal();
  }
  grid.addEventListener("click", (e) => {
    const cell = e.target.closest("a.cell");
    if (cell) { e.preventDefault(); open(cell); }
  });
  document.getElementById("detail-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });
  dialog.addEventListener("close", () => { if (opener) opener.focus(); });
  const moves = {ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0]};
  grid.addEventListener("keydown", (e) => {
    const cell = e.target.closest(".cell");
    if (!cell) return;
    if (e.key === " " && cell.matches("a")) { e.preventDefault(); open(cell); return; }
    const move = moves[e.key];
    if (!move) return;
    const td = cell.closest("td"), tr = td.parentElement;
    const rows = [...grid.tBodies[0].rows].filter((r) => !r.hidden);
    const row = rows[rows.indexOf(tr) + move[0]];
    const next = row && row.children[[...tr.children].indexOf(td) + move[1]];
    const target = next && next.querySelector(".cell");
    if (target) { e.preventDefault(); target.focus(); }
  });
  const only = document.getElementById("only-problems");
  const filter = document.getElementById("filter");
  const shown = document.getElementById("shown");
  function apply() {
    const needle = filter.value.trim().toLowerCase();
    let count = 0, total = 0;
    for (const tr of grid.tBodies[0].rows) {
      total += 1;
      const hide = (only.checked && tr.dataset.problems === "0") ||
        (needle !== "" && !tr.dataset.test.toLowerCase().includes(needle));
      tr.hidden = hide;
      if (!hide) count += 1;
    }
    shown.textContent = count === total ? "" : `showing ${count} of ${total} tests`;
  }
  only.addEventListener("change", apply);
  filter.addEventListener("input", apply);
})();
"""
