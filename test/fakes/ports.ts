// In-memory ports for the watcher runtime: each records what was asked of it.
import type { AttestationRequest, ChainWriter, Clock, NodeController, NodeStatus } from "../../watcher/src/ports";

/** A clock that moves only when told to (sleep moves it too, at once, and is recorded). */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  /** Called after each sleep (a test stops a loop from here). */
  onSleep?: () => void;
  constructor(private time = 1_000_000) {}
  now() {
    return this.time;
  }
  async sleep(ms: number) {
    this.time += ms;
    this.sleeps.push(ms);
    this.onSleep?.();
  }
  advance(ms: number) {
    this.time += ms;
  }
}

/** A node that reports a fixed status (undefined: it does not answer) and counts the questions. */
export class FakeNode implements NodeController {
  statusCalls = 0;
  calls: string[] = [];
  constructor(public reading?: NodeStatus) {}
  async stop() {
    this.calls.push("stop");
  }
  async start() {
    this.calls.push("start");
  }
  async status() {
    this.statusCalls += 1;
    return this.reading;
  }
  async snapshot(tag: string) {
    this.calls.push(`snapshot ${tag}`);
  }
  async restore(tag: string) {
    this.calls.push(`restore ${tag}`);
  }
}

/** A writer that records every attestation and reports it sent. */
export class FakeWriter implements ChainWriter {
  sent: AttestationRequest[] = [];
  async attest(request: AttestationRequest) {
    this.sent.push(request);
    return { via: "transaction" as const, reference: `0x${this.sent.length.toString(16)}` };
  }
}
