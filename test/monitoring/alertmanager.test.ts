// The example Alertmanager configuration: `amtool check-config` accepts it (amtool comes from Debian's
// prometheus-alertmanager package, installed by scripts/setup/ensure-system-tools.sh), and `amtool config routes
// test` sends every alert of the rules file, with its own labels, to the receiver its severity calls for.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/e2e";

const CONFIG = join(ROOT, "monitoring", "alertmanager", "alertmanager.yml");
const RULES = join(ROOT, "monitoring", "prometheus", "lockstep-alerts.yml");
const RECEIVER: Record<string, string> = { critical: "lockstep-page", warning: "lockstep-chat", info: "lockstep-chat" };

function amtool(args: string[]) {
  const r = spawnSync("amtool", args, { encoding: "utf8" });
  if (r.error) throw new Error(`amtool is missing: apt-get install prometheus-alertmanager (${r.error.message})`);
  return r;
}

/** Each alert of the rules file with its severity label, read as the file writes them. */
function alerts(): { alert: string; severity: string }[] {
  const out: { alert: string; severity: string }[] = [];
  for (const line of readFileSync(RULES, "utf8").split("\n")) {
    const alert = /^\s+- alert: (\S+)$/.exec(line);
    if (alert) out.push({ alert: alert[1], severity: "" });
    const severity = /^\s+severity: (\S+)$/.exec(line);
    if (severity && out.length) out[out.length - 1].severity = severity[1];
  }
  return out;
}

describe("Alertmanager example configuration", function () {
  it("passes amtool check-config", function () {
    const r = amtool(["check-config", CONFIG]);
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include("SUCCESS");
  });

  it("routes every rule's alert by its severity: critical pages, warning and info go to the channel", function () {
    const rules = alerts();
    expect(rules.length).to.be.greaterThan(5);
    for (const { alert, severity } of rules) {
      expect(RECEIVER, `${alert} has severity "${severity}", which no route expects`).to.have.property(severity);
      const r = amtool([
        "config",
        "routes",
        "test",
        `--config.file=${CONFIG}`,
        `alertname=${alert}`,
        `severity=${severity}`,
      ]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout.trim(), alert).to.equal(RECEIVER[severity]);
    }
    expect(new Set(rules.map((r) => r.severity))).to.deep.equal(new Set(Object.keys(RECEIVER)));
  });

  it("holds back a lagging watcher's alert while the same watcher is reported stalled", function () {
    const config = readFileSync(CONFIG, "utf8");
    expect(config).to.match(/source_matchers: \['alertname="LockstepWatcherStalled"'\]/);
    expect(config).to.match(/target_matchers: \['alertname="LockstepWatcherLagging"'\]\n\s+equal: \[instance\]/);
    const names = alerts().map((a) => a.alert);
    expect(names).to.include.members(["LockstepWatcherStalled", "LockstepWatcherLagging"]);
  });
});
