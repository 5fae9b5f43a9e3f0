// Health over time: for each activated stage, the healthy, unhealthy, missing and ready stake after every
// attestation, with the pauses, resumes and rollbacks marked, drawn with uPlot. The series are replayed from the
// same decoded events the tallies come from, so the chart's last point is the tally shown above it.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { Status } from "../../../lib/coordinator";
import type { StageHistory, UpgradeHistory } from "../../../lib/history";
import type { Snapshot } from "../chain";
import { tokens } from "../format";

export interface StageSeries {
  /** Seconds. */
  time: number[];
  healthy: number[];
  unhealthy: number[];
  missing: number[];
  ready: number[];
  marks: { time: number; label: string }[];
}

const WEI = 10n ** 18n;
/** Whole tokens as a plotted number (a chart needs no wei). */
const plot = (x: bigint) => Number(x / WEI) + Number(x % WEI) / 1e18;

/** Replays stage `s` of `u` from the events: the tallies after each attestation, and its stops and resumes. */
export function stageSeries(u: UpgradeHistory, s: StageHistory, snap: Snapshot): StageSeries {
  const out: StageSeries = { time: [], healthy: [], unhealthy: [], missing: [], ready: [], marks: [] };
  const last = new Map<string, { status: Status; weight: bigint }>();
  let ready = 0n;
  const push = (t: bigint) => {
    let healthy = 0n;
    let unhealthy = 0n;
    for (const v of last.values()) {
      if (v.status === Status.Healthy) healthy += v.weight;
      else if (v.status > Status.Healthy) unhealthy += v.weight;
    }
    const missing = s.cohortStake > healthy + unhealthy ? s.cohortStake - healthy - unhealthy : 0n;
    const time = Number(t);
    // Several attestations in one block: the last one's tallies stand for the block.
    if (out.time.length && out.time[out.time.length - 1] === time) {
      for (const k of ["time", "healthy", "unhealthy", "missing", "ready"] as const) out[k].pop();
    }
    out.time.push(time);
    out.healthy.push(plot(healthy));
    out.unhealthy.push(plot(unhealthy));
    out.missing.push(plot(missing));
    out.ready.push(plot(ready));
  };
  const stop = u.endedAt > 0n ? u.endedAt : undefined;
  for (const e of snap.events) {
    const args = e.args as { upgradeId?: bigint; stage?: number | bigint };
    if (args.upgradeId !== u.id) continue;
    const t = snap.times.get(e.blockNumber);
    if (t === undefined) continue;
    if (e.eventName === "Attested" && Number(e.args.stage) === s.index) {
      const key = e.args.operator.toLowerCase();
      const status = Number(e.args.status) as Status;
      if (status === Status.Ready) {
        if (!last.has(key)) ready += e.args.weight;
        continue;
      }
      if (stop !== undefined && t > stop) continue;
      last.set(key, { status, weight: e.args.weight });
      push(t);
    } else if (e.eventName === "StageActivated" && Number(e.args.stage) === s.index) {
      push(t);
      out.marks.push({ time: Number(t), label: "active" });
    } else if (e.eventName === "UpgradePaused") out.marks.push({ time: Number(t), label: "paused" });
    else if (e.eventName === "UpgradeResumed") out.marks.push({ time: Number(t), label: "resumed" });
    else if (e.eventName === "RollbackOrdered") out.marks.push({ time: Number(t), label: "rollback" });
    else if (e.eventName === "StageVerified" && Number(e.args.stage) === s.index)
      out.marks.push({ time: Number(t), label: "verified" });
  }
  // Carried to the last block shown (or the stop): a flat line says nothing changed since.
  if (out.time.length) push(stop ?? snap.head.timestamp);
  return out;
}

const COLOURS = { healthy: "#15803d", unhealthy: "#b91c1c", missing: "#6b7280", ready: "#1d4ed8" };

/** Vertical lines at the marks, labelled. */
function marksPlugin(marks: StageSeries["marks"]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        for (const m of marks) {
          const x = Math.round(u.valToPos(m.time, "x", true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = m.label === "resumed" || m.label === "verified" ? "#1d4ed8" : "#b91c1c";
          ctx.setLineDash([4, 3]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillStyle = ctx.strokeStyle;
          ctx.fillText(m.label, x + 3, u.bbox.top + 12 * devicePixelRatio);
        }
        ctx.restore();
      },
    },
  };
}

/** What the chart shows, in words (for screen readers, and under the chart). */
function chartText(series: StageSeries): string {
  const i = series.time.length - 1;
  const marks = series.marks.map((m) => `${m.label} ${new Date(m.time * 1000).toISOString().slice(11, 19)}`);
  return (
    `Stake over time: now healthy ${series.healthy[i]}, unhealthy ${series.unhealthy[i]}, missing ${series.missing[i]}, ready ${series.ready[i]} tokens` +
    (marks.length ? `; marked: ${marks.join(", ")}` : "")
  );
}

/** Draws a chart in every empty chart slot of `root` (the views put one under each activated stage's tally). */
export function drawCharts(root: HTMLElement, snap: Snapshot) {
  for (const el of root.querySelectorAll<HTMLElement>(".chart[data-chart]")) {
    if (el.dataset.drawn) continue;
    el.dataset.drawn = "1";
    const [id, index] = el.dataset.chart!.split("-");
    const u = snap.history.upgrades.find((x) => x.id.toString() === id);
    const s = u?.stages[Number(index)];
    if (!u || !s?.activated) {
      el.hidden = true;
      continue;
    }
    const series = stageSeries(u, s, snap);
    if (series.time.length < 2) {
      el.hidden = true;
      continue;
    }
    const legend = (Object.keys(COLOURS) as (keyof typeof COLOURS)[])
      .map((k) => `<span class="key"><i style="background:${COLOURS[k]}"></i>${k}</span>`)
      .join(" ");
    el.innerHTML = `<div class="plot" role="img" aria-label="${chartText(series)}"></div><div class="legend">${legend} <span class="muted">(tokens; dashed: pauses, resumes, rollbacks)</span></div>`;
    el.dataset.points = String(series.time.length);
    el.dataset.marks = series.marks.map((m) => m.label).join(",");
    const width = Math.max(260, Math.min(900, el.clientWidth || root.clientWidth - 40));
    new uPlot(
      {
        width,
        height: 160,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true } },
        axes: [{}, { values: (_u, vals) => vals.map((v) => tokens(BigInt(Math.round(v)) * WEI)) }],
        series: [
          {},
          { label: "healthy", stroke: COLOURS.healthy, width: 2 },
          { label: "unhealthy", stroke: COLOURS.unhealthy, width: 2 },
          { label: "missing", stroke: COLOURS.missing, width: 1, dash: [5, 4] },
          { label: "ready", stroke: COLOURS.ready, width: 1 },
        ],
        plugins: [marksPlugin(series.marks)],
      },
      [series.time, series.healthy, series.unhealthy, series.missing, series.ready],
      el.querySelector<HTMLElement>(".plot")!,
    );
  }
}
