// The suite's reporter: mocha's spec output, then the wall-clock seconds each test file took (its hooks included),
// slowest first, so a file that grows slow shows in every run's log.
import Mocha from "mocha";
import { relative } from "node:path";
import { pace } from "../../rehearsal/pace";

const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_RUN_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

class FileDurations extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const began = new Map<Mocha.Suite, number>();
    const took = new Map<string, number>();
    const failed = new Map<string, number>();
    const name = (file = "") => relative(process.cwd(), file);
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.file && suite.parent?.root) began.set(suite, Date.now());
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const start = began.get(suite);
      if (start !== undefined) took.set(name(suite.file), (took.get(name(suite.file)) ?? 0) + Date.now() - start);
    });
    runner.on(EVENT_TEST_FAIL, (test) => failed.set(name(test.file), (failed.get(name(test.file)) ?? 0) + 1));
    runner.once(EVENT_RUN_END, () => {
      const rows = [...took].sort((a, b) => b[1] - a[1]);
      const seconds = (ms: number) => (ms / 1000).toFixed(1).padStart(8);
      const lines = rows.map(([file, ms]) => {
        const failing = failed.get(file) ? `  (${failed.get(file)} failing)` : "";
        return `  ${seconds(ms)}  ${file}${failing}`;
      });
      const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
      console.log(
        `\n  seconds per test file (hooks included; measured pace ×${pace().toFixed(1)}, rehearsal/pace.ts):\n` +
          `${lines.join("\n")}\n  ${seconds(total)}  in all\n`,
      );
    });
  }
}

export = FileDurations;
