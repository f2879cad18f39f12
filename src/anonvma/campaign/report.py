"""A campaign's summary as one self-contained HTML page: no script, no
file beside it, the style inline, so it can be mailed or attached."""

from __future__ import annotations

from html import escape
from pathlib import Path

from .coverage import KINDS

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
code, pre { font: 12px/1.3 monospace; }
pre { background: #f8f8f8; padding: 6px; overflow-x: auto; }
.fail { color: #a00; } .pass { color: #070; } .pending, .error { color: #a60; }
"""


def _table(head, rows, cls=None) -> str:
    out = [f"<table{f' class={cls!r}' if cls else ''}><tr>"
           + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def html_page(summary: dict) -> str:
    s = summary
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>anonvma campaign"
             f"</title><style>{STYLE}</style></head><body>",
             "<h1>anonvma campaign</h1>",
             f"<p>{s['done']} of {s['explorations']} explorations done"
             + (f" ({s['pending']} pending: run the campaign again to resume)"
                if s['pending'] else "")
             + f", {s['runs']} runs, {s['failed']} failed, {s['errors']} errors; "
             f"{len(s['unique_failures'])} unique failures. Backend: {escape(s['backend'])}.</p>",
             "<h2 id='failures'>Unique failures</h2>"]
    rows = []
    for u in s["unique_failures"]:
        rows.append([escape(u["kind"]), f"<code>{escape(u['signature'])}</code>",
                     escape(u["headline"]), str(len(u["explorations"])),
                     f"<code>{escape(u['replay'])}</code>",
                     f"<details><summary>report</summary><pre>{escape(u['text'])}</pre>"
                     "</details>"])
    parts.append(_table(["kind", "signature", "headline", "explorations", "replay", ""], rows,
                        "failures") if rows else "<p>None.</p>")
    cov = s["coverage"]
    parts.append(f"<h2 id='coverage'>Coverage</h2><p>{cov['profiled_runs']} of {cov['runs']} "
                 "runs profiled (functions, merges, reuse, preemption points); lock pairs and "
                 "failed allocations from every run.</p>")
    parts.append(_table(["what", "distinct"], [[escape(title), str(len(cov[kind]))]
                                               for kind, title in KINDS.items()], "coverage"))
    for kind, title in KINDS.items():
        items = sorted(cov[kind].items(), key=lambda kv: (-kv[1], kv[0]))
        parts.append(f"<details><summary>{escape(title)} ({len(items)})</summary>"
                     + _table(["", "runs"], [[f"<code>{escape(k)}</code>", str(v)]
                                             for k, v in items]) + "</details>")
    parts.append("<h2 id='explorations'>Explorations</h2>")
    parts.append(_table(["id", "variant", "strategy", "seed", "status", "runs", "seconds",
                         "signature"],
                        [[escape(j["id"]), escape(j["variant"] or "(its own)"),
                          escape(j["strategy"]), str(j["seed"]),
                          f"<span class='{j['status']}'>{j['status']}</span>"
                          + (f" {escape(j['error'])}" if j["error"] else ""),
                          str(j["runs"] if j["runs"] is not None else ""),
                          str(j["seconds"] if j["seconds"] is not None else ""),
                          escape(j["signature"] or "")] for j in s["jobs"]], "explorations"))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(summary: dict, path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html_page(summary))
    tmp.replace(path)
